"""Arrow schemas of every row kind, derived from the typed records in one place.

`CLIP_SCHEMA`, `SPAN_SCHEMA` and `RECORDING_SCHEMA` follow `common.records` field by field (the
clip's scores inlined, `clip_id` and `num_frames` added as `Clip.to_row` adds them). Other writers
extend a schema by column name with `extend(schema, [...])`; readers select columns by name, never
by position.
"""

from __future__ import annotations

import dataclasses
import types
import typing

import pyarrow as pa

from common.records import Clip, ClipScores, RecordingInfo, Span

_SCALARS = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}


def _arrow_type(tp) -> pa.DataType:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):  # Optional[X]: nullable X
        (inner,) = [a for a in args if a is not type(None)]
        return _arrow_type(inner)
    if origin is list:
        return pa.list_(_arrow_type(args[0]))
    if origin is dict:
        return pa.map_(_arrow_type(args[0]), _arrow_type(args[1]))
    if tp in _SCALARS:
        return _SCALARS[tp]
    raise TypeError(f"no Arrow type for {tp!r}")


def _fields(cls, inline: dict[str, type] | None = None, extra_after: dict[str, list[tuple[str, pa.DataType]]] | None = None
            ) -> list[pa.Field]:
    hints = typing.get_type_hints(cls)
    out: list[pa.Field] = []
    for f in dataclasses.fields(cls):
        if inline and f.name in inline:
            out += _fields(inline[f.name])
        else:
            out.append(pa.field(f.name, _arrow_type(hints[f.name])))
        for name, t in (extra_after or {}).get(f.name, []):
            out.append(pa.field(name, t))
    return out


def record_schema(cls) -> pa.Schema:
    """The schema of a flat dataclass's `asdict` row."""
    return pa.schema(_fields(cls))


CLIP_SCHEMA = pa.schema(
    [pa.field("clip_id", pa.string()),
     *_fields(Clip, inline={"scores": ClipScores}, extra_after={"end_frame": [("num_frames", pa.int64())]})]
)
SCORE_COLUMNS = tuple(f.name for f in dataclasses.fields(ClipScores))
SPAN_SCHEMA = record_schema(Span)
RECORDING_SCHEMA = record_schema(RecordingInfo)


def extend(schema: pa.Schema, columns: list[tuple[str, pa.DataType]]) -> pa.Schema:
    """`schema` plus columns appended by name (a name already there is an error, not a silent clash)."""
    for name, _ in columns:
        if name in schema.names:
            raise ValueError(f"column {name!r} is already in the schema")
    return pa.schema([*schema, *(pa.field(n, t) for n, t in columns)])


def recording_row(info: RecordingInfo) -> dict:
    """A RecordingInfo as a row for RECORDING_SCHEMA (maps as key/value pairs)."""
    row = info.to_row()
    row["tags"] = list(row["tags"].items())
    return row


def table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows as a table of exactly `schema` (missing keys are null, unknown keys an error)."""
    names = set(schema.names)
    for r in rows:
        unknown = set(r) - names
        if unknown:
            raise ValueError(f"row has columns not in the schema: {sorted(unknown)}")
    return pa.Table.from_pylist(rows, schema=schema)
