"""Build, merge and inspect neuron indexes.

  python -m bcos_core.neuron_index build --model cifar10_fastnet_b2 [--data DIR] [--layers a,b] [--k 32] [--out F]
  python -m bcos_core.neuron_index build ... --shard 0/2 --out part0.safetensors    (one of n processes)
  python -m bcos_core.neuron_index merge --out index.safetensors part0.safetensors part1.safetensors
  python -m bcos_core.neuron_index info index.safetensors

A build interrupted (Ctrl-C, killed) continues where its last save stopped when run again with the same
arguments. Under ``torchrun`` the shard defaults to this process's rank / world size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from ..datasets import default_data_root
from ..zoo import DEFAULT_MODEL, load_model
from . import NeuronIndexError, build_index, default_index_path, load_index, merge_indexes


def _shard(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    try:
        return int(index), int(count)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected i/n such as 0/4, got {text!r}") from None


def _default_shard() -> tuple[int, int]:
    """The torchrun rank / world size, or the whole dataset."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bcos_core.neuron_index",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="index a model's neurons over an image folder")
    build.add_argument("--model", default=DEFAULT_MODEL, help="shipped model name, checkpoint path or official model")
    build.add_argument("--data", type=Path, help="ImageFolder root (default: $BCOS_DATA_DIR/cifar10/test)")
    build.add_argument("--layers", help="comma-separated module names (default: every B-cos layer)")
    build.add_argument("--k", type=int, default=32, help="images kept per channel")
    build.add_argument("--shard", type=_shard, default=None, help="i/n: index only the i-th of n contiguous parts")
    build.add_argument("--batch-size", type=int, default=250)
    build.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    build.add_argument("--out", type=Path, help="index file (default: .cache/neuron_index/<model>.<data>.safetensors)")
    merge = commands.add_parser("merge", help="merge the shards of one build")
    merge.add_argument("--out", type=Path, required=True)
    merge.add_argument("parts", type=Path, nargs="+")
    info = commands.add_parser("info", help="print an index's header as JSON")
    info.add_argument("index", type=Path)
    args = parser.parse_args(argv)
    try:
        return {"build": _build, "merge": _merge, "info": _info}[args.command](args)
    except (NeuronIndexError, FileNotFoundError, KeyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _build(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    data = args.data or default_data_root() / "cifar10" / "test"
    loaded = load_model(args.model)
    shard = args.shard or _default_shard()
    out = args.out or default_index_path(loaded.name, data)
    if shard[1] > 1 and args.out is None:
        out = out.with_name(out.name.replace(".safetensors", f".shard{shard[0]}of{shard[1]}.safetensors"))
    layers = args.layers.split(",") if args.layers else None
    started = time.perf_counter()
    index = build_index(
        loaded.model, loaded.name, data, loaded.preprocess, layers=layers, k=args.k, shard=shard, batch_size=args.batch_size, out_path=out
    )
    seconds = time.perf_counter() - started
    images = index.header["image_range"][1] - index.header["image_range"][0]
    print(json.dumps({"index": str(out), "images": images, "layers": len(index.layers), "seconds": round(seconds, 2)}))
    return 0


def _merge(args: argparse.Namespace) -> int:
    merged = merge_indexes([load_index(path) for path in args.parts])
    merged.save(args.out)
    print(json.dumps({"index": str(args.out), "shards": len(args.parts), "images": merged.header["dataset"]["num_images"]}))
    return 0


def _info(args: argparse.Namespace) -> int:
    index = load_index(args.index)
    layers = {
        name: {"channels": s.channels, "map_size": list(s.map_size), "images_seen": s.images_seen} for name, s in index.layers.items()
    }
    print(json.dumps({**index.header, "layers": layers}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
