"""Bad recordings: each gets a CaptureError/ManifestError naming the file and the problem."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

from capture import CaptureError, InputError, ManifestError, open_recording
from capture.writer import write_recording

H, W = 32, 48


def frames(n=6, seed=0):
    rng = np.random.default_rng(seed)
    for i in range(n):
        L = np.clip(0.2 + 0.5 * rng.random((H, W)) * 0.1 + 0.01 * i, 0, 1)
        yield rng.integers(0, 256, (H, W, 3), dtype=np.uint8), L


def _raises(mp, *words, exc=CaptureError, read=False):
    with pytest.raises(exc) as ei:
        rec = open_recording(mp)
        if read:
            list(rec)
    msg = str(ei.value)
    for w in words:
        assert w.lower() in msg.lower(), msg
    return msg


def test_missing_media(tmp_path):
    mp = write_recording(tmp_path, "a", frames(), layout="side_by_side")
    (tmp_path / "a.mkv").unlink()
    _raises(mp, "a.mkv", "not found")
    mp = write_recording(tmp_path, "b", frames(), layout="image_sequence", encoding="gray16")
    (tmp_path / "b_depth" / "000003.png").unlink()
    _raises(mp, "000003.png", "missing")


def test_truncated_and_corrupt_video(tmp_path):
    mp = write_recording(tmp_path, "t", frames(12), layout="side_by_side", codec="lossless")
    video = tmp_path / "t.mkv"
    data = video.read_bytes()
    video.write_bytes(data[: len(data) * 2 // 3])
    # Either the index sees fewer frames (and says so on read) or a frame fails to decode.
    try:
        rec = open_recording(mp)
    except CaptureError as e:
        assert "t.mkv" in str(e)
    else:
        assert len(rec) < 12
        got = []
        try:
            got = list(rec)
        except CaptureError as e:
            assert "t.mkv" in str(e) and "frame" in str(e)
        assert len(got) <= len(rec)
    video.write_bytes(b"\x1aE\xdf\xa3" + bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8)))
    _raises(mp, "t.mkv", "corrupt")
    video.write_bytes(b"")
    _raises(mp, "t.mkv")


def _last_packet(video):
    with av.open(str(video)) as c:
        return [p for p in c.demux(c.streams.video[0]) if p.size][-1]


def test_cut_inside_last_frame_is_reported(tmp_path):
    """Matroska drops a cut-off block: the frames present are read, and the cut is a warning."""
    mp = write_recording(tmp_path, "c", frames(6), layout="side_by_side", encoding="gray16")  # FFV1
    video = tmp_path / "c.mkv"
    last = _last_packet(video)
    video.write_bytes(video.read_bytes()[: last.pos + last.size // 3])
    rec = open_recording(mp)
    assert len(rec) == 5 and len(list(rec)) == 5
    assert any("c.mkv" in w and "truncated" in w for w in rec.warnings), rec.warnings


def test_corrupt_frame_names_the_frame(tmp_path):
    mp = write_recording(tmp_path, "k", frames(4), layout="side_by_side", encoding="gray16")  # FFV1
    video = tmp_path / "k.mkv"
    last = _last_packet(video)
    b = bytearray(video.read_bytes())
    b[last.pos + 20: last.pos + last.size - 5] = bytes(np.random.default_rng(1).integers(0, 256, last.size - 25, dtype=np.uint8))
    video.write_bytes(bytes(b))
    rec = open_recording(mp)
    assert len(rec.read(0, 2)) == 2  # the frames before it are fine
    with pytest.raises(CaptureError) as ei:
        list(rec)
    assert "k.mkv" in str(ei.value) and "frame 3" in str(ei.value) and "decoded" in str(ei.value)


def test_mismatched_frame_counts(tmp_path):
    mp = write_recording(tmp_path, "s", frames(6), layout="separate_files", encoding="gray16")
    write_recording(tmp_path, "short", frames(4), layout="separate_files", encoding="gray16")
    (tmp_path / "short_depth.mkv").replace(tmp_path / "s_depth.mkv")
    msg = _raises(mp, "s_rgb.mkv", "s_depth.mkv", "mismatched frame counts")
    assert "6" in msg and "4" in msg
    mp2 = write_recording(tmp_path, "f", frames(5), layout="separate_files", encoding="float")
    (tmp_path / "f_depth" / "000004.npy").unlink()
    _raises(mp2, "f_rgb.mkv", "5", "4", "mismatched")


def _video(path, w, h, n=3):
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264rgb", rate=30)
        s.width, s.height, s.pix_fmt = w, h, "rgb24"
        s.options = {"qp": "0"}
        for i in range(n):
            f = av.VideoFrame.from_ndarray(np.zeros((h, w, 3), np.uint8), format="rgb24")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _manifest(path, **kw):
    m = {"id": "x", "layout": "side_by_side", "media": {"video": "odd.mkv"}, "fps": 30,
         "depth": {"encoding": "gray8"}}
    m.update(kw)
    path.write_text(json.dumps(m))
    return path


def test_odd_split(tmp_path):
    _video(tmp_path / "odd.mkv", 49, 32)
    _raises(_manifest(tmp_path / "m.json"), "odd.mkv", "odd width 49")
    _video(tmp_path / "odd.mkv", 48, 33)
    _raises(_manifest(tmp_path / "m.json", layout="top_bottom"), "odd.mkv", "odd height 33")


def test_manifest_errors(tmp_path):
    _video(tmp_path / "odd.mkv", 48, 32)
    msg = _raises(_manifest(tmp_path / "m.json", depth={"encoding": "gray12"}), "m.json", "depth.encoding",
                  exc=ManifestError)
    assert "gray8" in msg  # says what would be allowed
    bad = json.loads((tmp_path / "m.json").read_text())
    del bad["fps"]
    (tmp_path / "m2.json").write_text(json.dumps(bad))
    _raises(tmp_path / "m2.json", "m2.json", "fps", "missing", exc=ManifestError)
    _raises(_manifest(tmp_path / "m3.json", depth={"encoding": "gray8", "reshade": {"revrsed": True}}),
            "m3.json", "revrsed", "unknown key", exc=ManifestError)
    (tmp_path / "m4.json").write_text("{not json")
    _raises(tmp_path / "m4.json", "m4.json", "JSON", exc=ManifestError)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fmt", ["npy", "tiff"])
def test_nan_inf_in_float_depth_is_invalid_depth(tmp_path, bad, fmt):
    """NaN is the pipeline's own marker for invalid depth: NaN/inf in a float file are invalid pixels,
    counted and reported, and reading goes on (it used to stop the recording)."""
    mp = write_recording(tmp_path, "f", frames(4), layout="image_sequence", encoding="float", float_format=fmt)
    from capture.float_io import write_float

    p = next((tmp_path / "f_depth").glob("000002.*"))
    d = np.full((H, W), 0.5, np.float32)
    d[3, 4] = bad
    write_float(p, d)
    rec = open_recording(mp)
    got = list(rec)
    assert len(got) == 4 and np.isnan(got[2].depth[3, 4]) and np.isnan(got[2].depth).sum() == 1
    assert rec.nonfinite_depth == {2: 1}
    assert any("f_depth" in w and "NaN/inf at 1 pixels" in w and p.name in w for w in rec.warnings), rec.warnings


def _audio_only(path):
    with av.open(str(path), "w") as c:
        s = c.add_stream("pcm_s16le", rate=8000)
        s.layout = "mono"
        for i in range(4):
            f = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
            f.sample_rate, f.pts = 8000, i * 800
            for pk in s.encode(f):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)


def test_unopenable_media_say_why(tmp_path):
    """An empty file, a text file, audio only, a directory, a missing file: each says which."""
    mp = write_recording(tmp_path, "e", frames(), layout="side_by_side")
    video = tmp_path / "e.mkv"
    cases = {
        "empty": (lambda: video.write_bytes(b""), "file is empty (0 bytes)"),
        "text": (lambda: video.write_text("frame,depth\n1,2\nthis is a CSV, not a video\n"), "not a video file: it holds text"),
        "audio": (lambda: _audio_only(video), "not a video file: it holds only audio"),
        "directory": (lambda: video.mkdir(), "is a directory"),
        "missing": (lambda: None, "media file not found"),
        "noise": (lambda: video.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8))),
                  "not a video file, or a video corrupt or cut off"),
    }
    messages = {}
    for name, (make, words) in cases.items():
        if video.is_dir():
            video.rmdir()
        elif video.exists():
            video.unlink()
        make()
        msg = _raises(mp, "e.mkv", words)
        messages[name] = msg
    assert len(set(messages.values())) == len(messages), messages  # all distinct


def test_hud_mask_wrong_size(tmp_path):
    mp = write_recording(tmp_path, "h", frames(), layout="side_by_side", hud_mask=np.zeros((H, W), bool))
    import cv2

    cv2.imwrite(str(tmp_path / "h_hud.png"), np.zeros((H + 2, W), np.uint8))
    _raises(mp, "h_hud.png", "wrong size")


def test_packed_depth_needs_lossless(tmp_path):
    with pytest.raises(InputError, match="lossy H.264"):
        write_recording(tmp_path, "p", frames(), layout="side_by_side", encoding="rgb24_packed", codec="h264")
    # A recording made elsewhere with packed depth in 4:2:0 video: cannot be unpacked.
    mp = write_recording(tmp_path, "g", frames(), layout="side_by_side", encoding="gray8", codec="h264")
    m = json.loads(mp.read_text())
    m["depth"]["encoding"] = "rgb24_packed"
    mp.write_text(json.dumps(m))
    _raises(mp, "g.mkv", "chroma-subsampled", read=True)


def test_writer_rejects_odd_yuv420_size(tmp_path):
    odd = [(np.zeros((31, 48, 3), np.uint8), np.zeros((31, 48)))]
    with pytest.raises(InputError, match="odd"):
        write_recording(tmp_path, "o", odd, layout="side_by_side", codec="h264")
    # lossless RGB has no such limit
    mp = write_recording(tmp_path, "o2", odd, layout="side_by_side", codec="lossless")
    assert open_recording(mp).height == 31
