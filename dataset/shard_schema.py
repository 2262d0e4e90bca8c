"""Parquet schema of the per-shard files (light to import: the catalog needs it, not the encoders)."""

from __future__ import annotations

import pyarrow as pa

from common.schema import CLIP_SCHEMA, extend

# Parquet schema of the per-shard files: the clip row (common.schema) extended by name with the
# recording's facts and the shard's own columns, so every column curation writes is kept.
SHARD_SCHEMA = extend(
    CLIP_SCHEMA,
    [
        ("game", pa.string()),
        ("tags", pa.map_(pa.string(), pa.string())),
        ("depth_unit", pa.string()),
        ("width", pa.int64()),
        ("height", pa.int64()),
        ("shard", pa.string()),  # file name of the tar, e.g. shard-000003.tar
        ("key", pa.string()),  # sample key inside the tar (= clip_id)
        ("sample_index", pa.int64()),  # position in the tar
        ("rgb_bytes", pa.int64()),
        ("depth_bytes", pa.int64()),
        ("json_bytes", pa.int64()),
        ("sample_bytes", pa.int64()),  # bytes the sample occupies in the tar (headers + padding)
        ("sample_sha256", pa.string()),  # hash of the three members' bytes, for verify / reruns
        ("shard_tar_bytes", pa.int64()),
        ("depth_encoding", pa.string()),
        ("rgb_codec", pa.string()),
        ("rgb_crf", pa.int64()),
        ("depth_min", pa.float64()),
        ("depth_max", pa.float64()),
        ("depth_mean", pa.float64()),
        ("depth_median", pa.float64()),
        ("valid_fraction", pa.float64()),
        ("shard_config_hash", pa.string()),
    ]
)
