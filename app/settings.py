"""Operator settings: what a hosted dashboard lets its visitors do, from environment variables.

The defaults are safe for a public Space: every visitor's concept labels stay in their own session, and models
are chosen from a list, never by a path typed into the page.

    BCOS_LABEL_STORE=/srv/labels         share concept labels between visitors, saved in that folder
    BCOS_ALLOW_CHECKPOINT_PATHS=1        show a box for loading any model file on the server by path
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

LABEL_STORE_ENV_VAR = "BCOS_LABEL_STORE"
CHECKPOINT_PATHS_ENV_VAR = "BCOS_ALLOW_CHECKPOINT_PATHS"
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class OperatorSettings:
    label_store: Path | None  # None: labels are per visitor (session), downloaded and uploaded as JSON
    allow_checkpoint_paths: bool


def operator_settings() -> OperatorSettings:
    """The settings from the environment (read on every call, so tests and restarts see changes)."""
    store = os.environ.get(LABEL_STORE_ENV_VAR, "").strip()
    return OperatorSettings(
        label_store=Path(store).expanduser() if store else None,
        allow_checkpoint_paths=os.environ.get(CHECKPOINT_PATHS_ENV_VAR, "").strip().lower() in _TRUE,
    )
