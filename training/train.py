"""Train a B-cos classifier.

    python -m training.train --config configs/cifar10_fastnet.toml [--optim.epochs=40 ...] [--resume]
    torchrun --nproc_per_node 2 -m training.train --config ...      # data-parallel (gloo on CPU)

Every epoch writes ``<out_dir>/last.safetensors`` (resumable state) and ``<out_dir>/model.{safetensors,json}``
(the exported model), atomically, and appends a line to ``<out_dir>/metrics.jsonl``. Ctrl-C saves the exact
position inside the epoch; ``--resume`` continues from it bit for bit (data order and augmentation are
derived from the seed, epoch and step).
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import time
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from bcos_core.checkpoints import CheckpointError, ModelMetadata, checkpoint_paths, load_state_into, read_metadata, read_weights, save_model
from bcos_core.metrics import evaluate_classifier, explanation_alignment
from bcos_core.models import build_model, get_spec

from .config import OptimConfig, TrainConfig, load_config
from .data import InMemoryDataset, default_data_root, load_image_folder, load_torchvision_cifar10
from .distributed import ProcessGroup, init_distributed, shutdown_distributed
from .hardware import resolve_bf16
from .loop import EpochProgress, epoch_permutation, train_one_epoch
from .quality import localisation_means
from .state import RUN_EXPORT_NAME, STATE_FILE, load_training_state, save_training_state


def load_datasets(cfg: TrainConfig) -> tuple[InMemoryDataset, InMemoryDataset]:
    if cfg.data.source == "torchvision":
        root = cfg.data.root or str(default_data_root() / "torchvision")
        train, test = load_torchvision_cifar10(root, True), load_torchvision_cifar10(root, False)
    elif cfg.data.source == "folder":
        root = Path(cfg.data.root) if cfg.data.root else default_data_root() / "cifar10"
        cache = cfg.data.cache_dir or None
        size = get_spec(cfg.model.arch).input_size
        train, test = load_image_folder(root / "train", cache, size), load_image_folder(root / "test", cache, size)
    else:
        raise ValueError(f"data.source must be 'folder' or 'torchvision', not {cfg.data.source!r}")
    if cfg.data.train_subset:
        train = train.subset(epoch_permutation(len(train), cfg.run.seed, -1)[: cfg.data.train_subset])
    if cfg.data.test_subset:
        test = test.subset(torch.arange(min(cfg.data.test_subset, len(test))))
    return train, test


class StopFlag:
    """Set by SIGINT/SIGTERM so the loop stops at a step boundary and saves, instead of dying mid-update."""

    def __init__(self) -> None:
        self.stop = False
        signal.signal(signal.SIGINT, self._set)
        signal.signal(signal.SIGTERM, self._set)

    def _set(self, signum: int, frame: object) -> None:
        self.stop = True

    def __call__(self) -> bool:
        return self.stop


def architecture_kwargs(cfg: TrainConfig) -> dict:
    """Builder arguments: B (B-cos architectures only) and the config's extra ``[model.kwargs]``."""
    b = {"b": cfg.model.b} if get_spec(cfg.model.arch).bcos else {}
    return {**b, **cfg.model.kwargs}


# builder arguments that say how the weights are applied, not which there are: a shipped mirror-averaging model starts
# a single-pass run (training.mirror makes the copy again afterwards), and a run may change the logit temperature
_WEIGHT_FREE_KWARGS = frozenset({"mirror_average", "logit_temperature"})


def _weight_shaping(kwargs: dict) -> dict:
    return {key: value for key, value in kwargs.items() if key not in _WEIGHT_FREE_KWARGS}


def freeze(model: torch.nn.Module, names: list[str]) -> None:
    """Exclude the named parameters from training (``optim.frozen``); unknown names are errors, not silently ignored."""
    parameters = dict(model.named_parameters())
    unknown = sorted(set(names) - set(parameters))
    if unknown:
        raise ValueError(f"optim.frozen: {unknown} are not parameters of the model")
    for name in names:
        parameters[name].requires_grad_(False)


