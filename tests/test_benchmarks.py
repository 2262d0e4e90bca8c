"""Benchmark loaders on tiny fixtures in the published layouts, and the evaluate command."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from capture.errors import InputError
from model.benchmarks import SPECS, load_benchmark, read_sintel_dpt, write_sintel_cam, write_sintel_dpt

RNG = np.random.default_rng(0)


def _rgb(h, w):
    return RNG.integers(0, 255, (h, w, 3), dtype=np.uint8)


def _png16(path, depth_m, scale):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.round(depth_m * scale).astype(np.uint16))


def _img(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def test_sintel_dpt_cam_and_poses(tmp_path):
    base = tmp_path / "training"
    K = np.array([[100.0, 0, 8], [0, 100.0, 6], [0, 0, 1]])
    for i in range(3):
        (base / "depth" / "alley_1").mkdir(parents=True, exist_ok=True)
        (base / "camdata_left" / "alley_1").mkdir(parents=True, exist_ok=True)
        _img(base / "clean" / "alley_1" / f"frame_{i + 1:04d}.png", _rgb(12, 16))
        d = np.full((12, 16), 5.0 + i, np.float32)
        d[0, 0] = 90.0  # beyond Sintel's 70 m: invalid
        write_sintel_dpt(base / "depth" / "alley_1" / f"frame_{i + 1:04d}.dpt", d)
        w2c = np.eye(4)
        w2c[2, 3] = -0.5 * i  # camera moves +0.5 m along z per frame
        write_sintel_cam(base / "camdata_left" / "alley_1" / f"frame_{i + 1:04d}.cam", K, w2c[:3])
    (v,) = list(load_benchmark("sintel", tmp_path))
    assert v.frames.shape == (3, 12, 16, 3) and v.depth[2, 5, 5] == pytest.approx(7.0)
    assert not v.valid[0, 0, 0] and v.valid[0, 1, 1] and v.max_depth == 70.0
    np.testing.assert_allclose(v.poses[2][:3, 3], [0, 0, 1.0])  # camera-to-world = inverse extrinsic
    np.testing.assert_allclose(v.K, K)
    bad = tmp_path / "bad.dpt"
    bad.write_bytes(b"\0" * 20)
    with pytest.raises(InputError, match="bad.dpt.*TAG"):
        read_sintel_dpt(bad)


def test_kitti_bonn_nyu_scale_factors_crops_and_frames(tmp_path):
    # KITTI: uint16 / 256, odd size cropped to even then to [0:374, 0:1242]
    for i in range(3):
        _img(tmp_path / "kitti" / "drive_0001" / "rgb" / f"{i:010d}.png", _rgb(377, 20))
        d = np.zeros((377, 20))
        d[::2] = 12.5 + i  # sparse LiDAR: zero = no measurement
        _png16(tmp_path / "kitti" / "drive_0001" / "depth" / f"{i:010d}.png", d, 256.0)
    (v,) = list(load_benchmark("kitti", tmp_path / "kitti"))
    assert v.depth.shape == (3, 374, 20) and v.frames.shape == (3, 374, 20, 3)
    assert v.depth[1, 0, 0] == pytest.approx(13.5) and np.isnan(v.depth[1, 1, 0]) and not v.valid[1, 1, 0]
    # Bonn: / 5000, frames [30:140], rgb and depth paired by sorted order (names differ)
    for i in range(35):
        _img(tmp_path / "bonn" / "rgbd_bonn_balloon" / "rgb" / f"{1000 + i}.1.png", _rgb(8, 10))
        _png16(tmp_path / "bonn" / "rgbd_bonn_balloon" / "depth" / f"{1000 + i}.2.png", np.full((8, 10), 1 + i / 10), 5000.0)
    (v,) = list(load_benchmark("bonn", tmp_path / "bonn"))
    assert v.depth.shape[0] == 5 and v.depth[0, 0, 0] == pytest.approx(4.0, abs=1e-3)  # frame 30
    # NYUv2: / 6000, crop [45:471, 41:601] of 480x640
    _img(tmp_path / "nyu" / "office_0004" / "rgb" / "1.jpg", _rgb(480, 640))
    _png16(tmp_path / "nyu" / "office_0004" / "depth" / "1.png", np.full((480, 640), 2.5), 6000.0)
    (v,) = list(load_benchmark("nyuv2", tmp_path / "nyu"))
    assert v.depth.shape == (1, 426, 560) and v.depth[0, 0, 0] == pytest.approx(2.5, abs=1e-3)
    assert SPECS["nyuv2"].max_depth == 10.0 and SPECS["kitti"].max_depth == 80.0


def test_scannet_every_third_frame_crop_and_intrinsics(tmp_path):
    scene = tmp_path / "scene0707_00"
    for i in range(9):
        _img(scene / "color" / f"{i}.jpg", _rgb(40, 50))
        _png16(scene / "depth" / f"{i}.png", np.full((40, 50), 1.0 + i), 1000.0)
        (scene / "pose").mkdir(parents=True, exist_ok=True)
        np.savetxt(scene / "pose" / f"{i}.txt", np.eye(4))
    (scene / "intrinsic").mkdir()
    np.savetxt(scene / "intrinsic" / "intrinsic_depth.txt", np.array([[30, 0, 25, 0], [0, 30, 20, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]]))
    (v,) = list(load_benchmark("scannet", tmp_path))
    assert v.depth.shape == (3, 24, 28)  # [8:-8, 11:-11]
    np.testing.assert_allclose(v.depth[:, 0, 0], [1.0, 4.0, 7.0])  # frames 0, 3, 6
    np.testing.assert_allclose(v.K[:2, 2], [25 - 11, 20 - 8])
    assert v.poses.shape == (3, 4, 4)


def test_missing_layout_errors(tmp_path):
    with pytest.raises(InputError, match="root folder not found"):
        list(load_benchmark("kitti", tmp_path / "nope"))
    (tmp_path / "x").mkdir()
    with pytest.raises(InputError, match="no bonn sequences"):
        list(load_benchmark("bonn", tmp_path))
    with pytest.raises(InputError, match="unknown benchmark"):
        list(load_benchmark("eth3d", tmp_path))
    seq = tmp_path / "b" / "s"
    _img(seq / "rgb" / "0.png", _rgb(4, 4))
    with pytest.raises(InputError, match="1 colour frames but 0 depth"):
        (seq / "depth").mkdir()
        list(load_benchmark("bonn", tmp_path / "b"))


def test_evaluate_command_writes_tables(tmp_path):
    import typer
    from typer.testing import CliRunner

    from model.bootstrap import BootstrapConfig, BootstrapNet, save_bootstrap
    from model.evaluate_cli import evaluate

    ckpt = save_bootstrap(tmp_path / "b.safetensors", BootstrapNet(BootstrapConfig(size=32, base_channels=4, levels=3)))
    app = typer.Typer()
    app.command()(evaluate)
    res = CliRunner().invoke(app, [str(ckpt), "-b", "procedural", "-o", str(tmp_path / "ev"), "--max-videos", "2",
                                   "--max-frames", "4"])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert data["summary"]["videos"] == 2 and 0 < data["summary"]["abs_rel"] < 10 and data["summary"]["tae"] > 0
    assert (tmp_path / "ev" / "per_video.csv").read_text().count("\n") == 3
    assert "TAE x100" in (tmp_path / "ev" / "results.md").read_text()
    assert len(list((tmp_path / "ev" / "profiles").glob("*.png"))) == 2
