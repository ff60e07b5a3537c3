"""B-cos building blocks: layers, bias-free norms, input encoding, logit layer and explanation mode."""

from ._conv import BcosConv2d
from ._heads import AddInverse, LogitLayer
from ._linear import BcosLinear
from ._mode import DynamicModule, explanation_mode, forward_to, is_in_explanation_mode, running_statistics
from ._norms import BatchNormUncentered2d, DetachableLayerNorm, DetachablePositionNorm2d
from ._vocabulary import explorable_layers

__all__ = [
    "AddInverse",
    "BatchNormUncentered2d",
    "BcosConv2d",
    "BcosLinear",
    "DetachableLayerNorm",
    "DetachablePositionNorm2d",
    "DynamicModule",
    "LogitLayer",
    "explanation_mode",
    "explorable_layers",
    "forward_to",
    "is_in_explanation_mode",
    "running_statistics",
]
