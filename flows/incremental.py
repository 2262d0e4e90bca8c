"""Content keys and completion markers that make reruns incremental and kill-safe.

A unit of work (one recording's curation, one shard set) is keyed on the content of its
inputs plus the config hash. Its outputs go to a folder that is renamed into place only
when complete, with the key inside; a rerun finds the key and skips the work.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

_CHUNK = 1 << 20


def file_fingerprint(path: Path) -> str:
    """sha256 of size + first and last MiB: cheap for hour-long videos, changes when the file does."""
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(str(size).encode())
    with path.open("rb") as f:
        h.update(f.read(_CHUNK))
        if size > 2 * _CHUNK:
            f.seek(-_CHUNK, 2)
            h.update(f.read(_CHUNK))
    return h.hexdigest()


def _media_files(manifest_path: Path) -> list[Path]:
    """Files a manifest points at (patterns expand to the files that exist)."""
    try:
        text = manifest_path.read_text()
        if manifest_path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception:  # unreadable or not JSON/YAML: the manifest bytes alone make the key
        return []
    if not isinstance(data, dict):
        return []
    base = manifest_path.parent
    out: list[Path] = []
    media = data.get("media") or {}
    names = [v for v in media.values() if isinstance(v, str)]
    if isinstance(data.get("hud_mask"), str):
        names.append(data["hud_mask"])
    for name in names:
        p = base / name
        if "%" in name:
            out.extend(sorted(p.parent.glob("*")) if p.parent.is_dir() else [])
        elif p.is_dir():
            out.extend(sorted(x for x in p.iterdir() if x.is_file()))
        elif p.exists():
            out.append(p)
    return out


def recording_key(manifest_path: str | Path, config_hash: str) -> str:
    """Key of one recording's curation: manifest bytes + media fingerprints + config hash."""
    manifest_path = Path(manifest_path)
    h = hashlib.sha256(config_hash.encode())
    try:
        h.update(manifest_path.read_bytes())
    except OSError:
        h.update(b"<unreadable manifest>")
    for f in _media_files(manifest_path):
        h.update(f.name.encode())
        h.update(file_fingerprint(f).encode())
    return h.hexdigest()[:24]


MARKER = "_DONE.json"


def is_done(folder: Path, key: str) -> bool:
    marker = folder / MARKER
    if not marker.exists():
        return False
    try:
        return json.loads(marker.read_text()).get("key") == key
    except (OSError, json.JSONDecodeError):
        return False


def publish(tmp: Path, final: Path, key: str, info: dict | None = None) -> None:
    """Write the marker into a finished temp folder and rename it into place.

    The rename is the commit point: a reader sees the old folder or the complete new one,
    never a half-written one; a kill before it leaves only a `.tmp-*` folder to discard.
    """
    (tmp / MARKER).write_text(json.dumps({"key": key, **(info or {})}, indent=2))
    if final.exists():
        # Hidden name: readers (the catalog skips dot-names) never see the old copy twice.
        old = final.with_name(f".old-{final.name}")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)


def fresh_tmp(final: Path) -> Path:
    """A clean temp folder beside `final` (leftovers of a killed run are removed)."""
    tmp = final.with_name(f".tmp-{final.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(final.with_name(f".old-{final.name}"), ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def mark_done(folder: Path, key: str, info: dict | None = None) -> None:
    """Write the completion marker of work done in place (resumable writers such as the shard
    writer), atomically: the marker only appears once the work is complete."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{MARKER}.tmp"
    tmp.write_text(json.dumps({"key": key, **(info or {})}, indent=2))
    tmp.replace(folder / MARKER)


def read_marker(folder: Path) -> dict:
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def combine_keys(*parts: str) -> str:
    """One key from several (order matters): sha256 of the parts joined."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]
