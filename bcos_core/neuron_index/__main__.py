"""Build, merge and inspect neuron indexes.

  python -m bcos_core.neuron_index build --model cifar10_fastnet_b2 [--data DIR] [--layers a,b] [--k 32] [--out F]
  python -m bcos_core.neuron_index build ... --shard 0/2       (one of n processes: writes F's .shard0of2 file)
  python -m bcos_core.neuron_index merge --out F F.shard0of2.safetensors F.shard1of2.safetensors
  torchrun --nproc_per_node 4 -m bcos_core.neuron_index build ...   (one shard per process, merged into F)
  python -m bcos_core.neuron_index info F

The data folder defaults to the model's data set in the data folder (``registry.toml``: cifar10/test,
imagenet-samples). A build interrupted (Ctrl-C, killed) continues where its last save stopped when run again with
the same arguments, shard by shard. Under ``torchrun`` each process indexes the shard of its rank, waits for the
others, and rank 0 merges the shards into the index file (and removes them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from ..compilation import AUTO_COMPILE_FROM_IMAGES, COMPILE_CHOICES
from ..datasets import default_data_root
from ..registry import get_dataset
from ..zoo import DEFAULT_MODEL, load_model
from . import NeuronIndexError, build_index, default_index_path, load_index, merge_indexes, shard_path


def _shard(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    try:
        return int(index), int(count)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected i/n such as 0/4, got {text!r}") from None


def _torchrun_shard() -> tuple[int, int] | None:
    """This process's rank / world size when started by ``torchrun`` with several processes."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    return (int(os.environ["RANK"]), world) if world > 1 and "RANK" in os.environ else None


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
    build.add_argument("--data", type=Path, help="ImageFolder root (default: the model's data set in $BCOS_DATA_DIR)")
    build.add_argument("--layers", help="comma-separated module names (default: every B-cos layer)")
    build.add_argument("--k", type=int, default=32, help="images kept per channel")
    build.add_argument("--shard", type=_shard, default=None, help="i/n: index only the i-th of n contiguous parts (torchrun: its rank)")
    build.add_argument("--batch-size", type=int, default=0, help="images per forward pass (0: 250 for small images, 32 from 64 px up)")
    build.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    build.add_argument(
        "--compile",
        choices=COMPILE_CHOICES,
        default="auto",
        help=f"run the pass under torch.compile (auto: folders of {AUTO_COMPILE_FROM_IMAGES:,}+ images, where its warm-up pays off)",
    )
    build.add_argument("--device", default="cpu", help="cpu, or cuda (under torchrun each process takes the GPU of its LOCAL_RANK)")
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
    loaded = load_model(args.model)
    device = torch.device(args.device)
    if device.type == "cuda" and device.index is None and "LOCAL_RANK" in os.environ:
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    loaded.model.to(device)
    data = args.data or default_data_root() / get_dataset(loaded.metadata.dataset).images
    torchrun = _torchrun_shard() if args.shard is None else None
    shard = args.shard or torchrun or (0, 1)
    final = args.out or default_index_path(args.model, data)  # under the reference the dashboard is given, path or name
    out = shard_path(final, shard) if shard[1] > 1 else final
    layers = args.layers.split(",") if args.layers else None
    started = time.perf_counter()
    index = build_index(
        loaded.model,
        loaded.name,
        data,
        loaded.preprocess,
        layers=layers,
        k=args.k,
        shard=shard,
        batch_size=args.batch_size or (250 if loaded.preprocess.size < 64 else 32),
        out_path=out,
        compile=args.compile,
    )
    seconds = time.perf_counter() - started
    images = index.header["image_range"][1] - index.header["image_range"][0]
    print(json.dumps({"index": str(out), "images": images, "layers": len(index.layers), "seconds": round(seconds, 2)}))
    if torchrun:
        _merge_when_all_done(final, shard)
    return 0


def _merge_when_all_done(final: Path, shard: tuple[int, int]) -> None:
    """Under torchrun: wait for every shard (a barrier over gloo, no GPU needed); rank 0 merges them into ``final``."""
    import torch.distributed as dist

    dist.init_process_group("gloo")
    try:
        dist.barrier()
        if shard[0] == 0:
            parts = [shard_path(final, (i, shard[1])) for i in range(shard[1])]
            merged = merge_indexes([load_index(path) for path in parts])
            merged.save(final)
            for path in parts:
                path.unlink()
            print(json.dumps({"index": str(final), "shards": len(parts), "images": merged.header["dataset"]["num_images"]}))
        dist.barrier()  # the other ranks end once the merged index exists
    finally:
        dist.destroy_process_group()


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
