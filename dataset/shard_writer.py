"""Kept clips -> WebDataset tar shards, each with a sibling Parquet file and a stats file.

Layout of SHARDS_DIR (all names final only once complete):
    NAME-000000.tar          samples: KEY.mp4 (RGB, H.264), KEY.depth.mkv|.depth.npz, KEY.json
    NAME-000000.stats.json   shard summary
    NAME-000000.parquet      one row per clip (curation columns + shard facts); written LAST, so a
                             shard is "in the catalog" only once tar and stats are in place
    _dataset.json            written when every clip is sharded
Files are written as `.NAME-000000.*.tmp` and renamed. Clips are sorted by (recording_id,
start_frame, clip_id) and packed greedily, so shard membership is a pure function of the input
and the config; encoding is deterministic (fixed x264 threads, bit-exact muxers, fixed tar
mtime/owner), so a rerun after a kill at any moment rewrites the unfinished shard identically
and skips the finished ones.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import webdataset as wds

from capture.errors import InputError
from dataset.config import ShardConfig
from dataset.depth_store import EXTENSIONS, encode_depth
from dataset.rgb_store import encode_rgb
from dataset.shard_schema import SHARD_SCHEMA

SHARD_RE = re.compile(r"^(?P<name>.+)-(?P<index>\d{6})\.(tar|parquet|stats\.json)$")
FramesFn = Callable[[dict], tuple[np.ndarray, np.ndarray]]


@dataclass
class WriteResult:
    shards: list[str]  # tar paths, in order
    written: list[str]  # shards written by this run (the rest were complete already)
    num_clips: int
    num_frames: int


def shard_name(name: str, index: int) -> str:
    return f"{name}-{index:06d}"


def write_arrays(
    items: Iterable[tuple[dict, np.ndarray, np.ndarray]],
    out_dir: str | Path,
    config: ShardConfig | None = None,
    recordings: dict[str, dict] | None = None,
    progress: bool = False,
) -> WriteResult:
    """Core entry for in-memory clips: (clip_row, rgb (T,H,W,3) uint8, depth (T,H,W) float32)."""
    rows, frames = [], {}
    for row, rgb, depth in items:
        rows.append(row)
        frames[row["clip_id"]] = (rgb, depth)
    return write_shards(rows, lambda r: frames[r["clip_id"]], out_dir, config, recordings, progress)


def write_shards(
    clip_rows: Iterable[dict],
    frames_fn: FramesFn,
    out_dir: str | Path,
    config: ShardConfig | None = None,
    recordings: dict[str, dict] | None = None,
    progress: bool = False,
    overwrite: bool = False,
) -> WriteResult:
    """Write the kept clips of `clip_rows` as shards in `out_dir`; frames come from `frames_fn(row)`.

    Resumable: complete shards (tar + stats + parquet) are kept and their clips skipped; leftover
    temp files are removed. Raises InputError when complete shards disagree with this input/config
    (use overwrite=True or a fresh directory)."""
    config = config or ShardConfig()
    recordings = recordings or {}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = sorted(
        (r for r in clip_rows if r.get("decision", "kept") == "kept"),
        key=lambda r: (str(r["recording_id"]), int(r["start_frame"]), str(r["clip_id"])),
    )
    ids = [r["clip_id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise InputError(out, "the same clip_id appears twice in the input (same clip curated twice?)")
    for p in out.iterdir():
        if p.name.startswith(".") and p.name.endswith(".tmp"):
            p.unlink()  # what a killed run left behind
    if overwrite:
        for p in out.iterdir():
            if SHARD_RE.match(p.name) or p.name == "_dataset.json":
                p.unlink()
    done, pos = _complete_prefix(out, config, ids)
    shards = [str(out / f"{shard_name(config.name, i)}.tar") for i in range(len(done))]
    written: list[str] = []
    bar = _progress(len(rows) - pos, progress)
    index = len(done)
    shard: _OpenShard | None = None
    for row in rows[pos:]:
        sample, facts = _encode_sample(row, frames_fn, config, recordings.get(row["recording_id"], {}))
        size = sum(_member_bytes(len(v)) for k, v in sample.items() if k != "__key__")
        if shard is not None:
            full = config.max_shard_samples is not None and len(shard.rows) >= config.max_shard_samples
            if full or shard.bytes + size + 1024 > config.max_shard_bytes:
                written.append(shard.finish())
                shards.append(written[-1])
                index, shard = index + 1, None
        if shard is None:
            shard = _OpenShard(out, config, index)
        facts["sample_bytes"] = size
        shard.add(row, sample, facts, size)
        bar.update(1)
    if shard is not None:
        written.append(shard.finish())
        shards.append(written[-1])
    bar.close()
    summary = {
        "shards": [Path(s).name for s in shards],
        "num_clips": len(rows),
        "num_frames": int(sum(int(r["num_frames"]) for r in rows)),
        "shard_config_hash": config.config_hash(),
        "config": config.model_dump(mode="json"),
    }
    _atomic_write(out / "_dataset.json", json.dumps(summary, indent=1, sort_keys=True).encode())
    return WriteResult(shards, written, summary["num_clips"], summary["num_frames"])


def _complete_prefix(out: Path, config: ShardConfig, ids: list[str]) -> tuple[list[str], int]:
    """Complete shards 0..k-1 from an earlier run, checked against this input; returns (names, clips)."""
    done, pos, index = [], 0, 0
    while True:
        base = out / shard_name(config.name, index)
        parts = [base.with_suffix(".tar"), Path(f"{base}.stats.json"), base.with_suffix(".parquet")]
        if not all(p.exists() for p in parts):
            break
        stats = json.loads(parts[1].read_text())
        if stats.get("shard_config_hash") != config.config_hash():
            raise InputError(base.with_suffix(".tar"), "shard was written with another shard config; "
                             "use a fresh output directory or --overwrite")  # fmt: skip
        keys = pq.read_table(parts[2], columns=["clip_id"]).column("clip_id").to_pylist()
        if keys != ids[pos : pos + len(keys)]:
            raise InputError(base.with_suffix(".parquet"), "existing shard holds other clips than this "
                             "input puts there (input changed?); use a fresh output directory or --overwrite")  # fmt: skip
        done.append(str(parts[0]))
        pos += len(keys)
        index += 1
    # Later files (a shard rewritten after an incomplete one) are stale: remove them.
    for p in out.iterdir():
        m = SHARD_RE.match(p.name)
        if m and m["name"] == config.name and int(m["index"]) >= index:
            p.unlink()
    return done, pos


def _encode_sample(row: dict, frames_fn: FramesFn, config: ShardConfig, rec: dict):
    key = str(row["clip_id"])
    if "." in key or "/" in key:
        raise InputError(None, f"clip id {key!r} is not a valid sample key (no dots or slashes)")
    rgb, depth = frames_fn(row)
    rgb, depth = np.asarray(rgb), np.asarray(depth, dtype=np.float32)
    n = int(row["num_frames"])
    if rgb.shape[0] != n or depth.shape[0] != n or rgb.shape[1:3] != depth.shape[1:3]:
        raise InputError(row.get("manifest"), f"clip {key}: frames do not match the record "
                         f"(num_frames={n}, rgb {rgb.shape}, depth {depth.shape})")  # fmt: skip
    rgb_bytes = encode_rgb(rgb, float(row.get("fps") or 30.0), config.rgb_crf, config.rgb_preset,
                           config.rgb_pix_fmt, config.rgb_threads)  # fmt: skip
    depth_bytes = encode_depth(depth, config.depth_encoding)
    valid = np.isfinite(depth)
    vals = depth[valid]
    stats = {
        "depth_min": float(vals.min()) if vals.size else math.nan,
        "depth_max": float(vals.max()) if vals.size else math.nan,
        "depth_mean": float(vals.mean(dtype=np.float64)) if vals.size else math.nan,
        "depth_median": float(np.median(vals)) if vals.size else math.nan,
        "valid_fraction": float(valid.mean()),
    }
    record = {
        **{k: _plain(v) for k, v in row.items()},
        "game": rec.get("game", row.get("game", "unknown")),
        "tags": dict(rec.get("tags") or row.get("tags") or {}),
        "depth_unit": rec.get("depth_unit", row.get("depth_unit", "")),
        "width": int(rgb.shape[2]),
        "height": int(rgb.shape[1]),
        "depth_encoding": config.depth_encoding,
        "rgb_codec": "h264",
        "rgb_crf": config.rgb_crf,
        **stats,
    }
    json_bytes = json.dumps(_nan_to_none(record), sort_keys=True).encode()
    sample = {"__key__": key, "mp4": rgb_bytes, EXTENSIONS[config.depth_encoding]: depth_bytes, "json": json_bytes}
    digest = hashlib.sha256()
    for k in sorted(k for k in sample if k != "__key__"):
        digest.update(k.encode() + b"\0" + sample[k])
    facts = {
        **record,
        "rgb_bytes": len(rgb_bytes),
        "depth_bytes": len(depth_bytes),
        "json_bytes": len(json_bytes),
        "sample_sha256": digest.hexdigest(),
    }
    return sample, facts


class _OpenShard:
    """A shard being written: samples stream into a hidden temp tar; finish() commits it."""

    def __init__(self, out: Path, config: ShardConfig, index: int):
        self.out, self.config, self.base = out, config, shard_name(config.name, index)
        self.tmp_tar = out / f".{self.base}.tar.tmp"
        self.file = open(self.tmp_tar, "wb")  # noqa: SIM115 - closed in finish()
        # Fixed mtime/owner/mode and sorted member order: the tar is a function of its samples.
        self.writer = wds.TarWriter(self.file, user="", group="", mode=0o444, mtime=config.mtime, encoder=False)
        self.rows: list[tuple[dict, dict]] = []
        self.bytes = 0

    def add(self, row: dict, sample: dict, facts: dict, size: int) -> None:
        self.writer.write(sample)
        self.rows.append((row, facts))
        self.bytes += size

    def finish(self) -> str:
        self.writer.close()
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        return _commit_shard(self.out, self.config, self.base, self.tmp_tar, self.rows)


def _commit_shard(out: Path, config: ShardConfig, base: str, tmp_tar: Path, pending: list) -> str:
    tar_path, stats_path, pq_path = out / f"{base}.tar", out / f"{base}.stats.json", out / f"{base}.parquet"
    tar_bytes = tmp_tar.stat().st_size
    rows = []
    for i, (row, facts) in enumerate(pending):
        full = {**{c: row.get(c) for c in SHARD_SCHEMA.names}, **facts}
        full.update(shard=tar_path.name, key=str(row["clip_id"]), sample_index=i, shard_tar_bytes=tar_bytes,
                    shard_config_hash=config.config_hash())  # fmt: skip
        full["tags"] = sorted((str(k), str(v)) for k, v in (full.get("tags") or {}).items())
        full["reasons"] = list(full.get("reasons") or [])
        full["errors"] = list(full.get("errors") or [])
        rows.append({c: full.get(c) for c in SHARD_SCHEMA.names})
    table = pa.Table.from_pylist(rows, schema=SHARD_SCHEMA)
    games: dict[str, int] = {}
    for r in rows:
        games[r["game"]] = games.get(r["game"], 0) + 1
    stats = {
        "shard": tar_path.name,
        "num_samples": len(rows),
        "num_frames": int(sum(r["num_frames"] for r in rows)),
        "tar_bytes": tar_bytes,
        "rgb_bytes": int(sum(r["rgb_bytes"] for r in rows)),
        "depth_bytes": int(sum(r["depth_bytes"] for r in rows)),
        "games": dict(sorted(games.items())),
        "first_clip": rows[0]["clip_id"],
        "last_clip": rows[-1]["clip_id"],
        "depth_encoding": config.depth_encoding,
        "shard_config_hash": config.config_hash(),
    }
    tmp_pq = out / f".{base}.parquet.tmp"
    pq.write_table(table, tmp_pq, compression="zstd")
    os.replace(tmp_tar, tar_path)
    _atomic_write(stats_path, json.dumps(stats, indent=1, sort_keys=True).encode())
    os.replace(tmp_pq, pq_path)  # last: the parquet is what makes the shard visible to the catalog
    return str(tar_path)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _member_bytes(n: int) -> int:
    return 512 + (n + 511) // 512 * 512


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def _nan_to_none(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _nan_to_none(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_nan_to_none(x) for x in v]
    return v


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="shard", unit="clip", disable=not enabled)


# ---- verification -------------------------------------------------------------------------------


def iter_tar_samples(tar_path: str | Path) -> Iterator[dict]:
    """Samples of a shard tar as {'__key__', ext: bytes}; InputError on a corrupt/truncated tar."""
    current: dict | None = None
    try:
        with tarfile.open(tar_path, "r:") as tf:
            for m in tf:
                if not m.isfile():
                    continue
                key, _, ext = m.name.partition(".")
                if current is not None and current["__key__"] != key:
                    yield current
                    current = None
                if current is None:
                    current = {"__key__": key}
                f = tf.extractfile(m)
                data = f.read() if f else b""
                if len(data) != m.size:
                    raise tarfile.ReadError(f"member {m.name} truncated")
                current[ext] = data
    except (tarfile.TarError, OSError, EOFError) as e:
        raise InputError(tar_path, f"shard is corrupt or truncated: {e}") from None
    if current is not None:
        yield current


def verify_shard(tar_path: str | Path) -> int:
    """Check a tar against its sibling Parquet (keys, order, sizes, content hashes); returns #samples."""
    tar_path = Path(tar_path)
    pq_path = tar_path.with_suffix(".parquet")
    if not pq_path.exists():
        raise InputError(pq_path, "shard has no sibling Parquet file")
    try:
        table = pq.read_table(pq_path)
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(pq_path, f"Parquet file cannot be read: {e}") from None
    missing = [c for c in ("key", "sample_sha256", "rgb_bytes", "depth_bytes") if c not in table.column_names]
    if missing:
        raise InputError(pq_path, f"not a shard Parquet file: missing columns {missing}")
    rows = table.select(["key", "sample_sha256", "rgb_bytes", "depth_bytes", "depth_encoding"]).to_pylist()
    if rows and tar_path.stat().st_size != table.column("shard_tar_bytes")[0].as_py():
        raise InputError(tar_path, f"tar is {tar_path.stat().st_size} bytes but its Parquet says "
                         f"{table.column('shard_tar_bytes')[0].as_py()}")  # fmt: skip
    n = 0
    for sample, row in zip(iter_tar_samples(tar_path), rows, strict=False):
        if sample["__key__"] != row["key"]:
            raise InputError(pq_path, f"row {n} names sample {row['key']} but the tar holds "
                             f"{sample['__key__']} there: Parquet does not match its tar")  # fmt: skip
        digest = hashlib.sha256()
        for k in sorted(k for k in sample if k != "__key__"):
            digest.update(k.encode() + b"\0" + sample[k])
        if digest.hexdigest() != row["sample_sha256"]:
            raise InputError(tar_path, f"sample {row['key']}: content hash differs from the Parquet record")
        n += 1
    if n != len(rows):
        raise InputError(pq_path, f"Parquet lists {len(rows)} samples but the tar holds {n}")
    return n


