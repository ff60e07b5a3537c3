"""Architectures by name: the builders that models (see bcos_core/registry.toml) are made from."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field

from ._base import BcosClassifier

Builder = Callable[..., BcosClassifier]


@dataclass(frozen=True)
class ModelSpec:
    """A registered architecture: its builder and the data it is meant for."""

    name: str
    builder: Builder
    dataset: str
    input_size: int
    defaults: dict = field(default_factory=dict)
    bcos: bool = True  # False for conventional baselines: no exact explanations, post-hoc only


_REGISTRY: dict[str, ModelSpec] = {}


def register_architecture(
    name: str, *, dataset: str, input_size: int, bcos: bool = True, **defaults: object
) -> Callable[[Builder], Builder]:
    """Register ``builder`` under ``name``; a duplicate name is an error. ``bcos=False`` marks a conventional baseline."""

    def decorator(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"architecture {name!r} is already registered")
        _REGISTRY[name] = ModelSpec(name, builder, dataset, input_size, dict(defaults), bcos)
        return builder

    return decorator


def list_architectures(pattern: str = "*", *, conventional: bool = False) -> list[str]:
    """Registered B-cos architecture names matching a shell-style pattern (``conventional=True``: the baselines instead)."""
    return sorted(name for name, spec in _REGISTRY.items() if fnmatch.fnmatch(name, pattern) and spec.bcos != conventional)


def get_spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"unknown architecture {name!r}; known: {', '.join(list_architectures() + list_architectures(conventional=True))}"
        ) from None


def build_model(name: str, **kwargs: object) -> BcosClassifier:
    """Build a registered architecture with random weights (``kwargs`` override its defaults)."""
    spec = get_spec(name)
    return spec.builder(**{**spec.defaults, **kwargs})
