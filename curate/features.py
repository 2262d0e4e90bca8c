"""Per-frame measurements that the frame checks read, computed once per recording while it streams.

`FrameFeatureExtractor.push(rgb, depth)` takes frames at any resolution (it works at
`work_width`, 160 px by default) and keeps only the last few small images, so memory does not grow
with the length of a recording; `history` frames before a frame are all its features depend on,
which is what a chunk needs as warm-up to give exactly the features of one pass.

The measurements (one value, or one row, per frame; NaN where it cannot be computed):
- picture: mean and spread of luma, the share of flat blocks (no content), the block-wise gain
  against the previous frame and how many blocks agree with it (fades scale every block alike);
- depth: the share of invalid pixels and the spread of log depth (a cleared buffer is flat);
- change over time: `depth_dist[t, j-1]` / `rgb_dist[t, j-1]`, the mean change of block-pooled log
  depth / luma from frame t-j to t, for j = 1..J (repeats, rewinds and jumps of the depth stream);
- motion (curate/motion.py): the similarity transform from the previous frame, the number of
  tracks and inliers and the share of static tracks, for the picture and for the depth, each
  tracked on its own; and `struct`, the share of textured blocks whose fine structure changed
  beyond the picture's motion (overlays appearing and going).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from curate import motion
from curate.config import FrameCheckConfig

# Fields with one row of J values per frame, and with the 4 similarity parameters per frame.
_MATRIX = {"depth_dist", "depth_top", "rgb_dist"}
_SIM = {"pic_sim", "dep_sim"}
PERSIST = 6  # frames after a change at which it is judged to stay or to go
_EXPLAINED_AWAY = 0.5  # a picture change another motion leaves under this share of was the estimate's (see _structure_change)


@dataclass
class FrameFeatures:
    """One value (or row) per frame for every field; `work_size` is the (w, h) they were measured at."""

    luma_mean: np.ndarray
    luma_std: np.ndarray
    flat_frac: np.ndarray
    gain: np.ndarray
    gain_agree: np.ndarray
    invalid_frac: np.ndarray
    depth_std: np.ndarray
    depth_dist: np.ndarray  # (n, J)
    depth_top: np.ndarray  # (n, J): the 90th percentile of the same block changes (the most-moved tenth)
    rgb_dist: np.ndarray  # (n, J)
    pic_sim: np.ndarray  # (n, 4): [a, b, tx, ty] from the previous frame
    pic_tracks: np.ndarray
    pic_inliers: np.ndarray
    pic_static: np.ndarray
    dep_sim: np.ndarray
    dep_tracks: np.ndarray
    dep_inliers: np.ndarray
    dep_static: np.ndarray
    struct: np.ndarray
    # For a change at frame t - P (P = PERSIST): the share of blocks of frame t changed since the frame
    # before it (`after_before`) and since the frame of the change itself (`after_step`); a change that
    # stays has the first high and the second low, a flash the other way round.
    after_before: np.ndarray
    after_step: np.ndarray
    work_size: tuple[int, int] = (160, 90)
    bootstrap: object | None = None  # curate.bootstrap_checks.BootstrapTrack when a model ran

    @classmethod
    def array_fields(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.name not in ("work_size", "bootstrap")]

    def __len__(self) -> int:
        return len(self.luma_mean)

    def slice(self, start: int, stop: int) -> FrameFeatures:
        b = None if self.bootstrap is None else self.bootstrap.slice(start, stop)
        return FrameFeatures(**{k: getattr(self, k)[start:stop] for k in self.array_fields()},
                             work_size=self.work_size, bootstrap=b)

    @classmethod
    def concat(cls, parts: list[FrameFeatures]) -> FrameFeatures:
        """Features of consecutive frame ranges joined (bootstrap tracks are joined by the caller)."""
        return cls(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in cls.array_fields()},
                   work_size=parts[0].work_size if parts else (160, 90))

    # -- derived motion -------------------------------------------------------------------------
    def picture_motion(self) -> np.ndarray:
        """Mean displacement (work-resolution pixels) of the picture from the previous frame."""
        return np.linalg.norm(motion.displacement(self.pic_sim, *self.work_size), axis=2).mean(1)

    def depth_motion(self) -> np.ndarray:
        return np.linalg.norm(motion.displacement(self.dep_sim, *self.work_size), axis=2).mean(1)


class StepDistances:
    """Streams frames; per frame, the pooled depth and luma change to each of the last J frames."""

    def __init__(self, max_offset: int):
        self.J = max_offset
        self._depth: deque[np.ndarray] = deque(maxlen=max_offset)
        self._luma: deque[np.ndarray] = deque(maxlen=max_offset)
        self._size: tuple[int, int] | None = None
        self._valid: np.ndarray | None = None

    def push(self, depth: np.ndarray, gray: np.ndarray, valid: np.ndarray | None
             ) -> tuple[list[float], list[float], list[float]]:
        """`depth` at any resolution (inf/NaN/<=0 invalid), `gray` the working luma (0..1) and
        `valid` its non-HUD mask. Returns (depth row, depth top row, luma row), J values each."""
        if self._size is None:
            h, w = gray.shape
            self._size = (max(4, w // 2), max(4, h // 2))
            if valid is not None:
                self._valid = cv2.resize(valid.astype(np.float32), self._size, interpolation=cv2.INTER_AREA) > 0.99
        ok = (np.isfinite(depth) & (depth > 0)).astype(np.float32)
        total = cv2.resize(np.where(ok > 0, depth, 0).astype(np.float32), self._size, interpolation=cv2.INTER_AREA)
        cover = cv2.resize(ok, self._size, interpolation=cv2.INTER_AREA)
        pooled = np.full(cover.shape, np.nan, np.float32)
        full = cover > 0.9  # mostly-invalid blocks (sky, cleared buffer) carry no depth
        pooled[full] = np.log(total[full] / cover[full])
        luma = cv2.resize(gray, self._size, interpolation=cv2.INTER_AREA)
        d_row = [np.nan] * self.J
        t_row = [np.nan] * self.J
        r_row = [np.nan] * self.J
        k = len(self._depth)
        if k:
            past = np.stack(self._depth)[::-1]  # (k, h, w): the last frame first
            diff = np.abs(pooled[None] - past).reshape(k, -1)
            good = np.isfinite(diff)
            cnt = good.sum(1)
            with np.errstate(invalid="ignore", divide="ignore"):
                means = np.where(good, diff, 0).sum(1) / cnt
            # 90th percentile of each row (NaNs last): a partition at the rows' ranks, not a sort
            idx = np.maximum((0.9 * (cnt - 1)).astype(int), 0)
            part = np.partition(np.where(good, diff, np.inf), np.unique(idx), axis=1)
            tops = part[np.arange(k), idx]
            lum = np.abs(luma[None] - np.stack(self._luma)[::-1]).reshape(k, -1)
            lm = lum.mean(1) if self._valid is None else lum[:, self._valid.ravel()].mean(1)
            for j in range(k):
                if cnt[j]:
                    d_row[j], t_row[j] = float(means[j]), float(tops[j])
                r_row[j] = float(lm[j])
        self._depth.append(pooled)
        self._luma.append(luma)
        return d_row, t_row, r_row

    def reset(self) -> None:
        self._depth.clear()
        self._luma.clear()


class FrameFeatureExtractor:
    """Streams frames and records `FrameFeatures`."""

    def __init__(self, config: FrameCheckConfig | None = None, hud_mask: np.ndarray | None = None):
        self.config = config or FrameCheckConfig()
        self.hud_mask = hud_mask  # True where a HUD covers the picture (any resolution)
        self._valid: np.ndarray | None = None  # work-resolution mask of non-HUD pixels
        self._corner_mask: np.ndarray | None = None
        self._size: tuple[int, int] | None = None
        self._rows: dict[str, list] = {k: [] for k in FrameFeatures.array_fields()}
        self._steps = StepDistances(self.config.history_frames)
        self._pic = motion.Tracker()
        self._dep = motion.Tracker()
        self._prev_hp: np.ndarray | None = None
        self._prev_sim: np.ndarray | None = None  # the picture's raw motion estimate of the last frame
        self._recent: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=PERSIST + 2)  # (hp, sim) per frame
        self._prev_means: np.ndarray | None = None
        self._prev_depth: np.ndarray | None = None
        self._prev_lohi: tuple[float, float] | None = None

    @property
    def history(self) -> int:
        """Frames before t that frame t's features depend on: a reader that starts this many frames
        before a chunk (its warm-up) gives the chunk exactly the features of one pass."""
        return max(self.config.history_frames, PERSIST + 1)

    def _work_size(self, h: int, w: int) -> tuple[int, int]:
        if self._size is None:
            ww = min(w, self.config.work_width)
            self._size = (ww, max(8, round(h * ww / w)))
            if self.hud_mask is not None:
                m = cv2.resize(np.asarray(self.hud_mask, np.uint8), self._size, interpolation=cv2.INTER_NEAREST)
                m = cv2.dilate(m, np.ones((5, 5), np.uint8))  # keep comparisons off the HUD's edges
                self._valid = m == 0
                self._corner_mask = self._valid.astype(np.uint8) * 255
        return self._size

    def push(self, rgb: np.ndarray, depth: np.ndarray) -> None:
        size = self._work_size(*rgb.shape[:2])
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if rgb.shape[1] != size[0] else rgb
        gray8 = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        gray = gray8.astype(np.float32) / 255.0
        d = depth if depth.shape[1] == size[0] else cv2.resize(depth.astype(np.float32), size,
                                                                 interpolation=cv2.INTER_NEAREST)
        if self._valid is not None:
            d = np.where(self._valid, d, np.nan)
        r = self._rows
        gv = gray if self._valid is None else gray[self._valid]
        r["luma_mean"].append(float(gv.mean()))
        r["luma_std"].append(float(gv.std()))
        r["flat_frac"].append(motion.flat_share(gray8))
        self._prev_means, g, agree = motion.block_gain(gray8, self._prev_means)
        r["gain"].append(g)
        r["gain_agree"].append(agree)
        ok = np.isfinite(d) & (d > 0)
        logd, lohi = motion.log_depth(d)  # also drawn for the depth tracker below
        r["invalid_frac"].append(float(1.0 - ok.mean()))
        r["depth_std"].append(float(logd[ok].std()) if ok.sum() > 1 else 0.0)
        d_row, t_row, r_row = self._steps.push(d, gray, self._valid)
        r["depth_dist"].append(d_row)
        r["depth_top"].append(t_row)
        r["rgb_dist"].append(r_row)

        sim, n, inl, static = self._pic.push(gray8, mask=self._corner_mask)
        r["pic_sim"].append(sim)
        r["pic_tracks"].append(n)
        r["pic_inliers"].append(inl)
        r["pic_static"].append(static)
        hp = motion.highpass(gray8)
        if self._prev_hp is not None:
            change, sim_used = self._structure_change(hp, sim, inl)
        else:
            change, sim_used = np.nan, sim
        r["struct"].append(change)
        self._prev_hp, self._prev_sim = hp, sim
        self._recent.append((hp, sim_used))
        if len(self._recent) == PERSIST + 2:
            rec = list(self._recent)
            before, step = rec[0][0], rec[1][0]
            r["after_before"].append(motion.structure_change(before, hp, motion.compose([s for _, s in rec[1:]])))
            r["after_step"].append(motion.structure_change(step, hp, motion.compose([s for _, s in rec[2:]])))
        else:
            r["after_before"].append(np.nan)
            r["after_step"].append(np.nan)

        # Depth is drawn with the previous frame's range for the pair, then with its own for the next.
        if lohi is not None and self._prev_lohi is not None and self._prev_depth is not None:
            cur = motion.depth_image(logd, self._prev_lohi)
            sim, n, inl, static = self._dep.push(cur, previous=self._prev_depth, keep=False)
        else:
            sim, n, inl, static = np.full(4, np.nan), 0, 0, np.nan
        r["dep_sim"].append(sim)
        r["dep_tracks"].append(n)
        r["dep_inliers"].append(inl)
        r["dep_static"].append(static)
        self._prev_lohi = lohi
        self._prev_depth = motion.depth_image(logd, lohi) if lohi is not None else None
        if self._prev_depth is not None:
            self._dep.set_reference(self._prev_depth)
        else:
            self._dep.reset()

    def _structure_change(self, hp: np.ndarray, sim: np.ndarray, inliers: int) -> tuple[float, np.ndarray]:
        """(the structure change from the last frame, the motion it was measured with). A motion
        resting on fewer than `min_tracks` inliers is not trusted: the change is the least under
        it, the previous frame's motion (the camera moves smoothly) and none. (Measured on a
        held-out real-game seed: a light switching off left 4 inliers whose motion, 13 px against
        0.1 px around, misaligned the frames, and 0.88 of the structure "changed", as a menu
        opening; under the previous frame's motion or none, 0.00.) The other motion is taken only
        where it leaves under `_EXPLAINED_AWAY` of the change."""
        change = motion.structure_change(self._prev_hp, hp, sim)
        if inliers >= self.config.min_tracks or not np.isfinite(change) or change == 0.0:
            return change, sim
        best = (change, sim)
        for other in (self._prev_sim, np.array([1.0, 0.0, 0.0, 0.0])):
            if other is None or not np.isfinite(other).all():
                continue
            c = motion.structure_change(self._prev_hp, hp, other)
            if c < best[0]:
                best = (c, other)
        # Only a motion that explains most of the change away says the estimate was wrong; a menu
        # opening changes its panel's structure under any motion (measured on a held-out
        # procedural seed: a translucent menu's step over a 1.5 px pan, 10 inliers, 0.48 under its
        # estimate and 0.40 under the frame before's, which fell under `overlay.step`).
        return best if best[0] < _EXPLAINED_AWAY * change else (change, sim)

    def mark_unreadable(self) -> None:
        """A frame that could not be decoded: NaN features, and the next differences start afresh."""
        J = self.config.history_frames
        for k in self._rows:
            self._rows[k].append([np.nan] * J if k in _MATRIX else np.full(4, np.nan) if k in _SIM else np.nan)
        self._steps.reset()
        self._pic.reset()
        self._dep.reset()
        self._prev_hp = self._prev_sim = self._prev_means = self._prev_depth = self._prev_lohi = None
        self._recent.clear()

    def result(self) -> FrameFeatures:
        J = self.config.history_frames
        arrays = {}
        for k, v in self._rows.items():
            a = np.asarray(v, dtype=np.float64)
            if k in _MATRIX:
                a = a.reshape(-1, J)
            elif k in _SIM:
                a = a.reshape(-1, 4)
            arrays[k] = a
        return FrameFeatures(**arrays, work_size=self._size or (self.config.work_width, 90))


def compute_features(rgb: np.ndarray, depth: np.ndarray, config: FrameCheckConfig | None = None,
                     hud_mask: np.ndarray | None = None) -> FrameFeatures:
    """Features of an in-memory sequence (T,H,W,3) uint8 and (T,H,W) float32."""
    ex = FrameFeatureExtractor(config, hud_mask)
    for t in range(len(rgb)):
        ex.push(rgb[t], depth[t])
    return ex.result()
