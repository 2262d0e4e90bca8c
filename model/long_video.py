"""Depth for videos longer than the model's window, three selectable strategies.

Each works window by window, so model memory does not grow with the video length (only the
output array does). Frames given to a window carry their original indices, shifted so the
window's first frame is 0 (RoPE sees the true gaps between frames).

keyframes    (Depth Any Video §3.3) up to `window` key frames spread over the whole video are
             predicted jointly by the depth model with their original indices; the interp model
             then fills every gap between consecutive key frames conditioned on the first/last
             key-frame latents + mask. A gap longer than a window is filled recursively: the
             window takes its two ends plus evenly spaced interior frames, which become key
             frames of smaller gaps.
depthcrafter (DepthCrafter §3.4) overlapping windows; the latents of the overlap frames start
             from the previous window's denoised latents mixed with noise,
             x0 = tau * z_prev + (1 - tau) * eps (flow matching has no sigma_max; tau plays the
             role of DepthCrafter's noised initialisation), and are blended linearly with
             weights w_i falling from 1 to 0 across the overlap before decoding.
vda          (Video Depth Anything §3.3) each window = T_k key frames (every delta_k-th frame
             going back from the overlap) + T_o overlap frames + new frames; the prediction is
             scale-shift aligned to the already written depth of the key + overlap frames, then
             the overlap is interpolated linearly (w from 1 to 0).

Output: an in-memory (T, H, W) array, or, with `sink`, each frame handed to `sink(index, depth)` in
frame order as soon as no later window can change it; then only the frames not yet final (and the
few already final ones a strategy reads back: vda's key frames) are held, so memory does not grow
with the video (bench/model_speed.py: 1,000 vs 100 frames). Frames may come from any indexable
sequence (a lazy reader), not only an array.

`seams`: the transitions t -> t+1 whose two frames were finalised by different windows are the
window boundaries. Reported: the mean temporal jump |d_{t+1} - d_t| of the prediction at
boundaries vs inside windows and, when ground truth is given (after one global scale-shift fit),
the per-frame AbsRel at frames next to a boundary vs inside, and the flicker error
|(d_{t+1}-d_t) - (g_{t+1}-g_t)| at boundaries vs inside. With a sink, the jumps only (measured as
frames stream out; the ground-truth figures need the whole prediction for one global fit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from model.pipeline import DepthPipeline

STRATEGIES = ("keyframes", "depthcrafter", "vda")


@dataclass
class SeamReport:
    boundaries: list[int]  # t such that frames t and t+1 come from different windows
    jump_boundary: float
    jump_interior: float
    absrel_boundary: float | None = None
    absrel_interior: float | None = None
    flicker_boundary: float | None = None
    flicker_interior: float | None = None

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["num_boundaries"] = len(self.boundaries)
        d.pop("boundaries")
        return d


@dataclass
class LongVideoResult:
    depth: np.ndarray | None  # (T, H, W) float32, affine-invariant; None when frames went to a sink
    seams: SeamReport
    windows: list[list[int]] = field(default_factory=list)  # frame indices of each model call
    owner: np.ndarray | None = None  # window id that finalised each frame


class _Output:
    """Finalised depth frames: an in-memory array, or a sink fed in frame order (see module doc)."""

    def __init__(self, n: int, sink: Callable[[int, np.ndarray], None] | None):
        self.n, self.sink = n, sink
        self.array: np.ndarray | None = None
        self.held: dict[int, np.ndarray] = {}
        self.next = 0  # sink mode: next frame to hand out
        self.jumps: list[tuple[int, float]] = []  # (t, mean |d_{t+1} - d_t|), sink mode
        self._prev: np.ndarray | None = None

    def write(self, idx: Any, frames: np.ndarray) -> None:
        idx = np.atleast_1d(np.arange(self.n)[idx] if isinstance(idx, slice) else np.asarray(idx))
        if self.sink is None:
            if self.array is None:
                self.array = np.zeros((self.n,) + frames.shape[1:], np.float32)
            self.array[idx] = frames
            return
        for i, f in zip(idx.tolist(), frames, strict=True):
            self.held[i] = np.asarray(f, np.float32).copy()

    def read(self, idx: Any) -> np.ndarray:
        if self.sink is None:
            return self.array[idx]
        idx = np.atleast_1d(np.asarray(idx))
        return np.stack([self.held[int(i)] for i in idx])

    def release(self, upto: int, keep: int = 0) -> None:
        """Frames < `upto` are final: hand them to the sink in order; hold `keep` of them back."""
        if self.sink is None:
            return
        upto = min(upto, self.n)
        while self.next < upto:
            f = self.held[self.next]
            if self._prev is not None:
                self.jumps.append((self.next - 1, float(np.abs(f - self._prev).mean())))
            self.sink(self.next, f)
            self._prev = f
            self.next += 1
        for i in [i for i in self.held if i < upto - keep]:
            del self.held[i]


def _window_call(pipe: DepthPipeline, frames: Any, idx: np.ndarray, num_steps: int, gen: torch.Generator,
                 key_latents: torch.Tensor | None = None, key_mask: torch.Tensor | None = None,
                 x0: torch.Tensor | None = None) -> tuple[torch.Tensor, tuple[int, int]]:
    rgb, size = pipe.preprocess(_take(frames, idx))
    z_c = pipe.encode_rgb(rgb)
    rel = torch.as_tensor(idx - idx.min(), dtype=torch.long)[None]
    z = pipe.sample_latents(z_c, rel, num_steps, gen, key_latents=key_latents, key_mask=key_mask, x0=x0)
    return z, size


def _take(frames: Any, idx: np.ndarray) -> np.ndarray:
    """Frames at `idx` from an array or any indexable sequence of (H,W,3) frames (lazy readers)."""
    if isinstance(frames, np.ndarray):
        return frames[idx]
    return np.stack([np.asarray(frames[int(i)]) for i in idx])


def infer_long_video(
    pipe: DepthPipeline, frames: Any, strategy: str = "keyframes", window: int = 16, overlap: int | None = None,
    num_steps: int = 3, seed: int = 0, interp_pipe: DepthPipeline | None = None, gt: np.ndarray | None = None,
    valid: np.ndarray | None = None, init_strength: float = 0.3, num_keyframes: int = 2, keyframe_stride: int | None = None,
    progress: bool = False, sink: Callable[[int, np.ndarray], None] | None = None,
) -> LongVideoResult:
    """Depth (T,H,W) for all T frames of `frames` ((T,H,W,3) uint8 array or indexable sequence) + seam
    report; with `sink`, frames go to `sink(index, depth (H,W))` in order instead (`depth` is None)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if sink is not None and gt is not None:
        raise ValueError("ground-truth seam figures need the whole prediction: pass gt or sink, not both")
    n = len(frames)
    if window < 2:
        raise ValueError("window must be >= 2")
    gen = torch.Generator().manual_seed(int(seed))
    out = _Output(n, sink)
    if strategy == "keyframes":
        if interp_pipe is None:
            raise ValueError("the keyframes strategy needs interp_pipe (a model trained with mode='interp')")
        owner, wins = _keyframes(pipe, interp_pipe, frames, n, window, num_steps, gen, progress, out)
    elif strategy == "depthcrafter":
        ov = window // 4 if overlap is None else overlap
        owner, wins = _depthcrafter(pipe, frames, n, window, ov, num_steps, gen, init_strength, progress, out)
    else:
        ov = window // 4 if overlap is None else overlap
        ks = keyframe_stride if keyframe_stride is not None else max(1, window - ov)
        owner, wins = _vda(pipe, frames, n, window, ov, num_keyframes, ks, num_steps, gen, progress, out)
    out.release(n)
    if sink is None:
        return LongVideoResult(out.array, seam_report(out.array, owner, gt, valid), wins, owner)
    return LongVideoResult(None, _streamed_seams(out.jumps, owner), wins, owner)


