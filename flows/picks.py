"""The picked clean clips the bootstrap trains and calibrates on, read one way for the CLI and the
flow.

Picks are read as curation reads a recording: the analysis copy (`Recording.stream(analysis_size=)`,
picture area-averaged and depth sampled straight from the decoded planes) at the size curation
will use. So the calibration scores a held-out clip from exactly the frames curation scores it
from, and a minute of 1080p picks costs ~100 MB instead of ~25 GB of full-size frames (the model
trains at 128 px anyway)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from common.frames import ScoreSizes, analysis_size


def read_picks(rows: list[tuple[str, int, int]], sizes: ScoreSizes,
               say: Callable[[str], None] = print) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rgb uint8 (T,h,w,3), depth float32 (T,h,w)) per readable pick [start, end) of its
    recording, at `analysis_size(..., sizes.analysis_width)`. A pick that gives no frames is
    skipped with a message; one that cannot be opened raises (InputError names the file)."""
    from capture import open_recording

    clips = []
    for manifest, start, end in rows:
        with open_recording(manifest) as rec:
            size = analysis_size(int(rec.width), int(rec.height), sizes.analysis_width)
            pairs = rec.read(start, end, analysis_size=size)
        if not pairs:
            say(f"{manifest}: [{start}, {end}) gave no frames; skipped")
            continue
        rgb = np.stack([p.rgb for p in pairs])
        depth = np.stack([p.depth for p in pairs]).astype(np.float32)
        clips.append((rgb, depth))
        say(f"{manifest} [{start}, {end}): {len(pairs)} frames, read at {size[0]}x{size[1]}")
    return clips
