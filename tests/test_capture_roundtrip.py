"""Write recordings with known depth, read them back, and check the error bound of each
layout x encoding x codec (README "Decoding accuracy"); plus recordings made by an
independent "outside tool" (plain numpy + PyAV, ReShade's and OBS's conventions)."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

from capture import open_recording
from capture.depth_codec import PACKED_MAX
from capture.manifest import Projection, ReshadeSettings
from capture.reshade import metres_per_linear_step, metres_to_linear
from capture.writer import write_recording

H, W, N = 48, 64, 6
F32 = 2.0**-24  # float32 rounding of a value in [0.5, 1)

# Max |dL| asserted for lossless paths (half a step + dither where there is one + float32 rounding).
BOUND = {
    ("gray8", "lossless"): 1.0 / 255,  # 0.5/255 rounding + 0.5/255 per-channel dither (mean of 3)
    ("gray8", "yuv444_lossless"): 0.5 / 219 + 1.0 / 255,  # Y step of limited range + dither
    ("gray8", "png"): 1.0 / 255,
    ("gray16", "any"): 0.5 / 65535 + F32,
    ("rgb24_packed", "lossless"): 0.5 / PACKED_MAX + F32,
    ("rgb24_packed", "png"): 0.5 / PACKED_MAX + F32,
    ("rgb24_packed", "yuv444_lossless"): 2.0 / 255 + F32,  # 8-bit YUV: up to 2 codes/channel (limited)
    ("float", "any"): F32 / 2,  # float32 rounding of the float64 input only (bit-exact vs float32)
}
# gray8 through lossy H.264 (crf 16): most pixels within rounding + dither, edges blur.
H264_MEDIAN, H264_P99 = 1.5 / 255, 6.0 / 255


def scene(n: int = N, h: int = H, w: int = W, seed: int = 0, sky: bool = True):
    """Known (rgb, L) pairs: smooth ramps, a moving box (edges), a sky block (NaN)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    out = []
    for i in range(n):
        L = 0.05 + 0.5 * xx / w + 0.3 * yy / h
        bx = 8 + 4 * i
        L[20:34, bx:bx + 12] = 0.15
        if sky:
            L[:8, :] = np.nan
        rgb = np.stack([(xx * 3 + 10 * i) % 256, 255 - yy * 4, np.full_like(xx, 60)], -1)
        rgb[20:34, bx:bx + 12] = (200, 40, 40)
        rgb = np.clip(rgb + rng.normal(0, 2, rgb.shape), 0, 255).astype(np.uint8)
        out.append((rgb, L))
    return out


def _combos():
    c = []
    for layout in ("side_by_side", "top_bottom", "separate_files"):
        c += [(layout, "gray8", "h264", None), (layout, "gray8", "lossless", None),
              (layout, "gray8", "yuv444_lossless", None), (layout, "gray16", "lossless", None),
              (layout, "rgb24_packed", "lossless", None), (layout, "rgb24_packed", "yuv444_lossless", None)]
    c += [("separate_files", "float", "h264", f) for f in ("npy", "exr", "tiff")]
    c += [("image_sequence", e, "lossless", None) for e in ("gray8", "gray16", "rgb24_packed")]
    c += [("image_sequence", "float", "lossless", f) for f in ("npy", "exr", "tiff")]
    return c


def _bound(layout, enc, codec):
    if enc in ("gray16", "float"):
        return BOUND[(enc, "any")]
    return BOUND[(enc, "png" if layout == "image_sequence" else codec)]


