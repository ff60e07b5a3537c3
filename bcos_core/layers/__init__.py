"""B-cos building blocks: layers, bias-free norms, input encoding, logit layer and explanation mode."""

from ._conv import BcosConv2d
from ._heads import AddInverse, LogitLayer
from ._linear import BcosLinear
from ._mode import (
    DynamicModule,
    OutputEmitter,
    channel_maps,
    constant_term,
    explanation_mode,
    fold_mirror_pass,
    forward_through,
    forward_to,
    is_in_explanation_mode,
    passes_side_by_side,
    reads_layers_only,
    running_statistics,
    tracking_constant_terms,
)
from ._norms import BatchNormUncentered2d, DetachableGNLayerNorm2d, DetachableLayerNorm, DetachablePositionNorm2d
from ._vocabulary import circuit_layers, explorable_layers

__all__ = [
    "AddInverse",
    "BatchNormUncentered2d",
    "BcosConv2d",
    "BcosLinear",
    "DetachableGNLayerNorm2d",
    "DetachableLayerNorm",
    "DetachablePositionNorm2d",
    "DynamicModule",
    "LogitLayer",
    "OutputEmitter",
    "channel_maps",
    "circuit_layers",
    "constant_term",
    "explanation_mode",
    "explorable_layers",
    "fold_mirror_pass",
    "forward_through",
    "forward_to",
    "is_in_explanation_mode",
    "passes_side_by_side",
    "reads_layers_only",
    "running_statistics",
    "tracking_constant_terms",
]
