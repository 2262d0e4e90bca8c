"""Training loader: contract shapes/dtypes, frame dropout indices, packing, workers/nodes, bad data."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from test_dataset_writer import make_items, write_curated  # noqa: E402

from capture.errors import InputError  # noqa: E402
from dataset.config import ShardConfig  # noqa: E402
from dataset.depth_store import decode_depth  # noqa: E402
from dataset.loader import make_loader  # noqa: E402
from dataset.packing import Bucket, BucketTable, pack, packing_efficiency  # noqa: E402
from dataset.shard_writer import iter_tar_samples, write_arrays  # noqa: E402

TABLE = BucketTable([Bucket(48, 64, 8, 1), Bucket(24, 32, 2, 4), Bucket(24, 32, 4, 2)])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("loader")
    items, rows, recs, spans = make_items(n_rec=3, clips_per_rec=4)  # 9 kept clips of 8 frames, 64x48
    write_curated(root / "curated" / "run1", rows, recs, spans)
    res = write_arrays(items, root / "shards", ShardConfig(max_shard_samples=3), {r["recording_id"]: r for r in recs})
    return root, res, {row["clip_id"]: (rgb, depth) for row, rgb, depth in items}


def test_batches_follow_the_contract_and_keep_original_frame_indices(data):
    root, _, clips = data
    loader = make_loader(str(root / "shards"), TABLE, seed=1, shuffle_buffer=4)
    batches = list(loader)
    seen = [c for b in batches for c in b["clip_id"]]
    assert sorted(seen) == sorted(clips)  # every clip exactly once per pass
    for b in batches:
        B, K, _, H, W = b["rgb"].shape
        assert b["rgb"].dtype == torch.float32 and b["rgb"].min() >= -1 and b["rgb"].max() <= 1
        assert b["depth"].shape == b["valid"].shape == (B, K, H, W) and b["valid"].dtype == torch.bool
        assert b["frame_indices"].shape == (B, K) and b["frame_indices"].dtype == torch.int64
        assert TABLE.get(H, W, K).batch_size >= B  # packed by the table (last ones may be partial)
        assert not torch.isnan(b["depth"]).any() and (b["depth"][~b["valid"]] == 0).all()
        fi = b["frame_indices"]
        assert (fi[:, 1:] > fi[:, :-1]).all() and fi.min() >= 0 and fi.max() < 8  # sorted, distinct, original
        if (H, W) == (48, 64):  # full size: no resize, so depth equals the stored frames exactly
            for i, cid in enumerate(b["clip_id"]):
                ref = torch.from_numpy(clips[cid][1].astype(np.float16).astype(np.float32))[fi[i]]
                assert torch.equal(b["valid"][i], torch.isfinite(ref))
                assert torch.equal(b["depth"][i][b["valid"][i]], ref[torch.isfinite(ref)])
    assert loader.stats.samples == 9 and loader.stats.skipped == 0


def test_workers_and_nodes_split_shards_without_overlap(data):
    root, _, clips = data
    seen = []
    for rank in range(2):
        loader = make_loader(str(root / "shards"), TABLE, num_workers=2, rank=rank, world_size=2, seed=3)
        seen += [c for b in loader for c in b["clip_id"]]
    assert sorted(seen) == sorted(clips)  # 3 shards over 2 nodes x 2 workers: each clip once


def test_where_selects_clips_through_the_catalog(data):
    root, _, _ = data
    loader = make_loader(str(root / "shards"), TABLE, where="game = 'GTA V' AND clip_similarity > 0.8",
                         catalog_root=str(root))  # fmt: skip
    got = [c for b in loader for c in b["clip_id"]]
    assert len(got) == 1  # rec0 kept clips with similarity 0.85
    with pytest.raises(InputError, match="unknown column"):
        make_loader(str(root / "shards"), TABLE, where="gaem = 'x'", catalog_root=str(root))


def test_bad_samples_are_counted_and_skipped(data, tmp_path):
    root, res, clips = data
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(root / "shards", bad)
    # Corrupt the depth member of one sample (same length so the tar stays readable) ...
    raw = bytearray((bad / "shard-000000.tar").read_bytes())
    first = next(iter_tar_samples(bad / "shard-000000.tar"))
    at = raw.find(first["depth.mkv"][:64])
    raw[at + 40 : at + 400] = b"\xff" * 360
    (bad / "shard-000000.tar").write_bytes(bytes(raw))
    with pytest.raises(InputError):
        decode_depth(bytes(raw[at : at + len(first["depth.mkv"])]), "ffv1_f16")
    # ... and truncate another shard in the middle.
    t1 = (bad / "shard-000001.tar").read_bytes()
    (bad / "shard-000001.tar").write_bytes(t1[: len(t1) // 2])
    loader = make_loader(str(bad), TABLE, shuffle_buffer=0)
    got = [c for b in loader for c in b["clip_id"]]
    assert loader.stats.bad_samples + loader.stats.bad_shards >= 2
    assert 3 <= len(got) <= 7 and first["__key__"] not in got  # shard 2 whole, shard 0 minus one
    strict = make_loader(str(bad), TABLE, shuffle_buffer=0, skip_bad=False)
    with pytest.raises(InputError):
        list(strict)


def test_packing_fills_batches_with_real_frames():
    table = BucketTable.from_budget([(24, 32)], [1, 2, 4, 8], pixel_budget=8 * 24 * 32)
    assert [b.batch_size for b in table.buckets] == [8, 4, 2, 1]
    rng = np.random.default_rng(0)
    items = [(table.choose(24, 32, int(t), rng), None) for t in rng.integers(1, 9, size=200)]
    batches = [(b, len(s)) for b, s in pack(items)]
    packed = packing_efficiency(batches, table.max_slots)
    single = packing_efficiency([(b, 1) for b, _ in items], table.max_slots)
    assert packed > 0.9 and single < 0.5 and packed > 2 * single
    # choose(): K never exceeds the clip length; nearest aspect ratio picks the group.
    assert table.choose(24, 32, 3, rng).frames <= 3 and table.choose(24, 32, 0, rng) is None
    mixed = BucketTable([Bucket(256, 256, 1, 1), Bucket(240, 320, 1, 1), Bucket(176, 608, 1, 1)])
    assert mixed.resolution_for(1080, 1920) == (240, 320) and mixed.resolution_for(720, 2560) == (176, 608)


def test_cycle_epochs_restarts_passes_and_refuses_an_empty_loader():
    from itertools import islice

    from capture.errors import InputError
    from dataset.loader import cycle_epochs

    class Passes:
        def __init__(self, n):
            self.n, self.epochs = n, []

        def set_epoch(self, e):
            self.epochs.append(e)

        def __iter__(self):
            return iter(range(self.n))

    two = Passes(2)
    assert list(islice(cycle_epochs(two), 5)) == [0, 1, 0, 1, 0]
    assert two.epochs == [0, 1, 2]  # each pass reshuffled with its own epoch
    with pytest.raises(InputError, match="no batches") as e:
        next(cycle_epochs(Passes(0), "shards/x-000000.tar"))
    assert "shards/x-000000.tar" in str(e.value)


def test_resized_batches_match_the_stored_frames(data):
    """At half size (24x32 from 64x48: no crop) depth is the stored float16 at the nearest pixels,
    bit for bit, and RGB (resized from the decoder's planes) is the clip's frames area-averaged to
    that size within the codec's error (PSNR >= 40 dB, mean error <= 1.5 levels; swscale's
    full-size decode, then the same averaging, is at 43-44 dB here)."""
    import cv2

    from dataset.rgb_store import psnr

    root, _, clips = data
    half = BucketTable([Bucket(24, 32, 4, 2)])
    n = 0
    for b in make_loader(str(root / "shards"), half, seed=2, shuffle_buffer=0):
        for i, cid in enumerate(b["clip_id"]):
            fi = b["frame_indices"][i].numpy()
            ref_d = torch.from_numpy(clips[cid][1].astype(np.float16).astype(np.float32)[fi][:, 1::2, 1::2])
            assert torch.equal(b["valid"][i], torch.isfinite(ref_d))
            assert torch.equal(b["depth"][i][b["valid"][i]], ref_d[torch.isfinite(ref_d)])
            truth = np.stack([cv2.resize(f, (32, 24), interpolation=cv2.INTER_AREA) for f in clips[cid][0][fi]])
            got = ((b["rgb"][i] + 1.0) * 127.5).permute(0, 2, 3, 1).numpy()
            assert psnr(got, truth) >= 40.0 and np.abs(got - truth).mean() <= 1.5
            n += 1
    assert n == 9


@pytest.mark.parametrize("box,size", [((0, 0, 48, 64), (48, 64)), ((3, 5, 41, 57), (20, 28)),
                                      ((1, 0, 45, 64), (90, 128))])  # fmt: skip
def test_rgb_is_cropped_and_resized_from_the_decoders_planes(box, size):
    """decode_rgb with a crop box (odd offsets and sizes, which 4:2:0 chroma cannot hit exactly) and
    a target size gives the clip's frames cropped and resized, within the codec's error; a frame
    of another size than the record says is an error that names the clip."""
    import cv2

    from dataset.rgb_store import decode_rgb, encode_rgb, psnr

    rgb = make_items(n_rec=1, clips_per_rec=1)[0][0][1]  # (8, 48, 64, 3) simulated game frames
    data = encode_rgb(rgb)
    got = decode_rgb(data, [1, 5], box=box, size=size)
    y0, x0, ch, cw = box
    inter = cv2.INTER_AREA if size[0] <= ch else cv2.INTER_LINEAR
    truth = np.stack([cv2.resize(f[y0 : y0 + ch, x0 : x0 + cw], size[::-1], interpolation=inter) for f in rgb[[1, 5]]])
    assert got.shape == (2, *size, 3) and got.dtype == np.uint8
    assert psnr(got, truth) >= 38.0, psnr(got, truth)
    with pytest.raises(InputError, match=r"clip7\.mp4.*frames are 48x64, expected 50x64"):
        decode_rgb(data, [0], name="clip7.mp4", box=box, size=size, frame_size=(50, 64))


@pytest.mark.parametrize("shape", [(48, 64, 24, 32), (37, 53, 20, 24), (50, 60, 80, 96), (144, 256, 72, 100)])
def test_depth_resize_is_nearest_exact(shape):
    """crop_resize's depth (indexing at stored precision) equals torch's nearest-exact on the crop."""
    import torch.nn.functional as F

    from dataset.loader import crop_resize

    h, w, th, tw = shape
    rng = np.random.default_rng(5)
    depth = rng.random((3, h, w)).astype(np.float16)
    depth[0, 0, :] = np.nan
    rgb = rng.integers(0, 256, (3, h, w, 3), dtype=np.uint8)
    _, got = crop_resize(rgb, depth, th, tw, np.random.default_rng(9))
    # the same crop as crop_resize draws it
    scale = max(th / h, tw / w)
    ch, cw = min(h, round(th / scale)), min(w, round(tw / scale))
    r = np.random.default_rng(9)
    y0, x0 = int(r.integers(0, h - ch + 1)), int(r.integers(0, w - cw + 1))
    crop = torch.from_numpy(depth[:, y0 : y0 + ch, x0 : x0 + cw].astype(np.float32))[:, None]
    ref = F.interpolate(crop, size=(th, tw), mode="nearest-exact")[:, 0] if (ch, cw) != (th, tw) else crop[:, 0]
    assert got.dtype == torch.float32 and torch.equal(torch.isnan(got), torch.isnan(ref))
    assert torch.equal(torch.nan_to_num(got), torch.nan_to_num(ref))


def test_in_process_loading_runs_torch_on_one_thread_and_gives_the_trainer_its_threads_back(data, monkeypatch):
    """With num_workers=0 the per-sample work runs on one torch thread and one OpenCV thread (the
    trainer's pools made every small op a contended fork-join; OpenCV resizes and converts the
    frames), and the trainer's thread counts are back after."""
    import cv2

    import dataset.loader as L

    root, _, _ = data
    seen = []
    real = L.nearest
    monkeypatch.setattr(L, "nearest", lambda *a: (seen.append((torch.get_num_threads(), cv2.getNumThreads())), real(*a))[1])
    before, before_cv = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(2)
    cv2.setNumThreads(2)
    try:
        for _ in make_loader(str(root / "shards"), TABLE, num_workers=0):
            # what the trainer sees between batches
            assert torch.get_num_threads() == 2 and cv2.getNumThreads() == 2
    finally:
        torch.set_num_threads(before)
        cv2.setNumThreads(before_cv)
    assert seen and set(seen) == {(1, 1)}


