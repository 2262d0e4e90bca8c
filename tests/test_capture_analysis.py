"""The analysis reader: frames at analysis width straight from the decoded planes must be the
full-resolution frames downscaled: RGB area-averaged (within a small tolerance), depth sampled
(each analysis depth pixel is exactly the full-resolution depth pixel on a fixed grid near it)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from capture import open_recording
from capture.manifest import Projection, ReshadeSettings
from capture.reshade import metres_to_linear
from capture.writer import write_recording

H, W, N = 48, 64, 4
AW = 24  # analysis width: 64 -> 24, a 2.67x reduction (one box halving + a bilinear step)


def scene(n=N, sky=True):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    out = []
    for i in range(n):
        L = 0.05 + 0.5 * xx / W + 0.3 * yy / H
        L[20:34, 8 + 4 * i:20 + 4 * i] = 0.15  # a near box: depth edges next to far ground
        if sky:
            L[:8] = np.nan
        rgb = np.stack([(xx * 3 + 10 * i) % 256, 255 - yy * 4, np.full_like(xx, 60)], -1)
        rgb[20:34, 8 + 4 * i:20 + 4 * i] = (200, 40, 40)
        out.append((np.clip(rgb + rng.normal(0, 2, rgb.shape), 0, 255).astype(np.uint8), L))
    return out


def _combos():
    c = [(lay, "gray8", "h264", "npy") for lay in ("side_by_side", "top_bottom", "separate_files")]
    c += [(lay, "gray16", "lossless", "npy") for lay in ("side_by_side", "top_bottom", "separate_files")]
    c += [(lay, "rgb24_packed", "lossless", "npy") for lay in ("side_by_side", "top_bottom", "separate_files")]
    c += [("side_by_side", "gray8", "lossless", "npy"), ("top_bottom", "rgb24_packed", "yuv444_lossless", "npy")]
    c += [("separate_files", "float", "h264", f) for f in ("npy", "exr")]
    c += [("image_sequence", e, "lossless", "npy") for e in ("gray8", "gray16", "rgb24_packed", "float")]
    return c


def _check(rec, width):
    full = list(rec.stream())
    small = list(rec.stream(analysis_width=width))
    w, h = rec.analysis_size(width)
    rows, cols = rec.analysis_grid(width)
    # The grid: each sampled source pixel is the one nearest the analysis pixel's centre.
    assert np.abs((rows + 0.5) - (np.arange(h) + 0.5) * rec.height / h).max() <= 0.5 * rec.height / h + 0.5
    assert np.abs((cols + 0.5) - (np.arange(w) + 0.5) * rec.width / w).max() <= 0.5 * rec.width / w + 0.5
    errs = []
    for a, b in zip(full, small, strict=True):
        assert (a.index, a.pts) == (b.index, b.pts)
        assert b.rgb.shape == (h, w, 3) and b.rgb.dtype == np.uint8
        assert b.depth.shape == (h, w) and b.depth.dtype == np.float32
        # Depth: the same decoding (LUT, projection, sky, HUD), sampled, never mixed.
        np.testing.assert_array_equal(b.depth, a.depth[rows][:, cols])
        ref = cv2.resize(a.rgb, (w, h), interpolation=cv2.INTER_AREA)
        errs.append(np.abs(ref.astype(int) - b.rgb.astype(int)).ravel())
    e = np.concatenate(errs)
    # RGB: area averages of the same colours (converted after averaging, or before: 1-2 codes)
    # apart from the edges of the box, where the bilinear last step weighs pixels a little differently.
    assert e.mean() <= 1.5 and np.percentile(e, 99) <= 6, (e.mean(), np.percentile(e, 99))
    return full, small


@pytest.mark.parametrize("layout,enc,codec,ff", _combos())
def test_analysis_frames_are_full_frames_downscaled(tmp_path, layout, enc, codec, ff):
    pos = {"side_by_side": "right", "top_bottom": "bottom"}.get(layout)
    mp = write_recording(tmp_path, "a", scene(), layout=layout, encoding=enc, codec=codec, rgb_position=pos,
                         float_format=ff)
    full, small = _check(open_recording(mp), AW)
    for b in small:  # sky stays NaN and valid depth valid, at analysis size too
        assert np.isnan(b.depth[:3]).all() and not np.isnan(b.depth[4:]).any()


def test_analysis_metres_upside_down_and_hud(tmp_path):
    proj = Projection(type="infinite_reversed", near=0.1)
    rs = ReshadeSettings(far_plane=500.0, upside_down=True)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    z = 0.5 + 40.0 * (yy / H) ** 2 + 0.05 * xx
    z[:6] = np.inf
    frames = [(np.full((H, W, 3), 30 * i, np.uint8), metres_to_linear(z, proj, rs)) for i in range(N)]
    hud = np.zeros((H, W), bool)
    hud[-6:, -20:] = True
    mp = write_recording(tmp_path, "m", frames, layout="side_by_side", encoding="gray16", reshade=rs,
                         projection=proj, hud_mask=hud)
    rec = open_recording(mp)
    full, small = _check(rec, AW)
    sh = rec.analysis_hud_mask(AW)
    assert sh.any() and all(np.isnan(b.depth[sh]).all() for b in small)
    assert all(np.isnan(b.depth[0]).all() and np.isfinite(b.depth[-1][~sh[-1]]).all() for b in small)  # sky on top


def test_analysis_width_at_or_above_the_frame_is_full_resolution(tmp_path):
    mp = write_recording(tmp_path, "f", scene(), layout="side_by_side", encoding="gray16", codec="lossless")
    rec = open_recording(mp)
    a, b = list(rec.stream()), list(rec.stream(analysis_width=10 * W))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.rgb, y.rgb)
        np.testing.assert_array_equal(x.depth, y.depth)
    assert rec.analysis_size(10 * W) == (W, H)


def test_analysis_duplicates_found_as_at_full_resolution(tmp_path):
    frames = scene(n=8)
    frames[4] = frames[3]
    mp = write_recording(tmp_path, "d", frames, layout="side_by_side", encoding="gray8", codec="h264")
    rec = open_recording(mp)
    list(rec.stream(analysis_width=AW))
    assert rec.duplicated_frames == [4]
