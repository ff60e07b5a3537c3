"""Official B-cos v2 state dicts load into our models and give the same logits and explanations; release files
download resumably with progress and a hash check; a user's own official-format file loads by path."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import threading

import pytest
import torch

import bcos_core
from bcos_core.checkpoints import CheckpointError, load_state_into
from bcos_core.models import build_model
from bcos_core.official import convert_official_state_dict, fetch_official, read_official_state_dict
from bcos_core.registry import get_entry
from tests.conftest import assert_equals_official, relative_error

bcos = pytest.importorskip("bcos", reason="the official bcos package builds the reference models")
NoBiasBNU = bcos.modules.norms.NoBias(bcos.modules.norms.BatchNormUncentered2d)


def _reference(name: str) -> tuple[torch.nn.Module, str, int]:
    if name == "cifar10_resnet20":
        return bcos.models.cifar10_resnet20(norm_layer=NoBiasBNU), "bcos_resnet20_cifar10", 32
    if name == "cifar10_resnet56":
        return bcos.models.cifar10_resnet56(norm_layer=NoBiasBNU), "bcos_resnet56_cifar10", 32
    if name == "resnet18":
        return bcos.pretrained.resnet18(pretrained=False), "bcos_resnet18_imagenet", 64
    if name == "resnet50":
        return bcos.pretrained.resnet50(pretrained=False), "bcos_resnet50_imagenet", 64
    return bcos.pretrained.densenet121(pretrained=False), "bcos_densenet121_imagenet", 64


def _randomise_norms(model: torch.nn.Module) -> None:
    """Give BN running variances and weights non-trivial values, so a key mix-up would show."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)


@pytest.mark.parametrize("name", ["cifar10_resnet20", "cifar10_resnet56", "resnet18", "resnet50", "densenet121"])
def test_official_state_dict_loads_and_matches(name: str, tmp_path) -> None:
    reference, arch, size = _reference(name)
    with torch.no_grad():
        _randomise_norms(reference)
    reference.eval()
    path = tmp_path / "official.pth"
    torch.save(reference.state_dict(), path)  # the release format: a plain state dict
    ours = build_model(arch)
    load_state_into(ours, read_official_state_dict(path), str(path))
    assert_equals_official(reference, ours.eval(), size)


def test_key_conversion() -> None:
    converted = convert_official_state_dict(
        {"layer1.0.conv1.linear.weight": torch.zeros(1), "fc.linear.weight": torch.zeros(1), "bn1.running_var": torch.zeros(1)}
    )
    assert set(converted) == {"layer1.0.conv1.weight", "classifier.weight", "bn1.running_var"}


def test_missing_official_file_names_the_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BCOS_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr("urllib.request.urlopen", _offline)
    entry = get_entry("v2_resnet18")
    with pytest.raises(CheckpointError, match=entry.weights) as info:
        fetch_official(entry)
    assert str(tmp_path) in str(info.value)


def test_official_file_with_wrong_hash_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BCOS_WEIGHTS_DIR", str(tmp_path))
    entry = get_entry("v2_resnet18")
    (tmp_path / entry.weights).write_bytes(b"not the release file")
    with pytest.raises(CheckpointError, match="SHA-256"):
        fetch_official(entry)


def _offline(*args, **kwargs):
    raise OSError("network unreachable")


class _ReleaseServer(http.server.ThreadingHTTPServer):
    """Serves one file's bytes over HTTP, honouring Range requests unless told not to; records the Range headers."""

    def __init__(self, payload: bytes, honour_range: bool = True) -> None:
        self.payload, self.honour_range, self.ranges = payload, honour_range, []
        super().__init__(("127.0.0.1", 0), _ReleaseHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/release.pth"


class _ReleaseHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802  (the http.server API)
        server: _ReleaseServer = self.server  # type: ignore[assignment]
        requested = self.headers.get("Range")
        server.ranges.append(requested)
        start = int(requested.removeprefix("bytes=").rstrip("-")) if requested and server.honour_range else 0
        body = server.payload[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def _release(tmp_path, monkeypatch, payload: bytes, url: str):
    monkeypatch.setenv("BCOS_WEIGHTS_DIR", str(tmp_path))
    digest = hashlib.sha256(payload).hexdigest()[:10]
    return dataclasses.replace(get_entry("v2_resnet18"), url=url, sha256=digest, weights=f"release-{digest}.pth")


@pytest.mark.parametrize("honour_range", [True, False])
def test_an_interrupted_download_continues_and_reports_progress(tmp_path, monkeypatch, honour_range: bool) -> None:
    payload = bytes(range(256)) * 40_000  # 10 MB: several chunks
    server = _ReleaseServer(payload, honour_range)
    try:
        entry = _release(tmp_path, monkeypatch, payload, server.url)
        (tmp_path / (entry.weights + ".part")).write_bytes(payload[:3_000_000])  # what an interrupted download left
        seen: list[tuple[int, int | None]] = []
        path = fetch_official(entry, progress=lambda done, total: seen.append((done, total)))
    finally:
        server.shutdown()
    assert path.read_bytes() == payload and not (tmp_path / (entry.weights + ".part")).exists()
    assert server.ranges == ["bytes=3000000-"]
    assert seen[0][0] == (3_000_000 if honour_range else 0) + 2**20  # continued (or restarted when Range is ignored)
    assert seen[-1] == (len(payload), len(payload)) and all(a[0] < b[0] for a, b in zip(seen, seen[1:]))


def test_a_download_with_the_wrong_hash_is_discarded(tmp_path, monkeypatch) -> None:
    server = _ReleaseServer(b"a truncated or replaced release file")
    try:
        entry = _release(tmp_path, monkeypatch, b"the real file", server.url)
        with pytest.raises(CheckpointError, match="SHA-256"):
            fetch_official(entry)
    finally:
        server.shutdown()
    assert not list(tmp_path.iterdir())  # neither the file nor a partial download stays behind


def test_an_official_format_file_loads_by_path_with_its_architecture(tmp_path) -> None:
    reference = bcos.pretrained.resnet18(pretrained=False)
    with torch.no_grad():
        _randomise_norms(reference)
    path = tmp_path / "my_finetuned.pth"
    torch.save(reference.eval().state_dict(), path)
    loaded = bcos_core.load_model(f"bcos_resnet18_imagenet:{path}")
    assert loaded.name == f"bcos_resnet18_imagenet:{path}" and loaded.metadata.dataset == "imagenet"
    assert loaded.class_names[0] == "tench" and (loaded.preprocess.size, loaded.preprocess.resize) == (224, 256)
    image = torch.rand(1, 3, 64, 64)
    x = torch.cat([image, 1 - image], 1)
    assert relative_error(bcos_core.class_logits(loaded.model, x), reference(x)[0]) <= 1e-5


def test_an_official_format_file_without_architecture_is_explained(tmp_path) -> None:
    path = tmp_path / "my_finetuned.pth"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="bcos_resnet50_imagenet"):
        bcos_core.load_model(path)
