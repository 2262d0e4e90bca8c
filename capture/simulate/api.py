"""Simulate recordings: frames in memory, a recording on disk (via `capture.writer`) with its
ground-truth sidecar, or a small data set of varied recordings.

Sidecar (in the recording's own folder, next to the manifest):
- ground_truth.npz: depth_m (T,H,W) float32, the true view-space depth in metres of the
  world the RGB shows (inf = sky; NaN on frames whose picture shows no world: loading
  screens; under menus and the HUD it is the world behind them: use labels / hud_mask),
  poses_c2w (T,4,4) float64 (OpenCV camera axes, world y up), K (3,3), labels (T,) str
  (comma-joined fault kinds, "" = clean), segment (T,) int, hud_mask (H,W) bool, fps.
- faults.json: [{kind, start_frame, end_frame (half-open), ...kind parameters}].
- truth.json: per-frame fault labels, clean-event (hard-negative) labels, cuts and events
  (`capture.simulate.truth`; the format every evaluation recording shares).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from capture.errors import InputError
from capture.reshade import metres_to_linear
from capture.simulate.camera import intrinsics_from_fov
from capture.simulate.config import SimConfig
from capture.simulate.faults import apply_fade, draw_hud, draw_loading, draw_menu, hud_mask
from capture.simulate.hard_negatives import (
    MOVING_NAMES,
    apply_dark,
    apply_flash,
    apply_fog,
    apply_light,
    light_region_world,
    motion_blur,
    soft_depth,
)
from capture.simulate.render import Renderer
from capture.simulate.scenes import Scene, add_walker, build_scene
from capture.simulate.timeline import RGB_LOADING, RGB_MENU, Timeline, build_timeline
from capture.simulate.truth import GroundTruth, labels_from_events, write_truth

GROUND_TRUTH = "ground_truth.npz"
FAULTS = "faults.json"


@dataclass
class SimulatedSequence:
    """A simulated recording in memory. `depth_m` is what the depth channel shows (faulted);
    `true_depth_m` is the true depth of the world in the picture (see module docstring)."""

    rgb: np.ndarray  # (T,H,W,3) uint8, faulted
    depth_m: np.ndarray  # (T,H,W) float32, faulted depth channel, inf = sky
    true_depth_m: np.ndarray  # (T,H,W) float32
    poses: np.ndarray  # (T,4,4) camera-to-world
    K: np.ndarray  # (3,3)
    labels: list[str]
    faults: list[dict]
    segment: np.ndarray  # (T,) int
    hud_mask: np.ndarray | None
    fps: float
    timeline: Timeline
    clean_labels: list[str] = field(default_factory=list)  # hard-negative kinds per frame


@dataclass
class SimFrame:
    index: int
    rgb: np.ndarray
    depth_m: np.ndarray  # depth channel (faulted)
    true_depth_m: np.ndarray
    pose: np.ndarray
    label: str
    clean: str = ""  # clean-event (hard-negative) kinds of this frame


def _turned(pose: np.ndarray, yaw: float) -> np.ndarray:
    """`pose` turned by `yaw` about the world's up axis through the eye (a fast turn)."""
    if yaw == 0.0:
        return pose
    c, s = np.cos(yaw), np.sin(yaw)
    out = pose.copy()
    out[:3, :3] = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]) @ pose[:3, :3]
    return out


