"""The frame checks, in the order that decides which reason a frame gets when several fire.

Adding a check: write one file with a `FrameCheck` subclass in this folder and list it here.
Its config section, its reason in the report (`fault:<name>`, with its `meaning`), its mask in the
results and the benches follow from this list.
"""

from __future__ import annotations

from curate.frame_checks.base import FrameCheck
from curate.frame_checks.black import Black
from curate.frame_checks.depth_lag import DepthLag
from curate.frame_checks.fade import Fade
from curate.frame_checks.flat_depth import FlatDepth
from curate.frame_checks.frozen_depth import FrozenDepth
from curate.frame_checks.frozen_rgb import FrozenRgb
from curate.frame_checks.invalid_depth import InvalidDepth
from curate.frame_checks.misaligned import Misaligned
from curate.frame_checks.overlay import Overlay

# Picture faults first: the depth checks and the lag's end search read their spans.
REGISTRY: tuple[type[FrameCheck], ...] = (
    Black, InvalidDepth, FlatDepth, Fade, Overlay, FrozenDepth, FrozenRgb, DepthLag, Misaligned,
)
CHECK_NAMES: tuple[str, ...] = tuple(c.name for c in REGISTRY)
MEANINGS: dict[str, str] = {c.name: c.meaning for c in REGISTRY}
