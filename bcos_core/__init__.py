"""B-cos Explorer's engine: B-cos layers, explanation mode, exact explanations, rendering and the model zoo.

>>> import bcos_core
>>> loaded = bcos_core.load_model()                          # the shipped default CIFAR-10 model
>>> x = loaded.preprocess(pil_image)                         # (1, 6, 32, 32) encoded input
>>> expl = bcos_core.explain(loaded.model, x)                # predicted class
>>> expl.contributions.sum() + expl.bias                     # == expl.logit
"""

__version__ = "0.1.0"

from .checkpoints import CheckpointError, ModelMetadata, save_model
from .explain import (
    Explanation,
    NeuronExplanation,
    class_logits,
    explain,
    explain_classes,
    explain_delta,
    explain_neuron,
    explain_neurons,
    layer_activations,
)
from .layers import explanation_mode
from .models import build_model, list_architectures
from .registry import list_models
from .render import diverging_rgb, explanation_to_rgba, symmetric_limit
from .zoo import DEFAULT_MODEL, LoadedModel, load_model

__all__ = [
    "DEFAULT_MODEL",
    "CheckpointError",
    "Explanation",
    "LoadedModel",
    "ModelMetadata",
    "NeuronExplanation",
    "build_model",
    "class_logits",
    "diverging_rgb",
    "explain",
    "explain_classes",
    "explain_delta",
    "explain_neuron",
    "explain_neurons",
    "explanation_mode",
    "explanation_to_rgba",
    "layer_activations",
    "list_architectures",
    "list_models",
    "load_model",
    "save_model",
    "symmetric_limit",
]
