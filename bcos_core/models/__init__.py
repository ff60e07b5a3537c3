"""B-cos model zoo: architectures registered by name."""

from . import _cifar, _conventional, _densenet, _resnet  # noqa: F401  (registers the builders)
from ._base import BcosClassifier
from ._registry import ModelSpec, build_model, get_spec, list_models, register_model

__all__ = ["BcosClassifier", "ModelSpec", "build_model", "get_spec", "list_models", "register_model"]
