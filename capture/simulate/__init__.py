"""Recording simulator: procedural 3D scenes rendered with exact metric depth, camera poses and
intrinsics, labelled faults (menus, lagging/frozen depth, loading screens, cuts, HUD, fades),
written the way ReShade + OBS would, with a ground-truth sidecar."""

from capture.simulate.api import (
    SimFrame,
    SimulatedSequence,
    iter_frames,
    load_ground_truth,
    simulate_dataset,
    simulate_recording,
    simulate_sequence,
)
from capture.simulate.config import SimConfig
from capture.simulate.faults import BOUNDARY_KINDS, DROP_KINDS, FAULT_KINDS
from capture.simulate.scenes import SCENE_KINDS
from capture.simulate.timeline import build_timeline

__all__ = [
    "BOUNDARY_KINDS",
    "DROP_KINDS",
    "FAULT_KINDS",
    "SCENE_KINDS",
    "SimConfig",
    "SimFrame",
    "SimulatedSequence",
    "build_timeline",
    "iter_frames",
    "load_ground_truth",
    "simulate_dataset",
    "simulate_recording",
    "simulate_sequence",
]