@pytest.mark.parametrize("layout,enc,codec,ff", _combos())
def test_roundtrip_linear(tmp_path, layout, enc, codec, ff):
    frames = scene()
    pos = {"side_by_side": "right", "top_bottom": "bottom"}.get(layout)  # the less usual side
    mp = write_recording(tmp_path, "r", frames, layout=layout, encoding=enc, codec=codec,
                         rgb_position=pos, float_format=ff or "npy", fps=30)
    with open_recording(mp) as rec:
        assert (len(rec), rec.width, rec.height, rec.depth_unit) == (N, W, H, "reshade_linear")
        got = list(rec)
    assert [f.index for f in got] == list(range(N))
    np.testing.assert_allclose([f.pts for f in got], np.arange(N) / 30, atol=1.5e-3)
    errs, rgb_errs = [], []
    for f, (rgb, L) in zip(got, frames, strict=True):
        assert f.depth.dtype == np.float32 and f.rgb.dtype == np.uint8 and f.rgb.shape == (H, W, 3)
        assert np.isnan(f.depth[:8]).all(), "sky must decode to NaN"
        assert not np.isnan(f.depth[8:]).any(), "valid depth must not be NaN"
        if enc == "float":
            np.testing.assert_array_equal(f.depth[8:], L[8:].astype(np.float32))  # exact
        errs.append(np.abs(f.depth[8:].astype(np.float64) - L[8:]).ravel())
        rgb_errs.append(np.abs(f.rgb.astype(int) - rgb.astype(int)).ravel())
    e = np.concatenate(errs)
    if codec == "h264" and enc == "gray8":
        assert np.median(e) <= H264_MEDIAN and np.percentile(e, 99) <= H264_P99, (np.median(e) * 255, np.percentile(e, 99) * 255)
    else:
        assert e.max() <= _bound(layout, enc, codec) + 1e-12, e.max()
    re = np.concatenate(rgb_errs)
    if codec == "h264" or (codec == "yuv444_lossless" and layout != "separate_files"):
        # YUV 4:2:0 at crf 16 of noisy content, bt709 decoding: ~2.6 codes mean error here;
        # decoding with swscale's default (bt601) gives ~7.2.
        assert re.mean() <= 4.0, re.mean()
    elif layout != "separate_files" or codec == "lossless":
        assert re.max() == 0


def test_packed_yuv444_full_range_bound(tmp_path):
    frames = scene()
    mp = write_recording(tmp_path, "r", frames, layout="side_by_side", encoding="rgb24_packed",
                         codec="yuv444_lossless", color_range="full")
    e = np.concatenate([np.abs(f.depth[8:] - L[8:]).ravel() for f, (_, L) in zip(open_recording(mp), frames, strict=True)])
    assert e.max() <= 1.0 / 255 + F32  # full range: at most 1 code per channel
    assert e.max() > 0.5 / PACKED_MAX  # ... and it really is lossy, unlike lossless RGB


PROJ = [Projection(type="infinite_reversed", near=0.1), Projection(type="finite", near=0.1, far=400.0)]


@pytest.mark.parametrize("proj", PROJ, ids=lambda p: p.type)
@pytest.mark.parametrize("layout,enc,codec", [
    ("side_by_side", "gray16", "lossless"), ("top_bottom", "rgb24_packed", "lossless"),
    ("separate_files", "float", "h264"), ("side_by_side", "gray8", "h264"),
])
@pytest.mark.parametrize("upside_down", [False, True])
def test_roundtrip_metres(tmp_path, proj, layout, enc, codec, upside_down):
    rs = ReshadeSettings(reversed=True, far_plane=500.0, upside_down=upside_down)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    frames, zs = [], []
    for i in range(N):
        z = 0.5 + 40.0 * (yy / H) ** 2 + 0.05 * xx + 0.2 * i  # metres, increasing downwards
        z[:6] = np.inf  # sky
        rgb = np.full((H, W, 3), 100, np.uint8)
        frames.append((rgb, metres_to_linear(z, proj, rs)))  # what the simulator stores
        zs.append(z)
    mp = write_recording(tmp_path, "m", frames, layout=layout, encoding=enc, codec=codec,
                         reshade=rs, projection=proj)
    rec = open_recording(mp)
    assert rec.depth_unit == "metres"
    tol_L = rec.tolerance
    rel = []
    for f, z in zip(rec, zs, strict=True):
        assert np.isnan(f.depth[:6]).all()  # sky stays at the top: orientation restored
        assert not np.isnan(f.depth[6:]).any()
        rs_up = rs.model_copy(update={"upside_down": False})  # bounds per pixel, in RGB orientation
        L_true = metres_to_linear(z[6:], proj, rs_up)
        err = np.abs(f.depth[6:] - z[6:])
        if enc == "gray8":  # lossy: the bound of the median pixel
            bound = metres_per_linear_step(L_true, proj, rs_up, 2 * tol_L)
            rel.append(err / bound)
        else:
            step = {"gray16": 1 / 65535, "rgb24_packed": 1 / PACKED_MAX, "float": 2 * F32}[enc]
            bound = metres_per_linear_step(L_true, proj, rs_up, step + 2 * F32) + 4 * F32 * z[6:]
            assert (err <= bound).all(), float((err / bound).max())
    if rel:
        assert np.median(np.concatenate([r.ravel() for r in rel])) <= 1.0


