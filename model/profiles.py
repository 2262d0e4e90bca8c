"""Temporal profile pictures: one image row (or column) of every frame stacked over time.

A flicker-free prediction gives smooth streaks like the ground truth; flicker shows up as
horizontal stripes (DepthCrafter §4.2, VDA §4.2). Picture: RGB | ground truth | prediction, depth
panels coloured with one shared range (from the ground truth's valid values) so they compare.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def temporal_profile(video: np.ndarray, axis: str = "row", index: int | None = None) -> np.ndarray:
    """(T,H,W[,C]) -> (T,W[,C]) for axis="row" (row `index`, default middle) or (T,H[,C]) for "column"."""
    v = np.asarray(video)
    if axis == "row":
        i = v.shape[1] // 2 if index is None else index
        if not 0 <= i < v.shape[1]:
            raise ValueError(f"row {i} outside 0..{v.shape[1] - 1}")
        return v[:, i]
    if axis == "column":
        i = v.shape[2] // 2 if index is None else index
        if not 0 <= i < v.shape[2]:
            raise ValueError(f"column {i} outside 0..{v.shape[2] - 1}")
        return v[:, :, i]
    raise ValueError(f"axis must be 'row' or 'column', got {axis!r}")


def save_profile_png(
    path: str | Path,
    frames: np.ndarray,
    gt: np.ndarray,
    pred: np.ndarray,
    axis: str = "row",
    index: int | None = None,
    title: str = "",
) -> Path:
    """Write RGB | GT | prediction temporal profiles (time runs downwards) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rgb_p = temporal_profile(frames, axis, index)
    gt_p = temporal_profile(gt, axis, index).astype(np.float64)
    pr_p = temporal_profile(pred, axis, index).astype(np.float64)
    finite = gt_p[np.isfinite(gt_p)]
    lo, hi = (np.percentile(finite, [2, 98]) if finite.size else (np.nanmin(pr_p), np.nanmax(pr_p)))
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.2), dpi=100)
    axes[0].imshow(rgb_p, aspect="auto", interpolation="nearest")
    axes[1].imshow(gt_p, aspect="auto", cmap="turbo", vmin=lo, vmax=hi, interpolation="nearest")
    im = axes[2].imshow(pr_p, aspect="auto", cmap="turbo", vmin=lo, vmax=hi, interpolation="nearest")
    for a, t in zip(axes, ("RGB", "ground truth", "prediction (aligned)"), strict=True):
        a.set_title(t, fontsize=9)
        a.set_xlabel("x" if axis == "row" else "y")
    axes[0].set_ylabel("frame")
    fig.colorbar(im, ax=axes, fraction=0.02)
    if title:
        fig.suptitle(title, fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