def _streamed_seams(jumps: list[tuple[int, float]], owner: np.ndarray) -> SeamReport:
    bnd = np.nonzero(owner[1:] != owner[:-1])[0]
    is_b = set(bnd.tolist())
    jb = [j for t, j in jumps if t in is_b]
    ji = [j for t, j in jumps if t not in is_b]
    return SeamReport(bnd.tolist(), float(np.mean(jb)) if jb else float("nan"),
                      float(np.mean(ji)) if ji else float("nan"))


# ---- keyframes (DAV) ----------------------------------------------------------------------
def _keyframes(pipe, ipipe, frames, n, window, num_steps, gen, progress, out: _Output):
    from tqdm.auto import tqdm

    owner = np.full(n, -1, np.int64)
    wins: list[list[int]] = []
    keys = np.unique(np.round(np.linspace(0, n - 1, min(window, n))).astype(np.int64))
    z, size = _window_call(pipe, frames, keys, num_steps, gen)
    known: dict[int, torch.Tensor] = {int(k): z[0, i] for i, k in enumerate(keys)}
    out.write(keys, pipe.decode(z, size))
    owner[keys] = 0
    wins.append(keys.tolist())
    gaps = [(int(a), int(b)) for a, b in zip(keys[:-1], keys[1:], strict=True) if b - a > 1]
    bar = tqdm(total=n, initial=len(keys), disable=not progress, desc="keyframes")
    done_to = 0  # frames < done_to are final (gaps are filled left to right)
    while gaps:
        a, b = gaps.pop(0)
        out.release(a + 1)
        if b - a + 1 <= window:
            idx = np.arange(a, b + 1)
        else:  # too long: ends + evenly spaced interior frames; the interior become new keys
            idx = np.unique(np.round(np.linspace(a, b, window)).astype(np.int64))
        k = len(idx)
        key_lat = torch.zeros((1, k) + known[a].shape, dtype=known[a].dtype, device=known[a].device)
        key_lat[0, 0], key_lat[0, -1] = known[a], known[b]
        mask = torch.zeros(1, k)
        mask[0, 0] = mask[0, -1] = 1
        z, _ = _window_call(ipipe, frames, idx, num_steps, gen, key_latents=key_lat, key_mask=mask)
        inner = idx[1:-1]
        wid = len(wins)
        wins.append(idx.tolist())
        out.write(inner, ipipe.decode(z[:, 1:-1], size))
        owner[inner] = wid
        bar.update(len(inner))
        if b - a + 1 > window:
            for i, f in enumerate(inner, start=1):
                known[int(f)] = z[0, i]
            new = [(int(x), int(y)) for x, y in zip(idx[:-1], idx[1:], strict=True) if y - x > 1]
            gaps = new + gaps
            if not (new and new[0][0] == a):
                known.pop(a, None)  # no sub-gap starts at a: its latent is no longer needed
        else:
            done_to = b
            known.pop(a, None)  # a's gap is done; keep memory bounded
        out.release(done_to)
    bar.close()
    return owner, wins


