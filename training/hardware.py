"""What the CPU can do fast: bfloat16 autocast pays off only with native bf16 instructions (AMX or AVX-512 BF16)."""

from __future__ import annotations

import sys
from pathlib import Path

NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when the CPU flags list AMX-BF16 or AVX-512 BF16 (elsewhere bf16 is emulated, an order of magnitude
    slower than float32 for our training step). Unknown (no /proc/cpuinfo): assume yes."""
    try:
        flags = set(cpuinfo.read_text().split())
    except OSError:
        return True
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def resolve_bf16(requested: bool) -> bool:
    """``requested`` unless the CPU lacks native bf16, in which case say so and use float32."""
    if requested and not cpu_has_native_bf16():
        print(
            "note: this CPU has no native bfloat16 (AMX / AVX-512 BF16), where bf16 autocast is an order of magnitude "
            "slower: using float32 (pass --run.bf16=false to silence this)",
            file=sys.stderr,
        )
        return False
    return requested