class _WorldCache:
    """Renders of the world per output frame, kept only until the last frame that needs them."""

    def __init__(self, tl: Timeline, renderer: Renderer, scenes: list[Scene], soft_sigma: float | None = None):
        self.tl, self.renderer, self.scenes = tl, renderer, scenes
        self.soft_sigma = soft_sigma
        n = tl.n_frames
        self.last_use = np.arange(n)
        for i, src in enumerate(tl.depth_src):
            if src >= 0:
                self.last_use[src] = max(self.last_use[src], i)
        self.depth: dict[int, np.ndarray] = {}
        self._last_key: tuple | None = None
        self._last: tuple | None = None

    def world(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rgb, true depth, pose) of the world at output frame i (a paused world is not re-rendered);
        the depth channel's view of it is kept for `depth_of`."""
        tl = self.tl
        cam_t = float(tl.camera_time[i]) if tl.camera_time is not None else float(tl.world_time[i])
        yaw = float(tl.yaw_offset[i]) if tl.yaw_offset is not None else 0.0
        key = (int(tl.segment[i]), round(float(tl.world_time[i]), 9), round(cam_t, 9), round(yaw, 9))
        if key != self._last_key:
            scene = self.scenes[key[0]]
            t = float(tl.world_time[i])
            pose = _turned(scene.camera.pose(cam_t), yaw)
            if self.soft_sigma is not None:
                rgb, depth, ids = self.renderer.render(scene, pose, t, with_ids=True)
                names = [p.name in MOVING_NAMES for p in scene.primitives]
                moving = np.asarray(names + [False], bool)[ids]  # id -1 (sky) picks the last: False
                channel = soft_depth(depth, moving, self.soft_sigma)
            else:
                rgb, depth = self.renderer.render(scene, pose, t)
                channel = depth
            self._last_key, self._last = key, (rgb, depth, channel, pose)
        rgb, depth, channel, pose = self._last
        self.depth[i] = channel  # what the game's depth buffer shows (a proxy with soft_depth)
        return rgb, depth, pose

    def depth_of(self, src: int) -> np.ndarray:
        return self.depth[src]

    def release(self, i: int) -> None:
        for j in [j for j in self.depth if self.last_use[j] <= i]:
            del self.depth[j]


def build_scenes(cfg: SimConfig, tl: Timeline) -> list[Scene]:
    """One scene per segment (objects placed clear of the camera path for the segment's length),
    with `cfg.characters` walkers each: one in view of every still, the rest spread out."""
    scenes = [build_scene(s.kind, s.seed, (s.end_frame - s.start_frame) / cfg.fps + 1.0) for s in tl.segments]
    if cfg.characters <= 0 and not any(e.kind == "still" for e in tl.clean_events):
        return scenes
    rng = np.random.default_rng([cfg.seed, 0xC4A2])
    for j, (seg, scene) in enumerate(zip(tl.segments, scenes, strict=True)):
        duration = (seg.end_frame - seg.start_frame) / cfg.fps + 1.0
        frames = [(e.start_frame + e.end_frame) // 2 for e in tl.clean_events
                  if e.kind == "still" and seg.start_frame <= e.start_frame < seg.end_frame]
        spread = max(0, cfg.characters - len(frames))
        frames += [int(f) for f in np.linspace(seg.start_frame, seg.end_frame - 1, spread + 2)[1:-1]]
        for f in frames:
            cam_t = float(tl.camera_time[f]) if tl.camera_time is not None else float(tl.world_time[f])
            add_walker(scene, rng, scene.camera.pose(cam_t), float(tl.world_time[f]), duration)
        assert tl.segment[seg.start_frame] == j
    return scenes


def _clean_picture(rgb: np.ndarray, depth: np.ndarray, pose: np.ndarray, K: np.ndarray, rays: np.ndarray,
                   tl: Timeline, i: int, whole: dict[str, dict], fps: float) -> np.ndarray:
    """The world picture with frame i's clean events on it (depth untouched: picture only)."""
    if "dark" in whole:
        rgb = apply_dark(rgb, whole["dark"])
    for e in tl.clean_of[i] if tl.clean_of else []:
        if e.kind == "light_switch":
            region = None
            if e.params["local"]:
                # A lamp in the world, placed where the camera looked when it switched.
                centre = np.asarray(e.params["centre_world"])
                with np.errstate(invalid="ignore"):
                    pts = (rays * np.where(np.isfinite(depth), depth, np.nan)[..., None]) @ pose[:3, :3].T + pose[:3, 3]
                region = light_region_world(pts, centre, e.params["radius"])
            rgb = apply_light(rgb, e.params, region)
        elif e.kind == "flash":
            rgb = apply_flash(rgb, e.params, i - e.start_frame, e.end_frame - e.start_frame)
    if "fog" in whole:
        rgb = apply_fog(rgb, depth, whole["fog"], i, fps)
    if tl.yaw_rate is not None and tl.yaw_rate[i] != 0.0:
        rgb = motion_blur(rgb, float(tl.yaw_rate[i]), fps, float(K[0, 0]))
    return rgb