# ---- depthcrafter ---------------------------------------------------------------------------
def _depthcrafter(pipe, frames, n, window, overlap, num_steps, gen, tau, progress, out: _Output):
    from tqdm.auto import tqdm

    if overlap >= window:
        raise ValueError("overlap must be smaller than the window")
    stride = window - overlap
    owner = np.full(n, -1, np.int64)
    wins: list[list[int]] = []
    prev_tail: torch.Tensor | None = None  # previous window's latents of the overlap frames (1,O,4,h,w)
    starts = list(range(0, max(1, n - overlap), stride))
    for wi, s in enumerate(tqdm(starts, disable=not progress, desc="depthcrafter")):
        e = min(n, s + window)
        idx = np.arange(s, e)
        rgb, size = pipe.preprocess(_take(frames, idx))
        z_c = pipe.encode_rgb(rgb)
        x0 = torch.randn(z_c.shape[:2] + (4,) + z_c.shape[-2:], generator=gen).to(z_c.device, z_c.dtype)
        o = 0 if prev_tail is None else min(overlap, prev_tail.shape[1], len(idx))
        if o:
            x0[:, :o] = tau * prev_tail[:, :o] + (1 - tau) * x0[:, :o]
        rel = torch.as_tensor(idx - s)[None]
        z = pipe.sample_latents(z_c, rel, num_steps, gen, x0=x0)
        if o:
            w = torch.linspace(1, 0, o + 2)[1:-1].to(z.dtype).reshape(1, o, 1, 1, 1)
            z[:, :o] = w * prev_tail[:, :o] + (1 - w) * z[:, :o]
        last = e >= n
        fin = len(idx) if last else len(idx) - overlap  # frames not revisited by the next window
        out.write(slice(s, s + fin), pipe.decode(z[:, :fin], size))
        # blended overlap frames belong to the window with the larger weight
        owner[s:s + fin] = wi
        if o:
            owner[s:s + (o + 1) // 2] = wi - 1
        prev_tail = None if last else z[:, fin:].clone()
        wins.append(idx.tolist())
        out.release(s + fin)
        if last:
            break
    return owner, wins


# ---- video depth anything ------------------------------------------------------------------
def _vda(pipe, frames, n, window, overlap, n_keys, key_stride, num_steps, gen, progress, out: _Output):
    from tqdm.auto import tqdm

    from model.predictor import fit_scale_shift

    owner = np.full(n, -1, np.int64)
    wins: list[list[int]] = []
    keep = 1 + max(0, n_keys - 1) * key_stride  # final frames read back as key frames
    s = 0  # first frame not yet final (overlap start for later windows)
    wi = 0
    bar = tqdm(total=n, disable=not progress, desc="vda")
    while True:
        if wi == 0:
            ov_idx = np.arange(0, 0)
            key_idx = np.arange(0, 0)
        else:
            ov_idx = np.arange(s, min(n, s + overlap))
            key_idx = np.array(sorted({s - 1 - j * key_stride for j in range(n_keys)} - {-1}), np.int64)
            key_idx = key_idx[key_idx >= 0]
        n_new = window - len(key_idx) - len(ov_idx)
        if n_new < 1:
            raise ValueError(f"vda: window {window} leaves no new frames after {len(key_idx)} key + {len(ov_idx)} overlap")
        new_start = s + len(ov_idx)
        new_idx = np.arange(new_start, min(n, new_start + n_new))
        idx = np.concatenate([key_idx, ov_idx, new_idx]).astype(np.int64)
        z, size = _window_call(pipe, frames, idx, num_steps, gen)
        d = pipe.decode(z, size)
        ref = np.concatenate([key_idx, ov_idx])
        if len(ref):
            try:  # inherit scale and shift from what is already written (key frames + overlap)
                a, b = fit_scale_shift(d[: len(ref)], out.read(ref))
                d = a * d + b
            except ValueError:
                pass
            dk = d[len(key_idx):]
            o = len(ov_idx)
            w = np.linspace(1, 0, o + 2)[1:-1].reshape(o, 1, 1).astype(np.float32)
            out.write(ov_idx, w * out.read(ov_idx) + (1 - w) * dk[:o])
            owner[ov_idx[(o + 1) // 2:]] = wi
            out.write(new_idx, dk[o:])
        else:
            out.write(new_idx, d)
        owner[new_idx] = wi
        wins.append(idx.tolist())
        bar.update(len(new_idx))
        if new_idx[-1] >= n - 1:
            break
        s = new_idx[-1] + 1 - overlap
        out.release(s, keep)
        wi += 1
    bar.close()
    return owner, wins


# ---- seams ------------------------------------------------------------------------------------
def seam_report(depth: np.ndarray, owner: np.ndarray, gt: np.ndarray | None = None,
                valid: np.ndarray | None = None) -> SeamReport:
    bnd = np.nonzero(owner[1:] != owner[:-1])[0]
    is_b = np.zeros(len(depth) - 1, bool)
    is_b[bnd] = True
    jumps = np.abs(np.diff(depth, axis=0)).reshape(len(depth) - 1, -1).mean(1) if len(depth) > 1 else np.zeros(0)

    def mean(x: np.ndarray, m: np.ndarray) -> float:
        return float(x[m].mean()) if m.any() else float("nan")

    rep = SeamReport(bnd.tolist(), mean(jumps, is_b), mean(jumps, ~is_b))
    if gt is None:
        return rep
    from model.predictor import fit_scale_shift

    g = np.asarray(gt, np.float64)
    v = np.isfinite(g) & (g > 0) if valid is None else (np.asarray(valid, bool) & np.isfinite(g))
    s, b = fit_scale_shift(depth, g, v)
    p = s * depth.astype(np.float64) + b
    rel = np.where(v, np.abs(p - g) / np.where(v, np.abs(g), 1.0), 0.0)
    per_frame = rel.reshape(len(g), -1).sum(1) / np.maximum(v.reshape(len(g), -1).sum(1), 1)
    near = np.zeros(len(g), bool)
    near[bnd] = True
    near[bnd + 1] = True
    rep.absrel_boundary, rep.absrel_interior = mean(per_frame, near), mean(per_frame, ~near)
    vv = v[1:] & v[:-1]
    fl = np.abs(np.diff(p, axis=0) - np.diff(np.where(v, g, 0), axis=0))
    fl = np.where(vv, fl, 0).reshape(len(g) - 1, -1).sum(1) / np.maximum(vv.reshape(len(g) - 1, -1).sum(1), 1)
    rep.flicker_boundary, rep.flicker_interior = mean(fl, is_b), mean(fl, ~is_b)
    return rep
