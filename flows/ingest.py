"""Finding recordings in a folder, validating them, and registering the ones that fail.

Plain functions (no Prefect here): the flows in `flows/pipeline.py` wrap them in tasks.
A recording that fails validation is registered in the catalog as `failed` with its error:
`ROOT/curated/<recording_id>/recordings.parquet` gets its row (and empty clip/span tables), so
`SELECT * FROM recordings WHERE status = 'failed'` lists it and the frame accounting still adds up.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from capture.errors import InputError

MANIFEST_SUFFIXES = (".json", ".yaml", ".yml")
# Files next to manifests that are not manifests (simulator sidecars, our own markers, shard stats).
_NOT_MANIFESTS = {"faults.json", "_DONE.json", "_dataset.json", "results.json", "model_config.json",
                  "trainer_state.json"}


@dataclass
class Ingested:
    """One recording as ingest saw it (a row of the run summary; `status` ok | failed)."""

    manifest: str
    recording_id: str
    status: str = "ok"
    error: str | None = None
    game: str = "unknown"
    tags: dict[str, str] = field(default_factory=dict)
    num_frames: int = 0
    fps: float = 0.0
    width: int = 0
    height: int = 0
    depth_unit: str = ""

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps if self.fps else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "duration_s": self.duration_s}


def _looks_like_manifest(path: Path) -> bool:
    if path.name in _NOT_MANIFESTS or path.name.endswith(".stats.json") or path.name.startswith("."):
        return False
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError):
        return True  # unreadable: let validation report it
    except (json.JSONDecodeError, yaml.YAMLError):
        return True  # a broken manifest is still a recording someone dropped here
    return isinstance(data, dict) and ("media" in data or "layout" in data)


def find_manifests(source: str | Path | list) -> list[Path]:
    """Manifests in a folder (searched recursively), or the given list of manifest paths."""
    if isinstance(source, (list, tuple)):
        out: list[Path] = []
        for s in source:
            out.extend(find_manifests(s))
        return sorted(set(out))
    p = Path(source)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise InputError(p, "recordings folder or manifest not found")
    return sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in MANIFEST_SUFFIXES
                  and "/." not in f.as_posix() and _looks_like_manifest(f))


def peek_recording_id(manifest: str | Path) -> str:
    """The manifest's `id` if it can be read, else the file's stem (a broken manifest still gets a name)."""
    manifest = Path(manifest)
    try:
        text = manifest.read_text()
        data = json.loads(text) if manifest.suffix == ".json" else yaml.safe_load(text)
        rid = data.get("id") if isinstance(data, dict) else None
        if isinstance(rid, str) and rid.strip() and "/" not in rid and not rid.startswith("."):
            return rid.strip()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError):
        pass
    return manifest.stem


def validate_recording(manifest: str | Path, recording_id: str | None = None) -> Ingested:
    """Check the manifest and that its media open; bad input -> status 'failed' with the error.

    A transient I/O error (OSError that is not an InputError) is raised, so the task retries it."""
    manifest = Path(manifest)
    rid = recording_id or peek_recording_id(manifest)
    out = Ingested(manifest=str(manifest), recording_id=rid)
    try:
        from capture import load_manifest, open_recording

        m = load_manifest(manifest)
        rec = open_recording(manifest)
        try:
            out.recording_id = rec.id
            out.game, out.tags = m.game, dict(m.tags)
            out.num_frames, out.fps = len(rec), float(rec.fps)
            out.width, out.height = int(rec.width), int(rec.height)
            out.depth_unit = rec.depth_unit
        finally:
            rec.close()
        if out.num_frames == 0:
            raise InputError(manifest, "recording has no frames")
    except InputError as e:
        out.status, out.error = "failed", f"{type(e).__name__}: {e}"
    except OSError:
        raise  # transient: retried by the task
    except Exception as e:  # a decoder error on corrupt media is bad input too
        out.status, out.error = "failed", f"{type(e).__name__}: {e}"
    return out


def register_failed(item: Ingested, folder: Path, key: str, curate_config) -> None:
    """Publish `folder` (ROOT/curated/<id>/) holding only the failed recording's row and its error."""
    from common.records import RecordingInfo
    from curate.pipeline import RecordingResult, write_results
    from flows.incremental import fresh_tmp, publish

    info = RecordingInfo(recording_id=item.recording_id, manifest=item.manifest, game=item.game,
                         tags=item.tags, status="failed", errors=[item.error or "failed"])
    tmp = fresh_tmp(folder)
    write_results([RecordingResult(info=info)], tmp, curate_config, [])
    publish(tmp, folder, key, {"status": "failed", "recording_id": item.recording_id, "error": item.error})