def initialise_from(model: torch.nn.Module, cfg: TrainConfig) -> dict:
    """Start from an exported model's weights (``run.init_from``; its architecture and the builder arguments that
    shape the weights must match). Returns the starting model's provenance, recorded in the exported model's training info."""
    metadata = read_metadata(cfg.run.init_from)
    wanted = (cfg.model.arch, _weight_shaping(architecture_kwargs(cfg)))
    if (metadata.arch, _weight_shaping(metadata.arch_kwargs)) != wanted:
        raise CheckpointError(f"{cfg.run.init_from}: is {metadata.arch} {metadata.arch_kwargs}, the config builds {wanted[0]} {wanted[1]}")
    weights_path, _ = checkpoint_paths(cfg.run.init_from)
    load_state_into(model, read_weights(weights_path), str(weights_path))
    return {"path": cfg.run.init_from, "metrics": metadata.metrics, "training": metadata.training}


def export_model(model: torch.nn.Module, cfg: TrainConfig, classes: list[str], metrics: dict, info: dict) -> None:
    spec = get_spec(cfg.model.arch)
    metadata = ModelMetadata(
        arch=cfg.model.arch,
        arch_kwargs=architecture_kwargs(cfg),
        class_names=classes,
        dataset=spec.dataset,
        input_size=spec.input_size,
        logit_bias=float(model.logit_bias),
        logit_temperature=model.logit_layer.temperature,
        metrics=metrics,
        training=info,
    )
    save_model(model, Path(cfg.run.out_dir) / RUN_EXPORT_NAME, metadata)