def test_upside_down_without_projection_flips(tmp_path):
    frames = scene(sky=False)
    rs = ReshadeSettings(upside_down=True)
    mp = write_recording(tmp_path, "u", frames, layout="side_by_side", encoding="gray16", codec="lossless", reshade=rs)
    for f, (_, L) in zip(open_recording(mp), frames, strict=True):
        assert np.abs(f.depth - L[::-1]).max() <= BOUND[("gray16", "any")]


def test_hud_mask_and_read_range_seek(tmp_path):
    frames = scene(n=12)
    hud = np.zeros((H, W), bool)
    hud[-6:, -10:] = True
    mp = write_recording(tmp_path, "h", frames, layout="side_by_side", encoding="gray8", codec="h264",
                         fps=2.0, hud_mask=hud)  # fps 2 -> a keyframe every 4 frames
    rec = open_recording(mp)
    every = list(rec)
    assert all(np.isnan(f.depth[hud]).all() and not np.isnan(f.depth[8:][~hud[8:]]).any() for f in every)
    part = rec.read(5, 9)
    assert [f.index for f in part] == [5, 6, 7, 8]
    for a, b in zip(part, every[5:9], strict=True):
        np.testing.assert_array_equal(a.rgb, b.rgb)
        np.testing.assert_array_equal(a.depth, b.depth)
        assert a.pts == b.pts
    assert rec.read(11, 12)[0].index == 11
    with pytest.raises(IndexError):
        rec.read(10, 13)


def test_duplicates_and_cfr(tmp_path):
    frames = scene(n=10)
    frames[4] = frames[3]  # the recorder repeated frame 3
    frames[8] = frames[7]
    mp = write_recording(tmp_path, "d", frames, layout="side_by_side", encoding="gray8", codec="h264")
    rec = open_recording(mp)
    assert rec.warnings == []
    assert rec.duplicated_frames == [4, 8]
    # Timestamps that wobble by up to 40% of a frame: not constant frame rate, frames named.
    mp2 = write_recording(tmp_path, "j", scene(n=10), layout="side_by_side", encoding="gray8",
                          codec="lossless", pts_jitter=0.4 / 30, seed=3)
    rec2 = open_recording(mp2)
    assert any("not constant frame rate" in w and "frame(s)" in w for w in rec2.warnings), rec2.warnings
    assert rec2.duplicated_frames == []


def test_separate_files_drift_reported(tmp_path):
    mp = write_recording(tmp_path, "s", scene(), layout="separate_files", encoding="gray16", depth_pts_offset=0.02)
    rec = open_recording(mp)
    drift = [w for w in rec.warnings if "drift" in w]
    assert drift and "+20.0 ms" in drift[0] and "off by one" in drift[0]
    assert len(list(rec)) == N  # still readable, paired by index
    mp_ok = write_recording(tmp_path, "t", scene(), layout="separate_files", encoding="gray16")
    assert open_recording(mp_ok).warnings == []


# --- recordings made without our writer ----------------------------------------------------------


def _get_linearized_depth(buffer: np.ndarray, reversed_: bool, far_plane: float, multiplier: float = 1.0):
    """ReShade.fxh GetLinearizedDepth (no log, not upside down), transcribed independently."""
    depth = buffer * multiplier
    if reversed_:
        depth = 1.0 - depth
    return depth / (far_plane - depth * (far_plane - 1.0))


