"""Training loader: WebDataset shards -> packed batches of (RGB, depth, valid, frame indices).

Batches (the trainer's contract), all samples of a batch share (H, W, K):
    rgb            float32 (B,K,3,H,W) in [-1, 1]
    depth          float32 (B,K,H,W), NaN (invalid) replaced by 0
    valid          bool    (B,K,H,W)
    frame_indices  int64   (B,K) original frame indices within the clip (rotary positions)
    clip_id        list[str]
Pipeline: shard list (optionally chosen by a DuckDB `where` over the catalog) -> per-epoch shard
shuffle -> split by node (rank/world) and by DataLoader worker -> tar expansion (local or fsspec
URLs) -> optional clip filter -> sample shuffle buffer -> bucket choice + frame dropout (K sorted
frames, original indices kept) -> decode only those frames, cropped to the bucket's aspect and
resized as they are decoded (RGB from the decoder's planes), keeping the stored types -> pack per bucket (dataset.packing) -> collate -> (out of the
DataLoader workers, in shared memory) -> `to_training`: float32 RGB and depth, the valid mask.
Bad samples/shards are counted in LoaderStats (shared across worker processes) and skipped.
"""

from __future__ import annotations

import contextlib
import gc
import glob
import json
import multiprocessing as mp
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import fsspec
import numpy as np
import pyarrow.compute as pc
import torch
import webdataset as wds
from webdataset import tariterators

from capture.errors import InputError
from dataset.depth_store import EXTENSIONS, STORED_DTYPE
from dataset.depth_store import decode_depth as _decode_depth
from dataset.packing import Bucket, BucketTable, pack
from dataset.rgb_store import Box, decode_rgb, resize_plane

_COUNTERS = ("samples", "batches", "bad_shards", "bad_samples", "too_short", "filtered_out")


@dataclass
class LoaderStats:
    """Counters shared by the main process and DataLoader workers (multiprocessing shared memory)."""

    _values: object = field(default_factory=lambda: mp.Array("q", len(_COUNTERS), lock=True))
    errors: list[str] = field(default_factory=list)  # messages seen in this process (first 20)

    def add(self, name: str, n: int = 1) -> None:
        with self._values.get_lock():
            self._values[_COUNTERS.index(name)] += n

    def __getattr__(self, name: str) -> int:
        if name in _COUNTERS:
            return int(self._values[_COUNTERS.index(name)])
        raise AttributeError(name)

    @property
    def skipped(self) -> int:
        return self.bad_samples + self.too_short

    def as_dict(self) -> dict[str, int]:
        return {n: int(self._values[i]) for i, n in enumerate(_COUNTERS)}


def expand_shards(shards: str | Sequence[str]) -> list[str]:
    """A directory (its *.tar), a glob, a brace pattern (`a-{000000..000009}.tar`) or a list."""
    if not isinstance(shards, str):
        return [str(s) for s in shards]
    fs, path = fsspec.core.url_to_fs(shards)
    local = "file" in ((fs.protocol,) if isinstance(fs.protocol, str) else fs.protocol)
    if "{" in shards:
        return list(wds.shardlists.expand_urls(shards))
    if fs.isdir(path):
        found = sorted(p for p in fs.find(path) if p.endswith(".tar") and not Path(p).name.startswith("."))
    elif any(c in shards for c in "*?["):
        found = sorted(glob.glob(shards)) if local else sorted(fs.glob(path))
    else:
        found = [path]
    out = found if local else [fs.unstrip_protocol(p) for p in found]
    if not out:
        raise InputError(shards, "no shards found")
    return out


def select_by_query(shards: list[str], where: str, catalog_root: str | None) -> tuple[list[str], set[str]]:
    """(shards that hold matching clips, their keys) for a DuckDB filter over the `clips` view."""
    from dataset import catalog
    from dataset.query import run_query

    root = catalog_root or os.path.dirname(shards[0]) or "."
    con = catalog.open(root)
    sql = f"SELECT tar_path, key FROM clips WHERE key IS NOT NULL AND decision = 'kept' AND ({where})"
    found = run_query(sql, con=con)
    wanted = {os.path.basename(p) for p in pc.unique(found.column("tar_path")).to_pylist()}
    keys = set(found.column("key").to_pylist())
    return [s for s in shards if os.path.basename(s) in wanted], keys


