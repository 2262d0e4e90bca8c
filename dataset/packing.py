"""Video packing (Depth Any Video §3.2): buckets of (resolution, K frames) with a batch size each.

Clips are grouped by resolution (nearest aspect ratio, cropped to a fixed size) and each batch
takes one frame-dropout K for all its samples; small and short buckets get bigger batches, so a
batch is filled with real frames instead of padding. The table is either given row by row or
derived from a pixel budget: batch_size = budget // (K * H * W).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import yaml

from capture.errors import InputError


@dataclass(frozen=True)
class Bucket:
    height: int
    width: int
    frames: int  # K: frames sampled per clip (frame dropout)
    batch_size: int

    @property
    def resolution(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def slots(self) -> int:
        """Pixel-frame slots one batch of this bucket occupies."""
        return self.batch_size * self.frames * self.height * self.width


class BucketTable:
    """The (resolution, K) -> batch size table the loader packs batches by."""

    def __init__(self, buckets: Iterable[Bucket]):
        self.buckets = sorted(set(buckets), key=lambda b: (b.height * b.width, b.height, b.frames))
        if not self.buckets:
            raise InputError(None, "bucket table is empty")
        for b in self.buckets:
            if min(b.height, b.width, b.frames, b.batch_size) < 1:
                raise InputError(None, f"bucket {b} has a non-positive field")
        self._by_key = {(b.height, b.width, b.frames): b for b in self.buckets}

    @classmethod
    def from_budget(
        cls, resolutions: Sequence[tuple[int, int]], frames: Sequence[int], pixel_budget: int, max_batch: int = 512
    ) -> BucketTable:
        """batch_size = pixel_budget // (K*H*W), at least 1: equal memory per step across buckets."""
        return cls(
            Bucket(h, w, k, max(1, min(max_batch, pixel_budget // (k * h * w)))) for h, w in resolutions for k in frames
        )

    @classmethod
    def default(cls) -> BucketTable:
        # The paper's training resolutions scaled to a quarter and K in 1..25 (1 = image depth);
        # budget = 8 clips of 25 frames at 240x320.
        res = [(256, 256), (240, 320), (176, 608), (320, 240)]
        return cls.from_budget(res, [1, 2, 4, 8, 16, 25], pixel_budget=8 * 25 * 240 * 320)

    @classmethod
    def load(cls, path: str | Path) -> BucketTable:
        """YAML/JSON list of {height, width, frames, batch_size}."""
        try:
            rows = yaml.safe_load(Path(path).read_text())
            return cls(Bucket(**{k: int(v) for k, v in r.items()}) for r in rows)
        except (OSError, yaml.YAMLError, TypeError, AttributeError) as e:
            raise InputError(path, f"not a bucket table (list of height/width/frames/batch_size): {e}") from None

    def to_rows(self) -> list[dict]:
        return [asdict(b) for b in self.buckets]

    @property
    def resolutions(self) -> list[tuple[int, int]]:
        return sorted({b.resolution for b in self.buckets})

    def resolution_for(self, height: int, width: int) -> tuple[int, int]:
        """Nearest aspect ratio (log scale); among equals the largest that the source covers, else the smallest."""
        ar = math.log(width / height)

        def score(r):
            fits = r[0] <= height and r[1] <= width
            return (round(abs(math.log(r[1] / r[0]) - ar), 6), 0 if fits else 1, -r[0] * r[1] if fits else r[0] * r[1])

        return min(self.resolutions, key=score)

    def choose(self, height: int, width: int, num_frames: int, rng: np.random.Generator) -> Bucket | None:
        """Bucket for a clip: its resolution group, and a K drawn uniformly from those <= num_frames."""
        res = self.resolution_for(height, width)
        options = [b for b in self.buckets if b.resolution == res and b.frames <= num_frames]
        if not options:
            return None
        return options[int(rng.integers(len(options)))]

    def get(self, height: int, width: int, frames: int) -> Bucket:
        return self._by_key[(height, width, frames)]

    @property
    def max_slots(self) -> int:
        return max(b.slots for b in self.buckets)


def pack(items: Iterable[tuple[Bucket, object]], drop_last: bool = False) -> Iterator[tuple[Bucket, list]]:
    """Group (bucket, sample) pairs into full batches per bucket; leftovers at the end unless drop_last."""
    buffers: dict[Bucket, list] = {}
    for bucket, sample in items:
        buf = buffers.setdefault(bucket, [])
        buf.append(sample)
        if len(buf) >= bucket.batch_size:
            yield bucket, buf
            buffers[bucket] = []
    if not drop_last:
        for bucket, buf in buffers.items():
            if buf:
                yield bucket, buf


def packing_efficiency(batches: Iterable[tuple[Bucket, int]], slots_per_step: int) -> float:
    """Real pixel-frames over slots, for batches given as (bucket, number of samples in it)."""
    real = steps = 0
    for bucket, n in batches:
        real += n * bucket.frames * bucket.height * bucket.width
        steps += 1
    return real / (steps * slots_per_step) if steps else 0.0