def test_outside_tool_obs_h264_side_by_side(tmp_path):
    """OBS-like mp4: H.264 yuv420p bt709 limited made by swscale; depth on the left, no dither."""
    near, far_plane, h, w, n = 0.1, 1000.0, 48, 64, 6
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    z = 0.3 + 30.0 * (yy / h) + 0.1 * xx  # metres
    buf = near / z  # infinite reversed Z, what the game writes
    L = _get_linearized_depth(buf, True, far_plane)
    grey = np.repeat(np.rint(L * 255)[..., None], 3, axis=2).astype(np.uint8)
    rgb = np.stack([xx * 4, yy * 5, np.full_like(xx, 128)], -1).astype(np.uint8)
    path = tmp_path / "obs.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 2 * w, h, "yuv420p"
        s.options = {"crf": "12", "g": "3"}
        s.codec_context.color_range, s.codec_context.colorspace = 1, 1
        for i in range(n):
            f = av.VideoFrame.from_ndarray(np.concatenate([grey, rgb], axis=1), format="rgb24")
            f = f.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    manifest = {"id": "obs", "layout": "side_by_side", "rgb_position": "right", "media": {"video": "obs.mp4"},
                "fps": 30, "color_range": "limited", "color_matrix": "bt709",
                "depth": {"encoding": "gray8", "reshade": {"reversed": True, "far_plane": far_plane},
                          "projection": {"type": "infinite_reversed", "near": near}}}
    (tmp_path / "obs.json").write_text(json.dumps(manifest))
    rec = open_recording(tmp_path / "obs.json")
    assert (len(rec), rec.width, rec.height, rec.depth_unit) == (n, w, h, "metres")
    frames = rec.read(2, 6)  # seeks (keyframe every 3 frames)
    step_m = metres_per_linear_step(L, Projection(type="infinite_reversed", near=near),
                                    ReshadeSettings(far_plane=far_plane), 1 / 219)
    for f in frames:
        rel = np.abs(f.depth - z) / step_m
        assert np.median(rel) <= 1.0 and np.percentile(rel, 99) <= 3.0
        assert np.abs(f.rgb.astype(int) - rgb).mean() <= 2.5


def test_outside_tool_packed_lossless_top_bottom(tmp_path):
    """24-bit packed depth in lossless RGB H.264 (libx264rgb), depth on top, 16-bit-accurate source."""
    h, w, n = 32, 48, 4
    rng = np.random.default_rng(5)
    L = rng.uniform(0, 0.999, (h, w))
    v = np.rint(L * (2**24 - 1)).astype(np.int64)
    packed = np.stack([v // 65536, (v // 256) % 256, v % 256], -1).astype(np.uint8)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    path = tmp_path / "p.mkv"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264rgb", rate=25)
        s.width, s.height, s.pix_fmt = w, 2 * h, "rgb24"
        s.options = {"qp": "0"}
        for i in range(n):
            f = av.VideoFrame.from_ndarray(np.concatenate([packed, rgb], axis=0), format="rgb24")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    (tmp_path / "p.yaml").write_text(
        "id: p\nlayout: top_bottom\nrgb_position: bottom\nmedia: {video: p.mkv}\nfps: 25\n"
        "depth: {encoding: rgb24_packed}\n")
    for f in open_recording(tmp_path / "p.yaml"):
        np.testing.assert_array_equal(f.rgb, rgb)
        assert np.abs(f.depth - L).max() <= 0.5 / PACKED_MAX + F32


def test_separate_files_h264_reproducible(tmp_path):
    """The same frames written twice give the same videos: two encoders working side by side in
    one process made x264's macroblock tree differ from run to run in the first GOP."""
    frames = scene(n=24, h=180, w=320, seed=3)

    def decoded(k: int) -> list[np.ndarray]:
        out = tmp_path / f"w{k}"
        write_recording(out, "rep", iter(frames), fps=30, layout="separate_files", encoding="gray16", codec="h264")
        with av.open(str(out / "rep_rgb.mkv")) as c:
            return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]

    first = decoded(0)
    for k in (1, 2):
        again = decoded(k)
        assert len(again) == len(first) == 24
        assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
