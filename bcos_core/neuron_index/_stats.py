"""Per-layer running statistics of a neuron index: top-k images per channel and mergeable summaries.

Everything here is exact under merging: two shards' statistics merged equal one pass over both (top-k ties are
broken by the lower image index, sums are float64, histograms use fixed bin edges).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

# Histogram of per-image maxima: one bin for values ≤ 1e-4 (including negatives), then 64 log-spaced bins
# from 1e-4 to 1e4 (values above land in the last bin). Fixed edges make shard histograms add up exactly.
HISTOGRAM_EDGES = torch.logspace(-4, 4, 65, dtype=torch.float64)
NUM_BINS = len(HISTOGRAM_EDGES)

_FIELDS = ("top_values", "top_images", "top_positions", "top_labels", "max_sum", "max_sq_sum", "histogram")


@dataclass
class LayerStats:
    """Running statistics of one layer's channels over the images seen so far.

    ``top_*`` are (channels, k), sorted by activation (descending; ties by image index); unfilled slots have
    value −inf and image −1. ``top_positions`` are flat indices into the (height, width) map.
    ``max_sum``/``max_sq_sum`` sum the per-image maxima and their squares; ``histogram`` counts them.
    """

    top_values: Tensor
    top_images: Tensor
    top_positions: Tensor
    top_labels: Tensor
    max_sum: Tensor
    max_sq_sum: Tensor
    histogram: Tensor
    images_seen: int
    map_size: tuple[int, int]

    @classmethod
    def empty(cls, channels: int, k: int, map_size: tuple[int, int]) -> LayerStats:
        return cls(
            top_values=torch.full((channels, k), -torch.inf),
            top_images=torch.full((channels, k), -1, dtype=torch.int32),
            top_positions=torch.zeros((channels, k), dtype=torch.int32),
            top_labels=torch.full((channels, k), -1, dtype=torch.int32),
            max_sum=torch.zeros(channels, dtype=torch.float64),
            max_sq_sum=torch.zeros(channels, dtype=torch.float64),
            histogram=torch.zeros((channels, NUM_BINS), dtype=torch.int32),
            images_seen=0,
            map_size=map_size,
        )

    @property
    def channels(self) -> int:
        return self.top_values.shape[0]

    @property
    def k(self) -> int:
        return self.top_values.shape[1]

    def update(self, maxima: Tensor, positions: Tensor, images: Tensor, labels: Tensor) -> None:
        """Add a batch: per-image channel maxima (N, C), their flat positions (N, C), image indices and labels (N,)."""
        maxima = maxima.float()
        n = maxima.shape[0]
        self._keep_top(
            maxima.T,
            images[None].expand(self.channels, n).to(torch.int32),
            positions.T.to(torch.int32),
            labels[None].expand(self.channels, n).to(torch.int32),
        )
        wide = maxima.double()
        self.max_sum += wide.sum(0)
        self.max_sq_sum += wide.square().sum(0)
        bins = torch.bucketize(wide.T.contiguous(), HISTOGRAM_EDGES).clamp_(max=NUM_BINS - 1)
        self.histogram.scatter_add_(1, bins, torch.ones_like(bins, dtype=torch.int32))
        self.images_seen += n

    def merge(self, other: LayerStats) -> None:
        """Fold in the statistics of a disjoint set of images (another shard)."""
        if (other.channels, other.k, other.map_size) != (self.channels, self.k, self.map_size):
            raise ValueError("cannot merge statistics of layers with different channels, k or map size")
        self._keep_top(other.top_values, other.top_images, other.top_positions, other.top_labels)
        self.max_sum += other.max_sum
        self.max_sq_sum += other.max_sq_sum
        self.histogram += other.histogram
        self.images_seen += other.images_seen

    def _keep_top(self, values: Tensor, images: Tensor, positions: Tensor, labels: Tensor) -> None:
        all_values = torch.cat([self.top_values, values], 1)
        all_images = torch.cat([self.top_images, images], 1)
        # Order by image index, then stably by value: equal values keep the lower image index first.
        by_image = all_images.argsort(dim=1, stable=True)
        by_value = all_values.gather(1, by_image).argsort(dim=1, descending=True, stable=True)
        keep = by_image.gather(1, by_value)[:, : self.k]
        self.top_values = all_values.gather(1, keep)
        self.top_images = all_images.gather(1, keep)
        self.top_positions = torch.cat([self.top_positions, positions], 1).gather(1, keep)
        self.top_labels = torch.cat([self.top_labels, labels], 1).gather(1, keep)

    # Summaries used to rank neurons.
    @property
    def mean_max(self) -> Tensor:
        """Mean over images of each channel's maximum activation (the paper's neuron statistic)."""
        return self.max_sum / max(self.images_seen, 1)

    @property
    def std_max(self) -> Tensor:
        variance = self.max_sq_sum / max(self.images_seen, 1) - self.mean_max.square()
        return variance.clamp(min=0).sqrt()

    @property
    def specificity(self) -> Tensor:
        """How far the top-k images stand out: (mean top-k maximum − mean maximum) / std of the maxima."""
        filled = torch.isfinite(self.top_values)
        top_mean = torch.where(filled, self.top_values, 0).double().sum(1) / filled.sum(1).clamp(min=1)
        return (top_mean - self.mean_max) / self.std_max.clamp(min=1e-12)

    def class_histogram(self, num_classes: int) -> Tensor:
        """(channels, num_classes) class counts among each channel's top-k images."""
        counts = torch.zeros((self.channels, num_classes), dtype=torch.int64)
        valid = self.top_labels >= 0
        counts.scatter_add_(1, self.top_labels.clamp(min=0).long(), valid.long())
        return counts

    def class_purity(self, num_classes: int) -> Tensor:
        """Share of each channel's top-k images that belong to its most frequent class."""
        counts = self.class_histogram(num_classes)
        return counts.max(1).values / counts.sum(1).clamp(min=1)

    def position(self, channel: int, slot: int) -> tuple[int, int]:
        """(row, col) in the layer's map of a top-k entry."""
        flat = int(self.top_positions[channel, slot])
        return divmod(flat, self.map_size[1])

    def tensors(self, prefix: str) -> dict[str, Tensor]:
        return {f"{prefix}/{name}": getattr(self, name).contiguous() for name in _FIELDS}

    @classmethod
    def from_tensors(cls, tensors: dict[str, Tensor], prefix: str, images_seen: int, map_size: tuple[int, int]) -> LayerStats:
        return cls(**{name: tensors[f"{prefix}/{name}"] for name in _FIELDS}, images_seen=images_seen, map_size=tuple(map_size))
