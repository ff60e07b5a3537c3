"""Attribution maps for the evaluation: the model-inherent B-cos contributions and post-hoc methods via Captum.

Every method maps (grid (C, H, W), target classes) → (n, H, W) maps summed over input channels, so the pointing
game and the deletion curve treat them alike. Post-hoc methods see the model in its normal mode (not explanation
mode): that is what they would explain on any network.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from .attention import attention_blocks, attention_rollout
from .explain import explain_classes
from .layers import fold_mirror_pass, running_statistics
from .localisation import AttributionFn

BCOS = "B-cos contributions"
GRAD_CAM = "Grad-CAM"
DEEPLIFT = "DeepLIFT"
ATTENTION_ROLLOUT = "Attention rollout"
OCCLUSION_WINDOW = 8  # occlusion patch (pixels) and stride: 16 patches per 32 × 32 tile


def _bcos(model: nn.Module) -> AttributionFn:
    def attribute(image: Tensor, classes: list[int]) -> Tensor:
        return torch.stack([e.contributions for e in explain_classes(model, image, classes)])

    return attribute


def _captum(model: nn.Module, make: Callable[[nn.Module], Callable[..., Tensor]]) -> AttributionFn:
    """A Captum method applied to n copies of the image, one target class each (one batched call).

    Captum registers hooks on the model it is given, so it gets a private evaluation-mode copy: the caller's model,
    which other threads may be using, is never touched.
    """
    method = make(copy.deepcopy(model).eval())

    def attribute(image: Tensor, classes: list[int]) -> Tensor:
        batch = image[None].expand(len(classes), *image.shape).clone().requires_grad_(True)
        return method(batch, torch.tensor(classes)).detach().sum(1)

    return attribute


def _saliency(model: nn.Module):
    from captum.attr import Saliency

    method = Saliency(model)
    return lambda x, target: method.attribute(x, target=target, abs=False)


def _input_x_gradient(model: nn.Module):
    from captum.attr import InputXGradient

    method = InputXGradient(model)
    return lambda x, target: method.attribute(x, target=target)


def _integrated_gradients(model: nn.Module, steps: int = 20):
    from captum.attr import IntegratedGradients

    method = IntegratedGradients(model)
    return lambda x, target: method.attribute(x, target=target, n_steps=steps, method="riemann_trapezoid", internal_batch_size=len(x) * 5)


def _grad_cam(model: nn.Module):
    """Grad-CAM on the features entering the classifier, upsampled (bilinear) to the input size; a mirror-averaging
    model's two passes each get their map, the mirror pass's mirrored back and added."""
    from captum.attr import LayerAttribution, LayerGradCam

    method = LayerGradCam(model, model.classifier)

    def attribute(x: Tensor, target: Tensor) -> Tensor:
        cam = method.attribute(x, target=target, attribute_to_layer_input=True, relu_attributions=True)
        return LayerAttribution.interpolate(fold_mirror_pass(cam, len(x)), tuple(x.shape[-2:]), interpolate_mode="bilinear")

    return attribute


def _deeplift(model: nn.Module):
    from captum.attr import DeepLift

    method = DeepLift(model)
    return lambda x, target: method.attribute(x, target=target)


def _occlusion(model: nn.Module):
    """Occlusion with black 8 × 8 patches; Captum's aggregate mode gets every target class from each perturbed pass."""
    from captum.attr import Occlusion

    def attribute(x: Tensor, target: Tensor) -> Tensor:
        classes = target.tolist()
        method = Occlusion(lambda batch: model(batch)[0, classes])  # one image in, one score per target class out
        shape = (x.shape[1], OCCLUSION_WINDOW, OCCLUSION_WINDOW)
        return method.attribute(x[:1], sliding_window_shapes=shape, strides=shape, baselines=0.0)

    return attribute


POST_HOC: dict[str, Callable[[nn.Module], Callable[..., Tensor]]] = {
    "Gradient": _saliency,
    "Input×Gradient": _input_x_gradient,
    "Integrated Gradients": _integrated_gradients,
    GRAD_CAM: _grad_cam,
    DEEPLIFT: _deeplift,
    "Occlusion": _occlusion,
}


def _attention_rollout_method(model: nn.Module) -> AttributionFn:
    """The same class-agnostic rollout map for every target class."""

    def attribute(image: Tensor, classes: list[int]) -> Tensor:
        return attention_rollout(model, image)[None].expand(len(classes), *image.shape[-2:]).clone()

    return attribute