def _by_clip(loader) -> dict:
    out = {}
    for b in loader:
        for i, cid in enumerate(b["clip_id"]):
            out[cid] = {k: b[k][i] for k in ("rgb", "depth", "valid", "frame_indices")}
    return out


def test_workers_give_the_trainer_exactly_what_in_process_loading_gives(data, monkeypatch):
    """Every frame and every depth value the same with 0 and with 2 workers (workers hand over the
    stored types through shared memory; the float32 batch is made in the trainer's process), and
    the workers decode with one decoder thread each (a sample decoded otherwise is counted bad)."""
    import dataset.loader as L

    root, _, clips = data
    real_rgb, real_depth = L.decode_rgb, L._decode_depth

    def one_thread_in_workers(real):
        def wrapped(*a, threads=None, **k):
            in_worker = torch.utils.data.get_worker_info() is not None
            assert threads == (1 if in_worker else None), threads
            return real(*a, threads=threads, **k)
        return wrapped

    monkeypatch.setattr(L, "decode_rgb", one_thread_in_workers(real_rgb))
    monkeypatch.setattr(L, "_decode_depth", one_thread_in_workers(real_depth))
    every = BucketTable([Bucket(24, 32, 8, 2)])  # all 8 frames, half size, same aspect: no random crop
    loaders = [make_loader(str(root / "shards"), every, num_workers=n, seed=5) for n in (0, 2)]
    in_process, workers = (_by_clip(x) for x in loaders)
    assert sorted(in_process) == sorted(workers) == sorted(clips)
    for cid, want in in_process.items():
        got = workers[cid]
        for k in want:
            assert got[k].dtype == want[k].dtype and torch.equal(got[k], want[k]), (cid, k)
    assert all(x.stats.bad_samples == 0 and x.stats.samples == len(clips) for x in loaders)
    assert workers[cid]["rgb"].dtype == torch.float32 and workers[cid]["depth"].dtype == torch.float32


