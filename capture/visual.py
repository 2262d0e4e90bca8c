"""Pictures of depth for people: colourised depth maps and labelled contact sheets."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def colourise_depth(depth: np.ndarray, vmin: float | None = None, vmax: float | None = None,
                    cmap: str = "turbo", invert: bool = True) -> np.ndarray:
    """HxW depth -> uint8 HxWx3. Range: [vmin, vmax], by default the 2nd..98th percentile of the
    valid pixels; `invert` puts near in warm colours. NaN/inf -> black."""
    from matplotlib import colormaps

    d = np.asarray(depth, dtype=np.float64)
    valid = np.isfinite(d)
    out = np.zeros(d.shape + (3,), np.uint8)
    if not valid.any():
        return out
    lo, hi = np.percentile(d[valid], [2, 98]) if vmin is None or vmax is None else (vmin, vmax)
    lo = float(lo if vmin is None else vmin)
    hi = float(hi if vmax is None else vmax)
    if hi <= lo:
        hi = lo + 1e-6
    t = np.clip((d - lo) / (hi - lo), 0.0, 1.0)
    if invert:
        t = 1.0 - t
    rgb = colormaps[cmap](np.where(valid, t, 0.0))[..., :3]
    out[valid] = np.rint(rgb[valid] * 255).astype(np.uint8)
    return out


def _label(img: np.ndarray, text: str) -> np.ndarray:
    import cv2

    img = np.ascontiguousarray(img)
    scale = max(0.35, img.shape[0] / 400)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(img, (0, 0), (min(tw + 4, img.shape[1]), th + base + 4), (0, 0, 0), -1)
    cv2.putText(img, text, (2, th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def contact_sheet(rows: list[list[np.ndarray]], labels: list[list[str]] | None = None, pad: int = 2) -> np.ndarray:
    """Grid of uint8 images (HxWx3 or HxW; each row's cells resized to the first cell's height)."""
    import cv2

    if not rows or not any(rows):
        raise ValueError("contact_sheet needs at least one image")
    out_rows = []
    for r, row in enumerate(rows):
        h = row[0].shape[0]
        cells = []
        for c, img in enumerate(row):
            img = np.asarray(img)
            if img.ndim == 2:
                img = np.repeat(img[..., None], 3, axis=2)
            if img.dtype != np.uint8:
                img = np.clip(img, 0, 255).astype(np.uint8)
            if img.shape[0] != h:
                img = cv2.resize(img, (max(1, round(img.shape[1] * h / img.shape[0])), h), interpolation=cv2.INTER_AREA)
            if labels and r < len(labels) and c < len(labels[r]) and labels[r][c]:
                img = _label(img.copy(), labels[r][c])
            cells.append(img)
            cells.append(np.zeros((h, pad, 3), np.uint8))
        out_rows.append(np.concatenate(cells[:-1], axis=1))
    width = max(r.shape[1] for r in out_rows)
    padded = []
    for r in out_rows:
        padded.append(np.pad(r, ((0, pad), (0, width - r.shape[1]), (0, 0))))
    return np.concatenate(padded, axis=0)[:-pad] if pad else np.concatenate(padded, axis=0)


def save_png(path: str | Path, img: np.ndarray) -> Path:
    """Write an RGB (or grey) uint8 image as PNG; creates the folder."""
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.asarray(img)
    if img.ndim == 3:
        img = img[..., ::-1]
    if not cv2.imwrite(str(path), np.ascontiguousarray(img)):
        raise OSError(f"{path}: could not write PNG")
    return path