# ---- curated dirs -> frames via capture ---------------------------------------------------------


def read_curated(curated_dirs: Iterable[str | Path]) -> tuple[list[dict], dict[str, dict]]:
    """clip rows and recording rows (by id) of one or more curate output dirs."""
    clips: list[dict] = []
    recordings: dict[str, dict] = {}
    for d in curated_dirs:
        d = Path(d)
        cp = d / "clips.parquet"
        if not cp.exists():
            raise InputError(cp, "curated directory has no clips.parquet (was curate run on it?)")
        try:
            clips.extend(pq.read_table(cp).to_pylist())
            rp = d / "recordings.parquet"
            if rp.exists():
                for r in pq.read_table(rp).to_pylist():
                    if isinstance(r.get("tags"), list):  # Arrow map -> list of pairs
                        r["tags"] = dict(r["tags"])
                    recordings[r["recording_id"]] = r
        except (pa.ArrowInvalid, OSError) as e:
            raise InputError(d, f"cannot read curated Parquet: {e}") from None
    return clips, recordings


def capture_frames_fn(recordings: dict[str, dict]) -> FramesFn:
    """frames_fn that reads a clip's frames through capture.open_recording (one recording open at a time)."""
    from capture import open_recording

    cache: dict[str, object] = {}

    def frames(row: dict) -> tuple[np.ndarray, np.ndarray]:
        manifest = row.get("manifest") or recordings.get(row["recording_id"], {}).get("manifest")
        if manifest not in cache:
            cache.clear()  # clips come sorted by recording: keep only the current one open
            cache[manifest] = open_recording(manifest)
        pairs = cache[manifest].read(int(row["start_frame"]), int(row["end_frame"]))
        return np.stack([p.rgb for p in pairs]), np.stack([p.depth for p in pairs]).astype(np.float32)

    return frames


def shard_curated(
    curated_dirs: Iterable[str | Path], out_dir: str | Path, config: ShardConfig | None = None,
    progress: bool = True, overwrite: bool = False,
) -> WriteResult:  # fmt: skip
    """`synthdepth shard`: kept clips of curated dirs -> shards in out_dir."""
    clips, recordings = read_curated(curated_dirs)
    return write_shards(clips, capture_frames_fn(recordings), out_dir, config, recordings, progress, overwrite)
