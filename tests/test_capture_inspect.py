"""capture inspect (summary + preview), the CLI's exit codes, and the depth pictures."""

from __future__ import annotations

import json

import cv2
import numpy as np
from typer.testing import CliRunner

from capture.cli import app
from capture.inspect import inspect_recording
from capture.manifest import Projection, ReshadeSettings
from capture.reshade import metres_to_linear
from capture.visual import colourise_depth, contact_sheet
from capture.writer import write_recording

H, W, N = 40, 56, 8


def _recording(tmp_path):
    proj, rs = Projection(type="infinite_reversed", near=0.1), ReshadeSettings(far_plane=1000.0)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    z = 1.0 + 9.0 * xx / (W - 1)  # 1..10 m
    z[:4] = np.inf  # sky: 4 rows
    hud = np.zeros((H, W), bool)
    hud[-2:, :] = True  # HUD: 2 rows
    fr = [(np.full((H, W, 3), 40 * i % 256, np.uint8), metres_to_linear(z, proj, rs)) for i in range(N)]
    fr[5] = fr[4]  # duplicated by the recorder
    return write_recording(tmp_path, "ins", fr, layout="side_by_side", encoding="gray16",
                           reshade=rs, projection=proj, hud_mask=hud, fps=24)


def test_inspect_summary_and_preview(tmp_path):
    mp = _recording(tmp_path)
    s = inspect_recording(mp, tmp_path / "p.png")
    assert (s["frames"], s["fps"], s["width"], s["height"], s["depth_unit"]) == (N, 24, W, H, "metres")
    assert abs(s["duration_s"] - N / 24) < 1e-9
    assert abs(s["depth_min"] - 1.0) < 1e-3 and abs(s["depth_max"] - 10.0) < 1e-2
    assert 4.0 < s["depth_median"] < 7.0
    assert abs(s["invalid_fraction"] - 6 / H) < 1e-9  # sky rows + HUD rows
    assert s["duplicated_frames"] == [5] and s["warnings"] == []
    img = cv2.imread(s["preview"])
    assert img is not None and img.shape[0] > 5 * H and img.shape[1] >= 2 * W  # 6 rows of RGB|depth


def test_cli_inspect(tmp_path):
    mp = _recording(tmp_path)
    r = CliRunner().invoke(app, ["inspect", str(mp), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["frames"] == N and (tmp_path / "ins_preview.png").exists()
    r = CliRunner().invoke(app, ["inspect", str(mp), "--preview", str(tmp_path / "x.png")])
    assert r.exit_code == 0 and "metres" in r.stdout and (tmp_path / "x.png").exists()
    (tmp_path / "ins.mkv").unlink()
    r = CliRunner().invoke(app, ["inspect", str(mp)])
    assert r.exit_code == 1 and "ins.mkv" in r.output and "not found" in r.output


def test_colourise_and_sheet():
    d = np.tile(np.linspace(1, 10, 32, dtype=np.float32), (8, 1))
    d[0, 0] = np.nan
    c = colourise_depth(d)
    assert c.shape == (8, 32, 3) and c.dtype == np.uint8
    assert (c[0, 0] == 0).all()  # NaN -> black
    # invert=True: near is warm (red high, blue low), far is cool.
    assert c[4, 1, 0] > c[4, 1, 2] and c[4, -2, 2] > c[4, -2, 0]
    sheet = contact_sheet([[c, c], [c[:4], c]], labels=[["a", "b"], ["c", "d"]])
    assert sheet.shape[1] == 2 * 32 + 2 and sheet.shape[0] == 8 + 2 + 4  # row 2 scaled to its first cell