def test_workers_stay_up_between_passes_and_each_pass_takes_its_epoch(data):
    """A loader's workers serve pass after pass (started once); `set_epoch` reaches them: a later
    pass equals a fresh loader's pass at that epoch, batch for batch."""
    root, _, clips = data
    loader = make_loader(str(root / "shards"), TABLE, num_workers=2, seed=7, shuffle_buffer=4)
    first = list(loader)
    workers = loader._batches._iterator._workers  # the DataLoader's processes
    loader.set_epoch(3)
    again = list(loader)
    assert loader._batches._iterator._workers == workers and all(w.is_alive() for w in workers)
    fresh = make_loader(str(root / "shards"), TABLE, num_workers=2, seed=7, shuffle_buffer=4)
    fresh.set_epoch(3)
    want = list(fresh)
    assert [b["clip_id"] for b in again] == [b["clip_id"] for b in want]
    assert all(torch.equal(a["rgb"], b["rgb"]) and torch.equal(a["depth"], b["depth"]) for a, b in zip(again, want, strict=True))
    assert sorted(c for b in first for c in b["clip_id"]) == sorted(c for b in again for c in b["clip_id"]) == sorted(clips)
    assert [b["clip_id"] for b in first] != [b["clip_id"] for b in again]  # reshuffled
    assert loader.stats.samples == 2 * len(clips)
