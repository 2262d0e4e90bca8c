"""How RGB and depth share one frame (side_by_side / top_bottom), both ways."""

from __future__ import annotations

import numpy as np


def compose(rgb: np.ndarray, depth_img: np.ndarray, layout: str, rgb_first: bool) -> np.ndarray:
    """One frame holding both images: left|right for side_by_side, top/bottom for top_bottom."""
    axis = 1 if layout == "side_by_side" else 0
    parts = (rgb, depth_img) if rgb_first else (depth_img, rgb)
    return np.concatenate(parts, axis=axis)


def split_axis(layout: str) -> int:
    return 1 if layout == "side_by_side" else 0


def halves(shape_hw: tuple[int, int], layout: str, rgb_first: bool) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """(rgb region, depth region) as (row slice, column slice) of a composed frame of size HxW."""
    h, w = shape_hw
    if layout == "side_by_side":
        a, b = (slice(0, h), slice(0, w // 2)), (slice(0, h), slice(w // 2, w))
    else:
        a, b = (slice(0, h // 2), slice(0, w)), (slice(h // 2, h), slice(0, w))
    return (a, b) if rgb_first else (b, a)


def scale_region(region: tuple[slice, slice], sy: int, sx: int) -> tuple[slice, slice]:
    """The same region on a plane subsampled by (sy, sx) (chroma of yuv420p: 2, 2)."""
    r, c = region
    return slice(r.start // sy, r.stop // sy), slice(c.start // sx, c.stop // sx)
