"""One run per data root: `ROOT/.synthdepth.lock`, held with flock while a flow writes to ROOT.

A second run on the same root is refused with `RunLockedError` naming the pid (and host) that
holds it. The kernel drops a flock when its process dies, SIGKILL included, so a lock file left
by a dead run is simply taken over: its pid is overwritten by the new holder's. The lock is
re-entrant within a process (the pipeline flow holds it and calls the curate flow, which takes
it again). Worker processes of a task runner never take it: only the flow that writes does.

On a shared file system the lock is as good as its flock support (local disks and NFSv4 honour it).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common.errors import RunLockedError

_HELD: dict[str, tuple[int, int]] = {}  # real path -> (fd, depth)
_GUARD = threading.Lock()


def holder(lock_path: str | Path) -> dict:
    """What the lock file says about its (last) holder: pid, host, started, command; {} if unreadable."""
    try:
        return json.loads(Path(lock_path).read_text() or "{}")
    except (OSError, ValueError):
        return {}


def _refusal(path: Path) -> RunLockedError:
    h = holder(path)
    who = f"pid {h.get('pid', '?')} on {h.get('host', '?')}"
    since = f", started {h['started']}" if h.get("started") else ""
    cmd = f" ({h['command']})" if h.get("command") else ""
    return RunLockedError(f"{path.parent} is in use by another synthdepth run: {who}{since}{cmd}. Wait for it to "
                          f"finish or stop it; the lock ({path}) is released when that process ends.")


@contextmanager
def root_lock(root: str | Path, lock_path: str | Path | None = None) -> Iterator[Path]:
    """Hold the run lock of `root` for the duration of the block (RunLockedError if another
    process holds it)."""
    path = Path(lock_path) if lock_path else Path(root) / ".synthdepth.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(path)
    with _GUARD:
        if key in _HELD:
            fd, depth = _HELD[key]
            _HELD[key] = (fd, depth + 1)
        else:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                os.close(fd)
                if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise _refusal(path) from None
                raise
            # Ours now (a dead holder's pid, if any, is overwritten).
            info = {"pid": os.getpid(), "host": socket.gethostname(),
                    "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "command": " ".join(sys.argv[:3])}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
            _HELD[key] = (fd, 1)
    try:
        yield path
    finally:
        with _GUARD:
            fd, depth = _HELD[key]
            if depth > 1:
                _HELD[key] = (fd, depth - 1)
            else:
                del _HELD[key]
                # The file stays (removing it would race with a run that just opened it); the
                # flock is what counts.
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
