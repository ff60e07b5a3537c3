"""Deletion curves: most- and least-relevant-first orders per method, a random baseline, and the gap between them."""

from __future__ import annotations

import pytest
from PIL import Image

from bcos_core import class_logits, load_model
from bcos_core.attribution import BCOS, RANDOM_ORDER, curve_area, deletion_curves, deletion_gaps


def test_bcos_contributions_rank_pixels_by_their_effect_on_the_logit(cifar_root) -> None:
    loaded = load_model()
    gaps = []
    for name in ("cat/0001.jpg", "ship/0002.jpg", "horse/0003.jpg"):
        with Image.open(cifar_root / "test" / name) as image:
            x = loaded.preprocess(image)[0]
        target = int(class_logits(loaded.model, x).argmax())
        curves = deletion_curves(loaded.model, x, target, [BCOS], steps=10)
        assert set(curves) == {BCOS, RANDOM_ORDER} and set(curves[BCOS]) == {"MoRF", "LeRF"}
        fractions, logits = curves[BCOS]["MoRF"]
        assert len(fractions) == 11 and float(logits[0]) == pytest.approx(float(class_logits(loaded.model, x)[target]), rel=1e-5)
        gaps.append(deletion_gaps(curves)[BCOS])
        assert gaps[-1] == curve_area(*curves[BCOS]["LeRF"]) - curve_area(*curves[BCOS]["MoRF"])
    assert min(gaps) > 0  # removing the most relevant pixels first lowers the logit more than the least relevant first
