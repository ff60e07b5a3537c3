"""Input encoding and the logit layer."""

from __future__ import annotations

from torch import Tensor, nn

from ..preprocessing import encode_images


class AddInverse(nn.Module):
    """Encode an image in [0, 1] as [r, g, b, 1−r, 1−g, 1−b] so every pixel has the same norm."""

    def __init__(self, dim: int = -3) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return encode_images(x, self.dim)


class LogitLayer(nn.Module):
    """logits = x / temperature + bias, both constants (not parameters, not in checkpoints).

    The bias is the only additive term of a B-cos CNN: explanations report it separately, so that
    Σ contributions + bias = logit.
    """

    def __init__(self, temperature: float | None = None, bias: float | None = None) -> None:
        super().__init__()
        self.temperature = temperature
        self.bias = bias

    def forward(self, x: Tensor) -> Tensor:
        if self.temperature is not None:
            x = x / self.temperature
        if self.bias is not None:
            x = x + self.bias
        return x

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, bias={self.bias}"
