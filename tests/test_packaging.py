"""`pip install .` gives a working library: from outside the checkout, the default model loads and explains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPLAIN = """
import json, bcos_core, torch
loaded = bcos_core.load_model()
expl = bcos_core.explain(loaded.model, torch.rand(1, 6, 32, 32, generator=torch.Generator().manual_seed(0)))
print(json.dumps({"file": bcos_core.__file__, "name": loaded.name, "classes": len(loaded.class_names), "models": bcos_core.list_models(),
                  "error": abs(float(expl.contributions.double().sum()) + expl.bias - expl.logit)}))
"""


@pytest.mark.slow
def test_installed_package_loads_and_explains_the_default_model_outside_the_checkout(tmp_path) -> None:
    target, elsewhere = tmp_path / "site-packages", tmp_path / "elsewhere"
    elsewhere.mkdir()
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target), str(ROOT)]
    subprocess.run(install, check=True, timeout=600, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-c", EXPLAIN], cwd=elsewhere, env=env, check=True, timeout=300, capture_output=True, text=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(result["file"]).is_relative_to(target)  # the installed copy, not the checkout
    assert result["name"] == "cifar10_fastnet_b2" and result["classes"] == 10 and result["error"] < 1e-4
    assert "v2_resnet50" in result["models"]  # the registry travels with the package
