"""The training batch contract, and a small in-memory source of simulated clips for tests/benchmarks.

Batch (what dataset's loader yields, and what `train` accepts from any iterable):
    rgb            float32 (B, K, 3, H, W) in [-1, 1]
    depth          float32 (B, K, H, W), invalid pixels 0
    valid          bool    (B, K, H, W)
    frame_indices  int64   (B, K) original indices of the K frames within their clip
    clip_id        list[str] of length B
Batches are bucketed: same H, W, K within a batch.

`SyntheticClipSource` renders moving textured planes and boxes with exact depth in numpy (no
import of `capture`: model depends only on the loader interface). RGB carries a depth cue
(atmospheric fog grows with depth), so a model can learn depth from it, not only memorise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

BATCH_KEYS = ("rgb", "depth", "valid", "frame_indices", "clip_id")


def validate_batch(batch: dict[str, Any], where: str = "batch") -> tuple[int, int, int, int]:
    """Check the contract; returns (B, K, H, W). Raises InputError naming `where` and the problem."""
    from common.errors import InputError

    missing = [k for k in BATCH_KEYS if k not in batch]
    if missing:
        raise InputError(where, f"batch lacks keys {missing}")
    rgb, depth, valid, idx = batch["rgb"], batch["depth"], batch["valid"], batch["frame_indices"]
    if rgb.ndim != 5 or rgb.shape[2] != 3:
        raise InputError(where, f"rgb must be (B,K,3,H,W), got {tuple(rgb.shape)}")
    b, k, _, h, w = rgb.shape
    if tuple(depth.shape) != (b, k, h, w) or tuple(valid.shape) != (b, k, h, w):
        raise InputError(where, f"depth/valid must be {(b, k, h, w)}, got {tuple(depth.shape)}/{tuple(valid.shape)}")
    if tuple(idx.shape) != (b, k):
        raise InputError(where, f"frame_indices must be {(b, k)}, got {tuple(idx.shape)}")
    if valid.dtype != torch.bool:
        raise InputError(where, f"valid must be bool, got {valid.dtype}")
    if len(batch["clip_id"]) != b:
        raise InputError(where, f"clip_id has {len(batch['clip_id'])} entries for batch size {b}")
    return b, k, h, w


def _texture(rng: np.random.Generator, n: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    freq = rng.uniform(0.05, 0.6, size=(n, 2)) * rng.choice([-1, 1], size=(n, 2))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 3))
    amp = rng.uniform(0.3, 1.0, size=(n, 3)) / n
    return freq, phase, amp


def _eval_texture(tex, u: np.ndarray, v: np.ndarray, base: np.ndarray) -> np.ndarray:
    freq, phase, amp = tex
    out = np.broadcast_to(base, u.shape + (3,)).astype(np.float32).copy()
    for i in range(freq.shape[0]):
        arg = freq[i, 0] * u + freq[i, 1] * v
        out += amp[i] * np.sin(arg[..., None] + phase[i])
    return out


def _bounce(p: float, span: float) -> float:
    """Position moving back and forth inside [0, span]."""
    p = p % (2 * span)
    return p if p <= span else 2 * span - p


def render_clip(seed: int, frames: int, height: int, width: int, sky: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(rgb uint8 (T,H,W,3), depth float32 (T,H,W) with NaN where invalid) of a moving scene."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    # ground/wall plane: depth affine in image coordinates, drifting with the camera
    d0 = rng.uniform(6, 12)
    gy, gx = rng.uniform(-6, -2), rng.uniform(-3, 3)
    # camera moves back and forth (bounded for any clip length): amplitude, period in frames
    amp, period = rng.uniform(0.5, 3.0), rng.uniform(40, 160)
    pan = rng.uniform(-0.8, 0.8, size=2)  # texture motion, px/frame
    bg_tex, bg_col = _texture(rng), rng.uniform(0.3, 0.7, size=3)
    boxes = []
    for _ in range(rng.integers(1, 3)):
        bw, bh = rng.uniform(0.2, 0.4) * width, rng.uniform(0.2, 0.4) * height
        boxes.append(dict(
            x=rng.uniform(0, width - bw), y=rng.uniform(0, height - bh), w=bw, h=bh,
            vx=rng.uniform(-1.2, 1.2), vy=rng.uniform(-0.8, 0.8),
            d=rng.uniform(1.5, 4.5), vd=rng.uniform(0.3, 1.0), pd=rng.uniform(30, 120),
            tex=_texture(rng), col=rng.uniform(0.2, 0.8, size=3),
        ))
    sky_rows = int(rng.uniform(0.15, 0.3) * height) if sky else 0
    fog_col = np.array([0.75, 0.8, 0.85], np.float32)
    rgb = np.empty((frames, height, width, 3), np.uint8)
    depth = np.empty((frames, height, width), np.float32)
    for t in range(frames):
        d = d0 + amp * np.sin(2 * np.pi * t / period) + gy * (yy / height - 0.5) + gx * (xx / width - 0.5)
        d = np.maximum(d, 0.5)
        col = _eval_texture(bg_tex, xx + pan[0] * t, yy + pan[1] * t, bg_col)
        for b in boxes:
            x = _bounce(b["x"] + b["vx"] * t, width - b["w"])
            y = _bounce(b["y"] + b["vy"] * t, height - b["h"])
            m = (xx >= x) & (xx < x + b["w"]) & (yy >= y) & (yy < y + b["h"])
            bd = b["d"] + b["vd"] * np.sin(2 * np.pi * t / b["pd"])  # bounded for long clips
            d = np.where(m, bd, d)
            bc = _eval_texture(b["tex"], xx - x, yy - y, b["col"])
            col = np.where(m[..., None], bc, col)
        fog = 1.0 - np.exp(-d / 10.0)[..., None]
        col = col * (1 - fog) + fog_col * fog
        if sky_rows:
            d[:sky_rows] = np.nan
            col[:sky_rows] = fog_col
        rgb[t] = np.clip(col * 255.0, 0, 255).astype(np.uint8)
        depth[t] = d
    return rgb, depth


def frames_to_batch(rgb: np.ndarray, depth: np.ndarray, indices: np.ndarray, clip_id: str) -> dict[str, Any]:
    """One clip's selected frames -> a batch of size 1 under the contract."""
    valid = np.isfinite(depth)
    return {
        "rgb": torch.from_numpy(rgb.astype(np.float32) / 127.5 - 1.0).permute(0, 3, 1, 2)[None].contiguous(),
        "depth": torch.from_numpy(np.where(valid, depth, 0.0).astype(np.float32))[None],
        "valid": torch.from_numpy(valid)[None],
        "frame_indices": torch.from_numpy(np.asarray(indices, np.int64))[None],
        "clip_id": [clip_id],
    }