def _place_lights(tl: Timeline, scenes: list[Scene]) -> None:
    """World position of each local light switch: in front of the camera at its start."""
    for e in tl.clean_events:
        if e.kind != "light_switch" or not e.params.get("local") or "centre_world" in e.params:
            continue
        i = e.start_frame
        scene = scenes[int(tl.segment[i])]
        cam_t = float(tl.camera_time[i]) if tl.camera_time is not None else float(tl.world_time[i])
        pose = _turned(scene.camera.pose(cam_t), float(tl.yaw_offset[i]) if tl.yaw_offset is not None else 0.0)
        dx, dy = e.params["offset"]
        d = np.array([dx, dy, 1.0])
        d /= np.linalg.norm(d)
        e.params["centre_world"] = [float(v) for v in pose[:3, :3] @ (d * e.params["distance"]) + pose[:3, 3]]


def iter_frames(cfg: SimConfig, timeline: Timeline | None = None,
                scenes: list[Scene] | None = None) -> Iterator[SimFrame]:
    """Frames of the recording `cfg` describes, one at a time (memory does not grow with length)."""
    from capture.simulate.camera import camera_rays

    tl = timeline or build_timeline(cfg)
    K = intrinsics_from_fov(cfg.width, cfg.height, cfg.fov_y_deg)
    renderer = Renderer(cfg.width, cfg.height, K)
    scenes = scenes or build_scenes(cfg, tl)
    _place_lights(tl, scenes)
    whole = {e.kind: e.params for e in tl.clean_events if e.kind in ("dark", "fog", "soft_depth")}
    # The blob's blur is given in pixels of a 320-wide frame.
    soft = whole["soft_depth"]["sigma"] * cfg.width / 320 if "soft_depth" in whole else None
    cache = _WorldCache(tl, renderer, scenes, soft)
    rays = camera_rays(K, cfg.width, cfg.height) if tl.clean_events else None
    sky = np.full((cfg.height, cfg.width), np.inf, np.float32)
    nan = np.full((cfg.height, cfg.width), np.nan, np.float32)
    for i in range(tl.n_frames):
        world_rgb, world_depth, pose = cache.world(i)
        if tl.clean_events:
            world_rgb = _clean_picture(world_rgb, world_depth, pose, K, rays, tl, i, whole, cfg.fps)
        src = int(tl.depth_src[i])
        depth = sky if src < 0 else cache.depth_of(src)
        mode = tl.rgb_mode[i]
        true_depth = world_depth
        if mode == RGB_MENU:
            e = tl.event_of[i]
            rgb = draw_menu(world_rgb, e.params, i - e.start_frame, cfg.fps)
        elif mode == RGB_LOADING:
            e = tl.event_of[i]
            progress = (i - e.start_frame + 1) / (e.end_frame - e.start_frame)
            rgb = draw_loading(cfg.height, cfg.width, e.params, progress, i - e.start_frame)
            true_depth = nan
        else:
            rgb = world_rgb
            if tl.hud[i]:
                yaw = float(np.arctan2(pose[0, 2], pose[2, 2]))
                rgb = draw_hud(rgb, i, cfg.fps, yaw)
        if tl.fade[i] < 1.0:
            rgb = apply_fade(rgb, float(tl.fade[i]))
        clean = tl.clean_labels[i] if tl.clean_labels else ""
        yield SimFrame(i, rgb, depth, true_depth, pose, tl.labels[i], clean)
        cache.release(i)


