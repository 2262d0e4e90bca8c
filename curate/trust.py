"""Whether the bootstrap model has earned a vote, from the calibration stored in its checkpoint.

`synthdepth bootstrap train` holds out clean picks (whole, with `--holdout-picks`, or windows of
the trained-on ones) and stores how well the trained model scores them, exactly as curation scores
a clip. A model whose held-out clean clips already score poorly cannot tell a menu from a clean
frame: its depth score would drop clean clips at random and its misalignment check would fire on
clean frames. Depth Any Video (§2) warns of exactly this ("excessive filtering of unseen data").
So curation uses the model only when its held-out delta1 median reaches `trust_delta1`, and says
which way it went, with the figures, in the log, the report and `recordings.parquet`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Trust:
    trusted: bool
    note: str
    delta1_median: float = float("nan")
    clips: int = 0


def bootstrap_trust(calibration: dict | None, min_delta1: float, min_clips: int) -> Trust:
    """Trusted when the checkpoint's held-out clean clips (at least `min_clips`) have a delta1
    median of at least `min_delta1`."""
    if calibration is None:
        return Trust(False, "bootstrap NOT USED: its checkpoint has no calibration (held-out clean clips), so "
                            "nothing shows it can tell clean from broken; retrain it with `synthdepth bootstrap "
                            "train` (which holds out picks) to let it vote")
    d1 = np.asarray(calibration.get("delta1") or [], dtype=np.float64)
    d1 = d1[np.isfinite(d1)]
    kind = "unseen picks" if calibration.get("held_out") == "whole clips" else "held-out windows of its picks"
    if d1.size < min_clips:
        return Trust(False, f"bootstrap NOT USED: its calibration has {d1.size} held-out clean clips (< {min_clips}); "
                            "give `synthdepth bootstrap train` more picks", clips=int(d1.size))
    med = float(np.median(d1))
    if med < min_delta1:
        return Trust(False, f"bootstrap NOT USED: on {d1.size} clean {kind} it scored delta1 median {med:.2f} "
                            f"(< {min_delta1:.2f}): too weak to tell clean from broken footage. Its depth score and "
                            "misalignment check are off; the model-free frame checks (and CLIP, with weights) decide. "
                            "Train it longer or on more picks (`synthdepth bootstrap train --steps ...`).",
                     med, int(d1.size))
    return Trust(True, f"bootstrap used: delta1 median {med:.2f} on {d1.size} clean {kind} (>= {min_delta1:.2f})",
                 med, int(d1.size))