def collate(batches: list[dict[str, Any]]) -> dict[str, Any]:
    out = {k: torch.cat([b[k] for b in batches]) for k in ("rgb", "depth", "valid", "frame_indices")}
    out["clip_id"] = [c for b in batches for c in b["clip_id"]]
    return out


class SyntheticClipSource:
    """Deterministic infinite (or `length`-bounded) stream of bucketed batches of simulated clips.

    Each batch n draws `batch_size` clips out of `num_clips` and, with frame dropout (DAV §3.2),
    K sorted frames out of `clip_len` keeping their original indices; without it a random
    contiguous window. `state_dict()`/`load_state_dict()` carry the position for exact resume.
    """

    def __init__(self, num_clips: int = 8, clip_len: int = 16, k: int = 4, height: int = 32, width: int = 32,
                 batch_size: int = 1, seed: int = 0, frame_dropout: bool = True, sky_prob: float = 0.3,
                 length: int | None = None):
        self.num_clips, self.clip_len, self.k = num_clips, clip_len, k
        self.height, self.width, self.batch_size = height, width, batch_size
        self.seed, self.frame_dropout, self.sky_prob, self.length = seed, frame_dropout, sky_prob, length
        self.position = 0
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def clip(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if i not in self._cache:
            rng = np.random.default_rng([self.seed, i, 7])
            self._cache[i] = render_clip(self.seed * 100_003 + i, self.clip_len, self.height, self.width,
                                         sky=bool(rng.random() < self.sky_prob))
        return self._cache[i]

    def clip_id(self, i: int) -> str:
        return f"synthetic-{self.seed}-{i}"

    def batch(self, n: int) -> dict[str, Any]:
        rng = np.random.default_rng([self.seed, n])
        parts = []
        for c in rng.integers(0, self.num_clips, size=self.batch_size):
            rgb, depth = self.clip(int(c))
            if self.frame_dropout:
                idx = np.sort(rng.choice(self.clip_len, size=self.k, replace=False))
            else:
                s = int(rng.integers(0, self.clip_len - self.k + 1))
                idx = np.arange(s, s + self.k)
            parts.append(frames_to_batch(rgb[idx], depth[idx], idx, self.clip_id(int(c))))
        return collate(parts)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while self.length is None or self.position < self.length:
            n = self.position
            self.position += 1
            yield self.batch(n)

    def state_dict(self) -> dict[str, int]:
        return {"position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.position = int(state["position"])