def make_optimizer(model: torch.nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """Adam as in the B-cos papers, or AdamW whose decoupled decay skips 1-D parameters (norm scales, biases)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        groups = [
            {"params": [p for p in params if p.ndim > 1], "weight_decay": cfg.weight_decay},
            {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.lr)
    raise ValueError(f"optim.optimizer must be 'adam' or 'adamw', not {cfg.optimizer!r}")


def weight_average(model: torch.nn.Module, decay: float) -> AveragedModel | None:
    """An exponential moving average of the weights and norm statistics (None when ``decay`` is 0). Evaluation and
    export use it: averaging the last few thousand steps smooths out the noise of the final updates."""
    if not decay:
        return None
    if not 0 < decay < 1:
        raise ValueError(f"optim.ema_decay must be 0 (off) or between 0 and 1, not {decay}")
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def logged_alignment(model: torch.nn.Module, test_data: InMemoryDataset, count: int) -> float:
    """Mean cos(W(x), x) of the predicted class over ``count`` test images spread evenly over the (class-sorted) test
    set, eager float32: how alignment moves as training goes on (it fell with training length in our B = 2 runs)."""
    cosines, _ = explanation_alignment(model, test_data.spread(count).images)
    return round(float(cosines.mean()), 4)


def final_epoch(cfg: TrainConfig) -> int:
    """The epoch after which the run ends: ``optim.epochs``, or ``run.stop_after_epoch`` when that comes first (the
    learning-rate schedule still spans ``optim.epochs``, so a run stopped there is a run of that schedule cut short)."""
    return min(cfg.optim.epochs, cfg.run.stop_after_epoch or cfg.optim.epochs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="TOML file with [model], [data], [optim], [run] tables")
    parser.add_argument("--resume", action="store_true", help="continue from <out_dir>/last.safetensors")
    args, overrides = parser.parse_known_args(argv)
    cfg = load_config(args.config, overrides)
    cfg.run.bf16 = resolve_bf16(cfg.run.bf16)
    group = init_distributed()
    if cfg.run.threads:
        torch.set_num_threads(cfg.run.threads)
    torch.manual_seed(cfg.run.seed)
    out_dir = Path(cfg.run.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    train_data, test_data = load_datasets(cfg)

    model = build_model(cfg.model.arch, num_classes=len(train_data.classes), **architecture_kwargs(cfg))
    started_from = initialise_from(model, cfg) if cfg.run.init_from else None
    freeze(model, cfg.optim.frozen)
    if cfg.run.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, cfg.optim)
    averaged = weight_average(model, cfg.optim.ema_decay)
    progress, info = EpochProgress(), {"elapsed_s": 0.0, "history": []}
    state_path = out_dir / STATE_FILE
    if args.resume and state_path.exists():
        info = load_training_state(state_path, model, optimizer, averaged)
        progress = EpochProgress(**info.pop("progress"))
        if group.is_main:
            print(f"resumed from {state_path} at epoch {progress.epoch + 1}, step {progress.step_in_epoch}", file=sys.stderr)
    train_model = DistributedDataParallel(model) if group.world_size > 1 else model
    if cfg.run.compile:
        train_model = torch.compile(train_model)

    stop, epochs_this_run = StopFlag(), 0
    command = "python -m training.train " + shlex.join(sys.argv[1:] if argv is None else argv)
    while progress.epoch < final_epoch(cfg):
        started = time.perf_counter()
        update_average = (lambda: averaged.update_parameters(model)) if averaged is not None else None
        finished = train_one_epoch(train_model, optimizer, train_data, cfg, progress, group, stop, update_average)
        info["elapsed_s"] += time.perf_counter() - started
        if not finished:
            if group.is_main:
                save_training_state(state_path, model, optimizer, {**info, "progress": vars(progress), "config": cfg.to_dict()}, averaged)
                print(f"\ninterrupted: state saved to {state_path}; continue with --resume", file=sys.stderr)
            shutdown_distributed()
            return 130
        epochs_this_run += 1
        _finish_epoch(model, averaged, optimizer, cfg, progress, info, train_data, test_data, group, command, started_from)
        if cfg.run.max_epochs_this_run and epochs_this_run >= cfg.run.max_epochs_this_run:
            break
    shutdown_distributed()
    return 0


def _finish_epoch(
    model,
    averaged: AveragedModel | None,
    optimizer,
    cfg: TrainConfig,
    progress: EpochProgress,
    info: dict,
    train_data,
    test_data,
    group: ProcessGroup,
    command: str,
    started_from: dict | None,
) -> None:
    """Log the epoch, evaluate, export the model (its weight average, if any) and save the resumable state (main
    process only)."""
    exported = averaged.module if averaged is not None else model
    counts = torch.tensor([progress.loss_sum, progress.correct, progress.seen], dtype=torch.float64)
    if group.world_size > 1:
        torch.distributed.all_reduce(counts)
    record = {
        "epoch": progress.epoch + 1,
        "train_loss": float(counts[0] / counts[2]),
        "train_accuracy": float(counts[1] / counts[2]),
        "elapsed_s": round(info["elapsed_s"], 1),
    }
    last_epoch = progress.epoch + 1 == final_epoch(cfg)
    if group.is_main and (last_epoch or (progress.epoch + 1) % cfg.run.eval_every == 0):
        # the eager model, not the compiled one: the compiled graph was traced in training mode, and its eval-mode
        # numbers drifted from eager fp32 evaluation mid-run (BatchNorm statistics at high learning rate)
        model.eval()  # this process's own model (the next epoch switches it back to training)
        if averaged is not None:  # the raw weights too, so the log shows what averaging adds
            report = evaluate_classifier(model, test_data.images, test_data.labels, test_data.classes, bf16=cfg.run.bf16)
            record["test_accuracy_raw_weights"] = report["accuracy"]
        exported.eval()
        report = evaluate_classifier(exported, test_data.images, test_data.labels, test_data.classes, bf16=cfg.run.bf16)
        record["test_accuracy"] = report["accuracy"]
        if cfg.run.alignment_images:
            record["test_alignment"] = logged_alignment(exported, test_data, cfg.run.alignment_images)
        if cfg.run.localisation_grids:
            record["test_localisation"] = localisation_means(exported, test_data, cfg.run.localisation_grids)
    progress.epoch, progress.step_in_epoch, progress.loss_sum, progress.correct, progress.seen = progress.epoch + 1, 0, 0.0, 0, 0
    info["history"].append(record)
    if group.is_main:
        with open(Path(cfg.run.out_dir) / "metrics.jsonl", "a") as handle:
            handle.write(json.dumps(record) + "\n")
        print(json.dumps(record), file=sys.stderr)
        metrics = {"test_accuracy": record.get("test_accuracy", float("nan")), "train_accuracy": record["train_accuracy"]}
        run_info = {
            "command": command,
            "epochs": progress.epoch,
            "planned_epochs": cfg.optim.epochs,
            "wall_time_s": round(info["elapsed_s"], 1),
            "train_images": len(train_data),
            "threads": torch.get_num_threads(),
            "processes": group.world_size,
            "config": cfg.to_dict(),
        }
        if started_from:
            run_info["initialised_from"] = started_from
        if averaged is not None:
            run_info["weights"] = f"exponential moving average of weights and norm statistics, decay {cfg.optim.ema_decay} per step"
        export_model(exported, cfg, train_data.classes, metrics, run_info)
        state = {**info, "progress": vars(progress), "config": cfg.to_dict()}
        save_training_state(Path(cfg.run.out_dir) / STATE_FILE, model, optimizer, state, averaged)
    if group.world_size > 1:
        torch.distributed.barrier()


if __name__ == "__main__":
    sys.exit(main())
