"""Finding recordings, naming them, and registering the ones that cannot be curated.

Plain functions (no Prefect here), used by the flows in `flows/pipeline.py`. Whether a recording
can be read is found out by curating it (`curate.pipeline.curate_recording` reports bad input in
its result), so nothing here opens media.

Names. A recording's folder is named by its manifest's `id`. A manifest that cannot be read has
no id, so it is named from its path (`fallback_id`: the file's stem plus a hash of its full
path), which cannot collide with another broken manifest of the same file name elsewhere; its
report row names the manifest file and the problem. Two manifests with the same id: the first (in
path order) is curated, the second is reported with both files named.

A recording that cannot be curated is registered: `<curated>/<id>/recordings.parquet` holds its
`common.records.RecordingInfo` row (status `failed` with its error for bad input, `not_processed`
for an error that may heal) and empty clip/span tables, so `SELECT * FROM recordings WHERE status
<> 'ok'` lists it and the frame accounting still adds up. Only a `failed` one is keyed: a rerun
skips it until its files change; a `not_processed` one is tried again by the next run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from common.errors import ErrorRecord, InputError, is_transient
from common.records import RecordingInfo

MANIFEST_SUFFIXES = (".json", ".yaml", ".yml")
# Files next to manifests that are not manifests (simulator sidecars, our own markers, shard stats).
_NOT_MANIFESTS = {"faults.json", "_DONE.json", "_dataset.json", "results.json", "model_config.json",
                  "trainer_state.json"}


def _parse(path: Path, text: str):
    text = text.lstrip("\ufeff")  # a BOM is not a reason to lose the id
    return yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)


def _looks_like_manifest(path: Path) -> bool:
    if path.name in _NOT_MANIFESTS or path.name.endswith(".stats.json") or path.name.startswith("."):
        return False
    try:
        data = _parse(path, path.read_text())
    except (OSError, UnicodeDecodeError):
        return True  # unreadable: let curation report it
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
        raise InputError(p, "recordings folder or manifest not found", stage="flows", kind="usage")
    return sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in MANIFEST_SUFFIXES
                  and "/." not in f.as_posix() and _looks_like_manifest(f))


def fallback_id(manifest: str | Path) -> str:
    """The id of a recording whose manifest gives none: stem + hash of the absolute path."""
    path = Path(manifest).resolve()
    return f"{path.stem}-{hashlib.sha256(str(path).encode()).hexdigest()[:10]}"


def _usable_id(rid) -> bool:
    return isinstance(rid, str) and bool(rid.strip()) and rid == rid.strip() and "/" not in rid \
        and "\\" not in rid and not rid.startswith(".") and len(rid) <= 200


def peek_recording_id(manifest: str | Path) -> str | None:
    """The manifest's `id`, or None when it cannot be read or gives no usable id. A transient
    read error (EIO on a share) is raised: the recording is then not processed this time."""
    manifest = Path(manifest)
    try:
        text = manifest.read_bytes().decode("utf-8")
        data = _parse(manifest, text)
    except OSError as e:
        if is_transient(e):
            raise
        return None
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError):
        return None
    rid = data.get("id") if isinstance(data, dict) else None
    return rid if _usable_id(rid) else None


def register(info: RecordingInfo, folder: Path, key: str | None, curate_config) -> None:
    """Publish `folder` holding only this recording's row (status failed or not_processed) and
    empty clip/span tables. `key` None: not keyed, so the next run tries the recording again."""
    from curate.pipeline import RecordingResult, write_results
    from flows.incremental import fresh_tmp, publish

    tmp = fresh_tmp(folder)
    write_results([RecordingResult(info=info)], tmp, curate_config, [])
    publish(tmp, folder, key or "", {"status": info.status, "recording_id": info.recording_id,
                                     "manifest": info.manifest, "errors": info.errors})


def problem_info(recording_id: str, manifest: str | Path, status: str, error: ErrorRecord | str) -> RecordingInfo:
    """The row of a recording that could not be curated."""
    return RecordingInfo(recording_id=recording_id, manifest=str(manifest), status=status, errors=[str(error)])