ALL_METHODS = (BCOS, *POST_HOC, ATTENTION_ROLLOUT)  # every name :func:`attribution_method` knows
# Methods whose map does not depend on the class: in the grid pointing game the nine tiles share out one map's mass,
# so such a method averages exactly 1/9 per grid whatever its map shows (tests/test_localisation.py).
CLASS_AGNOSTIC = frozenset({ATTENTION_ROLLOUT})


def is_bcos(model: nn.Module) -> bool:
    """True for B-cos networks (they have exact contributions); False for conventional baselines."""
    from .layers import BcosConv2d, BcosLinear

    return any(isinstance(m, (BcosConv2d, BcosLinear)) for m in model.modules())


def available_methods(model: nn.Module) -> list[str]:
    """Methods that apply: B-cos contributions for B-cos models; DeepLIFT only for ReLU networks (its rules
    cover ReLU-type units, not the B-cos transform); attention rollout for transformers; Grad-CAM for networks with a
    convolutional classifier."""
    methods = [BCOS] + [m for m in POST_HOC if m != DEEPLIFT] if is_bcos(model) else list(POST_HOC)
    if attention_blocks(model):
        methods = [m for m in methods if m != GRAD_CAM] + [ATTENTION_ROLLOUT]
    return methods


def attribution_method(name: str, model: nn.Module) -> AttributionFn:
    """The attribution function of a method by name (see :func:`available_methods`)."""
    if name not in available_methods(model):
        raise ValueError(f"method {name!r} does not apply to this model; choose from {available_methods(model)}")
    if name == BCOS:
        return _bcos(model)
    if name == ATTENTION_ROLLOUT:
        return _attention_rollout_method(model)
    return _captum(model, POST_HOC[name])


def deletion_curve(
    model: nn.Module, image: Tensor, target: int, attribution: Tensor, steps: int = 20, fill: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Logit of ``target`` as pixels are removed in order of decreasing attribution (paper-style deletion metric).

    ``image`` is one encoded (C, H, W) image, ``attribution`` its (H, W) map (negate it for least-relevant-first);
    removed pixels are set to ``fill``, by default the image's mean colour: black pixels scattered over an image are
    far outside the training data and lower the logit whatever their order, which made even a random order look
    best. Returns (fractions removed, logits), steps + 1 points.
    """
    channels, height, width = image.shape
    fill = fill if fill is not None else image.mean((1, 2))
    order = attribution.flatten().argsort(descending=True, stable=True)
    fractions = torch.linspace(0, 1, steps + 1)
    batch = image[None].repeat(steps + 1, 1, 1, 1)
    for row, fraction in enumerate(fractions):
        removed = order[: int(round(float(fraction) * height * width))]
        flat = batch[row].view(channels, -1)
        flat[:, removed] = fill[:, None]
    with torch.no_grad(), running_statistics(model):
        logits = model(batch)[:, target]
    return fractions, logits


DeletionCurves = dict[str, dict[str, tuple[Tensor, Tensor]]]
RANDOM_ORDER = "random order"


def deletion_curves(model: nn.Module, image: Tensor, target: int, methods: Sequence[str], steps: int = 20) -> DeletionCurves:
    """Per method, the deletion curve with the most relevant pixels removed first ("MoRF") and the least relevant
    first ("LeRF"); and a seeded random order (under :data:`RANDOM_ORDER`, key "random"), the baseline to beat."""
    curves: DeletionCurves = {}
    for method in methods:
        attribution = attribution_method(method, model)(image, [target])[0]
        curves[method] = {
            order: deletion_curve(model, image, target, sign * attribution, steps) for order, sign in (("MoRF", 1), ("LeRF", -1))
        }
    random_order = torch.rand(image.shape[1:], generator=torch.Generator().manual_seed(0))
    curves[RANDOM_ORDER] = {"random": deletion_curve(model, image, target, random_order, steps)}
    return curves


def curve_area(fractions: Tensor, logits: Tensor) -> float:
    """Area under the logit curve, relative to the starting logit (more negative: the logit fell faster)."""
    return float(torch.trapezoid(logits - logits[0], fractions))


def deletion_gaps(curves: DeletionCurves) -> dict[str, float]:
    """Per method: area of the least-relevant-first curve minus that of the most-relevant-first one (larger: the
    map ranks pixels by their effect on the logit better)."""
    return {method: curve_area(*orders["LeRF"]) - curve_area(*orders["MoRF"]) for method, orders in curves.items() if "MoRF" in orders}