def simulate_sequence(config: SimConfig) -> SimulatedSequence:
    """Render the whole recording into arrays (for tests and notebooks; mind T*H*W*11 bytes)."""
    tl = build_timeline(config)
    T, H, W = tl.n_frames, config.height, config.width
    rgb = np.empty((T, H, W, 3), np.uint8)
    depth = np.empty((T, H, W), np.float32)
    true = np.empty((T, H, W), np.float32)
    poses = np.empty((T, 4, 4), np.float64)
    for f in iter_frames(config, tl):
        rgb[f.index], depth[f.index], true[f.index], poses[f.index] = f.rgb, f.depth_m, f.true_depth_m, f.pose
    return SimulatedSequence(
        rgb=rgb, depth_m=depth, true_depth_m=true, poses=poses,
        K=intrinsics_from_fov(W, H, config.fov_y_deg), labels=list(tl.labels), faults=tl.fault_list(),
        segment=tl.segment.copy(), hud_mask=hud_mask(W, H) if config.draws_hud else None, fps=config.fps,
        timeline=tl, clean_labels=list(tl.clean_labels),
    )


def default_recording_id(config: SimConfig) -> str:
    return f"sim-{config.seed:05d}"


def simulate_recording(out_dir: str | Path, config: SimConfig, recording_id: str | None = None) -> Path:
    """Simulate one recording into `out_dir/<recording_id>/` and return its manifest path.

    Media and manifest come from `capture.writer.write_recording` (depth as ReShade's
    linearised value for `config.projection` / `config.reshade`), then the sidecar
    (ground_truth.npz, faults.json) is written next to the manifest."""
    from capture.writer import write_recording

    rid = recording_id or default_recording_id(config)
    folder = Path(out_dir) / rid
    tl = build_timeline(config)
    T, H, W = tl.n_frames, config.height, config.width
    K = intrinsics_from_fov(W, H, config.fov_y_deg)
    true = np.empty((T, H, W), np.float32)
    poses = np.empty((T, 4, 4), np.float64)
    mask = hud_mask(W, H) if config.draws_hud else None

    scenes = build_scenes(config, tl)

    def frames():
        for f in iter_frames(config, tl, scenes):
            true[f.index], poses[f.index] = f.true_depth_m, f.pose
            L = metres_to_linear(f.depth_m, config.projection, config.reshade)
            yield f.rgb, L

    kinds = sorted({s.kind for s in tl.segments})
    tags = {"scenes": ",".join(kinds), "simulated": "yes", **config.tags}
    for sc in scenes:
        tags.update({k: v for k, v in (sc.tags or {}).items() if k not in tags})
    manifest = write_recording(
        folder, rid, frames(), fps=config.fps, layout=config.layout, encoding=config.encoding,
        codec=config.codec, crf=config.crf, color_range=config.color_range, color_matrix=config.color_matrix,
        reshade=config.reshade, projection=config.projection,
        intrinsics={"fx": float(K[0, 0]), "fy": float(K[1, 1]), "cx": float(K[0, 2]), "cy": float(K[1, 2])},
        hud_mask=mask, game=config.game, tags=tags, seed=config.seed,
        pts_jitter=config.pts_jitter, depth_pts_offset=config.depth_pts_offset,
    )
    _save_npz(
        manifest.parent / GROUND_TRUTH, depth_m=true, poses_c2w=poses, K=K, labels=np.array(tl.labels, dtype=str),
        segment=tl.segment, hud_mask=mask if mask is not None else np.zeros((H, W), bool), fps=np.float64(config.fps),
    )
    (manifest.parent / FAULTS).write_text(json.dumps(tl.fault_list(), indent=1))
    write_truth(manifest.parent, timeline_truth(config, tl, rid))
    return manifest