class _Pipeline(torch.utils.data.IterableDataset):
    def __init__(self, urls, buckets, stats, seed, skip_bad, keys, shuffle_buffer, drop_last, rank, world_size):
        self.urls, self.buckets, self.stats, self.seed = urls, buckets, stats, seed
        self.skip_bad, self.keys, self.shuffle_buffer, self.drop_last = skip_bad, keys, shuffle_buffer, drop_last
        self.rank, self.world_size = rank, world_size
        # Shared with the DataLoader workers, which stay up from one pass to the next (they read
        # it at the start of each pass).
        self._epoch = mp.Value("q", 0, lock=False)

    @property
    def epoch(self) -> int:
        return int(self._epoch.value)

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._epoch.value = int(value)

    # -- splitting -----------------------------------------------------------------------------
    def _my_shards(self) -> list[str]:
        urls = list(self.urls)
        random.Random(self.seed * 1000003 + self.epoch).shuffle(urls)  # same order on every node
        rank, world = self._node()
        info = torch.utils.data.get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        return urls[rank::world][wid::nw]

    def _node(self) -> tuple[int, int]:
        if self.rank is not None:
            return self.rank, self.world_size or 1
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank(), torch.distributed.get_world_size()
        return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))

    def _rng(self) -> np.random.Generator:
        info = torch.utils.data.get_worker_info()
        rank, _ = self._node()
        return np.random.default_rng([self.seed, self.epoch, rank, info.id if info else 0])

    # -- stages --------------------------------------------------------------------------------
    def _handler(self, kind: str):
        def handle(exn: Exception) -> bool:
            self.stats.add(kind)
            if len(self.stats.errors) < 20:
                self.stats.errors.append(f"{kind}: {exn}")
            if not self.skip_bad:
                raise InputError(None, f"{kind.replace('_', ' ')[:-1]}: {exn}") from exn
            return True

        return handle

    def _open(self, urls):
        for url in urls:
            try:
                stream = fsspec.open(url, "rb").open()
            except OSError as e:
                self._handler("bad_shards")(InputError(url, f"cannot open shard: {e}"))
                continue
            yield {"url": url, "stream": stream}

    def _samples(self, rng) -> Iterator[dict]:
        raw = tariterators.tar_file_expander(self._open(self._my_shards()), handler=self._handler("bad_shards"))
        samples = tariterators.group_by_keys(raw, handler=self._handler("bad_samples"))
        if self.keys is not None:
            samples = self._filter(samples)
        if self.shuffle_buffer > 0:
            samples = wds.filters._shuffle(samples, self.shuffle_buffer, min(self.shuffle_buffer, 16),
                                           random.Random(int(rng.integers(2**31))))  # fmt: skip
        return samples

    def _filter(self, samples):
        for s in samples:
            if s.get("__key__") in self.keys:
                yield s
            else:
                self.stats.add("filtered_out")

    def _decoded(self, rng) -> Iterator[tuple[Bucket, dict]]:
        for s in self._samples(rng):
            try:
                with one_torch_thread():
                    out = decode_sample(s, self.buckets, rng)
            except Exception as e:  # noqa: BLE001 - any broken sample is counted and skipped
                self._handler("bad_samples")(InputError(s.get("__url__"), f"sample {s.get('__key__')}: {e}"))
                continue
            if out is None:
                self.stats.add("too_short")
                continue
            self.stats.add("samples")
            yield out

    def __iter__(self):
        rng = self._rng()
        for _bucket, items in pack(self._decoded(rng), drop_last=self.drop_last):
            self.stats.add("batches")
            with one_torch_thread():
                batch = collate(items)
            yield batch


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Per-sample work on one thread (torch's and OpenCV's pools), the trainer's thread counts
    restored after.

    Why: with num_workers=0 the loader runs in the training process, whose intra-op pool is sized
    for the model. Each of the loader's small ops (isfinite, resize, stack of a few MB) became a
    fork-join across that pool, competing with the video decoder for the same cores and, under
    any other load, waiting for a descheduled thread: the loader ran at ~1/3 of a plain decode.
    DataLoader workers already run torch on one thread; this does the same in-process, and for
    OpenCV (the frames' resize and colour conversion) in workers too."""
    prev, prev_cv = torch.get_num_threads(), cv2.getNumThreads()
    if prev == 1 and prev_cv == 1:
        yield
        return
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        torch.set_num_threads(prev)
        cv2.setNumThreads(prev_cv)


def decode_sample(sample: dict, buckets: BucketTable, rng: np.random.Generator) -> tuple[Bucket, dict] | None:
    """One tar sample -> (bucket, its K frames as stored: RGB uint8 (K,3,H,W), depth at its stored
    precision with NaN where invalid), or None when the clip is shorter than every K.
    `to_training` makes a collated batch of these what the trainer gets."""
    key = sample["__key__"]
    rec = json.loads(sample["json"])
    t, h, w = int(rec["num_frames"]), int(rec["height"]), int(rec["width"])
    bucket = buckets.choose(h, w, t, rng)
    if bucket is None:
        return None
    idx = np.sort(rng.choice(t, size=bucket.frames, replace=False))  # frame dropout, original indices
    enc = rec.get("depth_encoding", "ffv1_f16")
    ext = EXTENSIONS[enc]
    if "mp4" not in sample or ext not in sample:
        raise InputError(sample.get("__url__"), f"sample {key} lacks {'mp4' if 'mp4' not in sample else ext}")
    # Decoder threads: one in a DataLoader worker (the workers are one per core already: FFV1's
    # slice threads there cost ~20 % more CPU for the same frames), FFmpeg's default in-process.
    threads = 1 if torch.utils.data.get_worker_info() is not None else None
    box = draw_crop(h, w, bucket.height, bucket.width, rng)
    depth = _decode_depth(sample[ext], enc, idx, name=f"{key}.{ext}", dtype=STORED_DTYPE[enc], threads=threads)
    if depth.shape[1:] != (h, w):
        raise InputError(sample.get("__url__"), f"sample {key}: depth frames are {depth.shape[1:]}, record says {(h, w)}")
    rgb = decode_rgb(sample["mp4"], idx, name=f"{key}.mp4", threads=threads, box=box,
                     size=(bucket.height, bucket.width), frame_size=(h, w))  # fmt: skip
    return bucket, {
        "rgb": torch.from_numpy(rgb).permute(0, 3, 1, 2),
        "depth": torch.from_numpy(nearest(depth, box, bucket.height, bucket.width)),
        "frame_indices": torch.from_numpy(idx.astype(np.int64)),
        "clip_id": str(rec.get("clip_id", key)),
    }


def draw_crop(h: int, w: int, th: int, tw: int, rng: np.random.Generator) -> Box:
    """A random crop (y0, x0, height, width) of an h x w frame to the target's aspect, at source
    scale (the largest such crop: the whole frame when the aspects agree)."""
    scale = max(th / h, tw / w)
    ch, cw = min(h, round(th / scale)), min(w, round(tw / scale))
    return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw


def nearest(depth: np.ndarray, box: Box, th: int, tw: int) -> np.ndarray:
    """(K,H,W) depth cropped to `box` and resized to (th, tw) by nearest sampling at its stored
    precision ("nearest-exact": source index floor((i + 0.5) * in / out)), so no value is invented
    between surfaces and NaN stays NaN."""
    y0, x0, ch, cw = box
    rows = y0 + np.minimum(((np.arange(th) + 0.5) * (ch / th)).astype(np.int64), ch - 1)
    cols = x0 + np.minimum(((np.arange(tw) + 0.5) * (cw / tw)).astype(np.int64), cw - 1)
    return depth[:, rows[:, None], cols[None, :]]


def crop_resize(rgb: np.ndarray, depth: np.ndarray, th: int, tw: int, rng: np.random.Generator):
    """The loader's crop and resize on decoded arrays, as the trainer gets them: RGB float32
    (K,3,th,tw) in [-1, 1] (area-averaged where it shrinks), depth float32 (K,th,tw), NaN kept."""
    y0, x0, ch, cw = box = draw_crop(depth.shape[1], depth.shape[2], th, tw, rng)
    r = np.stack([resize_plane(f[y0 : y0 + ch, x0 : x0 + cw], (th, tw)) for f in rgb])
    d = torch.from_numpy(nearest(depth, box, th, tw))
    return _rgb_to_unit(torch.from_numpy(r).permute(0, 3, 1, 2)), d.to(torch.float32)


def _rgb_to_unit(rgb: torch.Tensor) -> torch.Tensor:
    # One pass to float32, then scale in place: [0, 255] -> [-1, 1] (faster than a promoting mul).
    return torch.empty(rgb.shape, dtype=torch.float32).copy_(rgb).mul_(1 / 127.5).sub_(1.0)


def collate(items: list[dict]) -> dict:
    """Stack the samples of a batch. In a DataLoader worker the tensors are stacked straight into
    shared memory (torch's default_collate does that), so the batch is not copied once more on its
    way to the trainer's process."""
    return torch.utils.data.default_collate(items)


def to_training(batch: dict) -> dict:
    """A collated batch as stored (uint8 RGB, depth at its stored precision with NaN) -> the
    trainer's contract (module docstring). Done after the workers' shared-memory hand-over: the
    stored types are a quarter (RGB) and a half (depth) of the float32 ones, and the shared memory
    a batch travels in is freshly faulted in on both sides every time."""
    depth = batch["depth"].to(torch.float32)
    valid = torch.isfinite(depth)
    return {
        "rgb": _rgb_to_unit(batch["rgb"]),
        "depth": torch.nan_to_num_(depth, nan=0.0, posinf=0.0, neginf=0.0),
        "valid": valid,
        "frame_indices": batch["frame_indices"],
        "clip_id": batch["clip_id"],
    }


def _worker_init(_: int) -> None:
    """A worker is forked from the trainer's process, which may run Prefect (a `synthdepth run`
    task): Prefect's services register thread-exit callbacks that fail in a forked child (an
    assertion in its drain), so the worker would exit with code 1 after its last batch and the
    DataLoader would abort the epoch. The worker owns none of those services: drop the inherited
    callbacks. (Also: a parent whose sys.stdout/stderr were swapped for buffers that are closed by
    now would make a worker's traceback vanish; give it the real file descriptors.)"""
    import sys
    import threading

    callbacks = getattr(threading, "_threading_atexits", None)
    if isinstance(callbacks, list):
        callbacks.clear()
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        if stream is None or getattr(stream, "closed", False):
            setattr(sys, name, open(fd, "w", closefd=False, buffering=1))  # noqa: SIM115 (lives as long as the worker)


class Loader:
    """Iterable over packed batches; `.stats` counts samples, batches and what was skipped.

    With workers, the worker processes start at the first pass and stay up for the passes after
    it (`set_epoch` reaches them), until the loader is dropped: forking a trainer-sized process and
    starting a worker costs ~0.1-0.3 s each, paid once instead of every pass. One pass at a time
    (a new pass abandons the one in progress)."""

    def __init__(self, dataset: _Pipeline, num_workers: int):
        self.dataset, self.num_workers = dataset, num_workers
        self.stats: LoaderStats = dataset.stats
        self._batches = None  # the DataLoader with its persistent workers, once started

    def set_epoch(self, epoch: int) -> None:
        self.dataset.epoch = epoch  # reshuffles shards and samples

    def _worker_batches(self):
        if self._batches is None:
            self._batches = torch.utils.data.DataLoader(
                self.dataset, batch_size=None, num_workers=self.num_workers, persistent_workers=True,
                worker_init_fn=_worker_init)
            # Workers are forked from this process: with its objects frozen out of the garbage
            # collector's reach, a worker's collections do not write to (and so copy) every page
            # of the parent's heap. Unfrozen as soon as the workers are started.
            gc.freeze()
            try:
                return iter(self._batches)
            finally:
                gc.unfreeze()
        return iter(self._batches)

    def __iter__(self):
        batches = iter(self.dataset) if self.num_workers == 0 else self._worker_batches()
        for batch in batches:
            with one_torch_thread():
                batch = to_training(batch)
            yield batch


def make_loader(
    shards: list[str] | str,
    buckets: BucketTable | None = None,
    num_workers: int = 0,
    where: str | None = None,
    catalog_root: str | None = None,
    seed: int = 0,
    skip_bad: bool = True,
    shuffle_buffer: int = 64,
    drop_last: bool = False,
    rank: int | None = None,
    world_size: int | None = None,
) -> Loader:
    """Loader over `shards`; `where` selects clips with DuckDB over the catalog at `catalog_root`
    (default: the shards' folder). rank/world_size default to torch.distributed or RANK/WORLD_SIZE."""
    urls = expand_shards(shards)
    keys = None
    if where:
        urls, keys = select_by_query(urls, where, catalog_root)
    ds = _Pipeline(urls, buckets or BucketTable.default(), LoaderStats(), seed, skip_bad, keys,
                   shuffle_buffer, drop_last, rank, world_size)  # fmt: skip
    return Loader(ds, num_workers)


def cycle_epochs(loader, source: str | None = None) -> Iterator[dict]:
    """Batches from `loader` pass after pass (`set_epoch` reshuffles each pass), so a trainer's
    step count, not the data size, decides how long a run is. A pass with no batch is an error
    (no usable clips, or clips shorter than every bucket's frame count), not an endless loop."""
    epoch = 0
    while True:
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        n = 0
        for batch in loader:
            n += 1
            yield batch
        if n == 0:
            raise InputError(source, "the loader yields no batches (no usable clips in the shards, or clips "
                                     "shorter than the buckets' frame counts?)")
        epoch += 1
