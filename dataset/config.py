"""Typed configs of the dataset stage: shard writing and the training loader."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from capture.config import StageConfig

DepthEncoding = Literal["ffv1_f16", "npz_f16", "npz_f32"]


class ShardConfig(StageConfig):
    """How kept clips become WebDataset shards. Everything here is in the config hash."""

    name: str = "shard"  # shards are NAME-000000.tar (+ .parquet, .stats.json)
    max_shard_bytes: int = Field(1_000_000_000, gt=0)  # roll over before a shard passes this size
    max_shard_samples: int | None = Field(None, gt=0)  # or this many clips, whichever comes first
    rgb_crf: int = Field(18, ge=0, le=51)  # libx264 constant rate factor (0 = lossless in YUV)
    rgb_preset: str = "medium"
    rgb_pix_fmt: Literal["yuv420p", "yuv444p"] = "yuv420p"
    # x264 output depends on its thread count; a fixed count makes the bitstream identical on
    # every machine, which is what makes reruns byte-identical.
    rgb_threads: int = Field(1, ge=1)  # one x264 thread: frame threads made output vary between runs
    # FFV1 over the float16 bit pattern: bit-exact float16 incl. NaN, smallest on game depth and
    # decodes fast (see dataset/depth_store.py and bench/packing_and_encoding.py).
    depth_encoding: DepthEncoding = "ffv1_f16"
    mtime: int = 0  # tar member mtime: fixed so tars are byte-identical across runs


class LoaderConfig(StageConfig):
    """Training loader settings (the bucket table itself lives in dataset.packing.BucketTable)."""

    seed: int = 0
    shuffle_buffer: int = Field(64, ge=0)  # samples; 0 = no shuffling
    shuffle_shards: bool = True
    num_workers: int = Field(0, ge=0)
    skip_bad: bool = True
    drop_last: bool = False  # drop the partial batches left in each bucket at the end of a pass
    where: str | None = None  # DuckDB filter over the `clips` view
    catalog_root: str | None = None