def timeline_truth(config: SimConfig, tl: Timeline, recording_id: str) -> GroundTruth:
    """The ground truth of a simulated recording: faults (HUD is clean footage), clean events, cuts."""
    events = [{**f, "class": "cut" if f["kind"] == "cut" else "fault"} for f in tl.fault_list() if f["kind"] != "hud"]
    events += [{**c, "class": "clean"} for c in tl.clean_list()]
    labels, clean, cuts = labels_from_events(tl.n_frames, events)
    return GroundTruth(recording_id=recording_id, n_frames=tl.n_frames, fps=config.fps, labels=labels,
                       clean_events=clean, cuts=cuts, events=events, footage="procedural",
                       source={"simulator": config.model_dump(mode="json")})


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Like np.savez_compressed but at zlib level 1 (depth compresses ~as well, 5x faster);
    written to a temporary name and renamed, so a reader never sees half a file."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, a in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(a), allow_pickle=False)
    tmp.replace(path)


def load_ground_truth(manifest_path: str | Path) -> dict:
    """The sidecar of a simulated recording: arrays from ground_truth.npz plus `faults` (list)
    and `labels` as a list of str."""
    folder = Path(manifest_path).parent
    p = folder / GROUND_TRUTH
    if not p.exists():
        raise InputError(p, "no ground-truth sidecar next to the manifest (not a simulated recording?)")
    with np.load(p) as z:
        gt = {k: z[k] for k in z.files}
    gt["labels"] = [str(s) for s in gt["labels"]]
    gt["fps"] = float(gt["fps"])
    fp = folder / FAULTS
    gt["faults"] = json.loads(fp.read_text()) if fp.exists() else []
    return gt


_DATASET_VARIANTS = [
    # (layout, encoding, codec): what players' setups look like, all readable back.
    ("side_by_side", "gray8", "h264"),
    ("top_bottom", "gray8", "h264"),
    ("separate_files", "gray16", "h264"),
    ("side_by_side", "rgb24_packed", "lossless"),
]
_GAMES = ["Simulated Quest", "Sim City Streets", "Open Hills Sim"]


def simulate_dataset(out_dir: str | Path, n_recordings: int, config: SimConfig | None = None, *,
                     kinds: Sequence[str] | None = None, faults: Sequence[str] | str | None = None,
                     seed: int | None = None, vary_format: bool = True, progress: bool = True,
                     indices: Sequence[int] | None = None) -> list[Path]:
    """`n_recordings` varied recordings in `out_dir` (one folder each); returns the manifest paths.

    Recording r uses seed `seed + r`, starts with scene kind kinds[r % len(kinds)], gets a
    game name and tags from its scenes and, when `vary_format`, cycles through layouts and
    encodings; each has clean spans between its fault events. `indices`: only these recordings
    of the set (each exactly as in the whole set, e.g. to reproduce one of a bench's)."""
    from tqdm import tqdm

    base = config or SimConfig()
    kinds = list(kinds) if kinds is not None else list(base.kinds)
    seed0 = base.seed if seed is None else seed
    paths = []
    todo = range(n_recordings) if indices is None else list(indices)
    if any(not 0 <= r < n_recordings for r in todo):
        raise ValueError(f"indices {list(indices or [])} must lie in 0..{n_recordings - 1} (the set's recordings)")
    for r in tqdm(todo, desc="simulate", unit="rec", disable=not progress):
        upd: dict = {"seed": seed0 + r, "kinds": kinds[r % len(kinds):] + kinds[:r % len(kinds)]}
        if faults is not None:
            upd["faults"] = faults
        if vary_format:
            layout, enc, codec = _DATASET_VARIANTS[r % len(_DATASET_VARIANTS)]
            upd.update(layout=layout, encoding=enc, codec=codec)
        upd["game"] = base.game if base.game != "simulated" else _GAMES[(seed0 + r) % len(_GAMES)]
        cfg = SimConfig.model_validate({**base.model_dump(), **upd})
        paths.append(simulate_recording(out_dir, cfg, f"sim-{seed0 + r:05d}"))
    return paths
