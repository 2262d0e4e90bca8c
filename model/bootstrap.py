"""The bootstrap depth model (issue 3): a small, fast CNN trained on a hand-picked subset of
captured clips, used by curation to score clips (Depth Any Video §2, "Data Filtering").

It predicts affine-invariant DEPTH (larger = farther) at a square working resolution
(`BootstrapConfig.size`), from a half-resolution head upsampled to the working size, then
resized back to the input frame size. Training uses the scale-shift-invariant loss per frame plus
the temporal gradient matching loss on consecutive frames (Video Depth Anything §3.2, weights
1.0 and 10.0 as in its appendix). CPU-trainable in minutes at 128x128.

Checkpoints are safetensors files; the config is stored as JSON in the file's metadata, and so is
the *calibration*: before training, a fraction of the picked clean frames is held out in windows
(`holdout`, `calib_window`), the trained model scores each window exactly as curation scores a clip
(`clip_depth_score`: curation's own sizes and resizes from common.frames, per-frame
`frame_depth_score`, the median over `num_samples` uniformly sampled frames), and the
distribution of those clean-clip scores is stored. Curation's
"auto" depth thresholds come from it (curate.decision.resolve_thresholds), so they follow the
model's real quality instead of assuming one.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from common.frames import ScoreSizes, analysis_size, downscale, model_input, sample_indices, to_score_size
from model.losses import ssi_loss, tgm_loss
from model.predictor import check_frames, frame_depth_score, set_torch_threads

CHECKPOINT_FORMAT = "synthdepth-bootstrap"
CHECKPOINT_VERSION = "1"
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _input_error(path, problem: str):
    from capture.errors import InputError  # the shared error type; no capture import at module level

    return InputError(path, problem)


@dataclass
class BootstrapConfig:
    """Architecture and training-window settings (stored in every checkpoint)."""

    size: int = 128  # square working resolution (frames are resized to size x size)
    base_channels: int = 16  # channels of the first encoder level; doubled per level
    levels: int = 4  # encoder levels (each halves the resolution after the first)
    head_stride: int = 2  # the head predicts at size / head_stride, then upsamples
    train_frames: int = 4  # consecutive frames per training window (TGM needs >= 2)
    batch_size: int = 4  # windows per step
    tgm_weight: float = 10.0  # VDA appendix: single-frame loss 1.0, TGM 10.0
    tgm_threshold: float = 0.05

    def __post_init__(self) -> None:
        if self.size < 16 or self.size % (2 ** (self.levels - 1)) != 0:
            raise ValueError(f"size {self.size} must be >= 16 and divisible by {2 ** (self.levels - 1)}")
        if self.head_stride not in (1, 2, 4) or self.head_stride > 2 ** (self.levels - 1):
            raise ValueError(f"head_stride {self.head_stride} must be 1, 2 or 4 and <= 2**(levels-1)")
        if self.train_frames < 1 or self.batch_size < 1 or self.base_channels < 4 or self.levels < 2:
            raise ValueError("train_frames, batch_size >= 1; base_channels >= 4; levels >= 2")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BootstrapConfig:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}")
        return cls(**data)


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.GroupNorm(min(8, cout // 4), cout),
        nn.SiLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.GroupNorm(min(8, cout // 4), cout),
        nn.SiLU(inplace=True),
    )


class BootstrapNet(nn.Module):
    """U-Net-ish encoder/decoder: (N,3,S,S) normalised RGB -> (N,S,S) affine-invariant depth."""

    def __init__(self, config: BootstrapConfig | None = None):
        super().__init__()
        self.config = config or BootstrapConfig()
        c = self.config
        chans = [c.base_channels * 2**i for i in range(c.levels)]
        self.enc = nn.ModuleList([_block(3, chans[0])])
        for i in range(1, c.levels):
            self.enc.append(_block(chans[i - 1], chans[i], stride=2))
        # decoder climbs back to the head resolution (size / head_stride)
        n_up = c.levels - 1 - int(np.log2(c.head_stride))
        self.dec = nn.ModuleList()
        ch = chans[-1]
        for i in range(n_up):
            skip = chans[c.levels - 2 - i]
            self.dec.append(_block(ch + skip, skip))
            ch = skip
        self.head = nn.Conv2d(ch, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = []
        for blk in self.enc:
            x = blk(x)
            feats.append(x)
        x = feats[-1]
        for i, blk in enumerate(self.dec):
            skip = feats[-2 - i]
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = blk(torch.cat([x, skip], dim=1))
        y = self.head(x)
        s = self.config.size
        if y.shape[-1] != s:
            y = F.interpolate(y, size=(s, s), mode="bilinear", align_corners=False)
        return y[:, 0]


def _to_input(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (T,H,W,3) -> normalised float (T,3,size,size)."""
    out = np.empty((frames.shape[0], size, size, 3), dtype=np.float32)
    for i, f in enumerate(frames):
        interp = cv2.INTER_AREA if f.shape[0] > size else cv2.INTER_LINEAR
        out[i] = cv2.resize(f, (size, size), interpolation=interp).astype(np.float32) / 255.0
    out = (out - _MEAN) / _STD
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def _resize_depth(depth: np.ndarray, size: int) -> np.ndarray:
    """float (T,H,W) with NaN -> (T,size,size); nearest keeps NaN holes as holes."""
    return np.stack([cv2.resize(d, (size, size), interpolation=cv2.INTER_NEAREST) for d in depth])


class BootstrapPredictor:
    """`DepthPredictor` around a `BootstrapNet`: batches frames, resizes, no grad, CPU by default."""

    def __init__(self, net: BootstrapNet, batch_size: int = 16, device: str = "cpu"):
        self.net = net.to(device).eval()
        self.config = net.config
        self.batch_size = batch_size
        self.device = device
        # clean held-out clip scores stored with the checkpoint (None: an old checkpoint without them)
        self.calibration: dict | None = getattr(net, "calibration", None)

    def predict(self, frames: np.ndarray) -> np.ndarray:
        """uint8 (T,H,W,3) -> float32 (T,H,W) depth (one (H,W,3) frame -> (H,W))."""
        single = np.asarray(frames).ndim == 3
        fr = check_frames(frames)
        t, h, w = fr.shape[:3]
        out = np.empty((t, h, w), dtype=np.float32)
        with torch.inference_mode():
            for s in range(0, t, self.batch_size):
                x = _to_input(fr[s : s + self.batch_size], self.config.size).to(self.device)
                y = self.net(x)
                y = F.interpolate(y[:, None], size=(h, w), mode="bilinear", align_corners=False)[:, 0]
                out[s : s + len(y)] = y.float().cpu().numpy()
        return out[0] if single else out


def save_bootstrap(path: str | Path, net: BootstrapNet, config: BootstrapConfig | None = None,
                   calibration: dict | None = None) -> Path:
    """Write `net` as safetensors with the config JSON (and the calibration, `calibration` or the one
    `train_bootstrap` attached to `net`) in the metadata; atomic rename."""
    from safetensors.torch import save_file

    config = config or net.config
    calibration = calibration if calibration is not None else getattr(net, "calibration", None)
    meta = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "config": config.to_json()}
    if calibration is not None:
        meta["calibration"] = json.dumps(calibration, sort_keys=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    tmp = path.with_name(path.name + ".partial")
    save_file(
        tensors,
        str(tmp),
        metadata=meta,
    )
    tmp.replace(path)
    return path


def load_bootstrap(path: str | Path, device: str = "cpu", batch_size: int = 16) -> BootstrapPredictor:
    """Load a checkpoint written by `save_bootstrap`; InputError names the path and the problem."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise _input_error(
            path, "bootstrap checkpoint not found; train one with `synthdepth bootstrap train --picks ... --out ...`"
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iterator)
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise _input_error(path, f"not a readable safetensors file ({e})") from e
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise _input_error(path, f"metadata format is {meta.get('format')!r}, expected {CHECKPOINT_FORMAT!r}")
    if "config" not in meta:
        raise _input_error(path, "metadata has no 'config' entry")
    try:
        config = BootstrapConfig.from_json(meta["config"])
    except (ValueError, TypeError) as e:
        raise _input_error(path, f"bad config in metadata: {e}") from e
    net = BootstrapNet(config)
    own = net.state_dict()
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    bad = sorted(k for k in set(own) & set(tensors) if tuple(own[k].shape) != tuple(tensors[k].shape))
    if missing or extra or bad:
        raise _input_error(
            path,
            f"weights do not match the stored config: missing {missing[:5]}, unexpected {extra[:5]}, "
            f"wrong shape {bad[:5]}",
        )
    net.load_state_dict(tensors)
    calibration = None
    if "calibration" in meta:
        try:
            calibration = json.loads(meta["calibration"])
        except ValueError as e:
            raise _input_error(path, f"bad calibration in metadata: {e}") from e
    net.calibration = calibration
    return BootstrapPredictor(net, batch_size=batch_size, device=device)


def load_picks_csv(path: str | Path) -> list[tuple[str, int, int]]:
    """Read the hand-picked training subset: CSV with columns manifest,start_frame,end_frame.

    Frame ranges are half-open [start_frame, end_frame). A relative manifest path is resolved
    against the CSV's folder. Errors name the file and the 1-based line number.
    """
    path = Path(path)
    if not path.is_file():
        raise _input_error(path, "picks CSV not found")
    out: list[tuple[str, int, int]] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        need = ["manifest", "start_frame", "end_frame"]
        if reader.fieldnames is None or any(c not in reader.fieldnames for c in need):
            raise _input_error(path, f"header must contain columns {need}, got {reader.fieldnames}")
        for row in reader:
            line = reader.line_num
            man = (row.get("manifest") or "").strip()
            if not man:
                raise _input_error(path, f"line {line}: empty manifest")
            try:
                start, end = int(row["start_frame"]), int(row["end_frame"])
            except (TypeError, ValueError):
                raise _input_error(
                    path, f"line {line}: start_frame/end_frame must be integers, got "
                    f"{row.get('start_frame')!r}, {row.get('end_frame')!r}"
                ) from None
            if start < 0 or end <= start:
                raise _input_error(path, f"line {line}: need 0 <= start_frame < end_frame, got [{start}, {end})")
            mp = Path(man)
            if not mp.is_absolute():
                mp = path.parent / mp
            out.append((str(mp), start, end))
    if not out:
        raise _input_error(path, "no picks (the CSV has a header but no rows)")
    return out


def _prepare_clip(rgb: np.ndarray, depth: np.ndarray, size: int, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
    rgb = check_frames(rgb, source=f"training clip {idx}")
    depth = np.asarray(depth, dtype=np.float32)
    if depth.ndim == 2:
        depth = depth[None]
    if depth.shape != rgb.shape[:3]:
        raise ValueError(f"training clip {idx}: depth shape {depth.shape} != rgb frames {rgb.shape[:3]}")
    x = _to_input(rgb, size)
    d = torch.from_numpy(_resize_depth(depth, size))
    return x, d


CALIBRATION_QUANTILES = (0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.98, 0.99)


def split_holdout(
    clips: list[tuple[np.ndarray, np.ndarray]], holdout: float, window: int, seed: int = 0, gap: int = 15,
    min_windows: int = 5, min_window: int = 10,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[tuple[np.ndarray, np.ndarray]]]:
    """(training pieces, held-out windows). Every clip is cut into windows of `window` frames; a
    fraction `holdout` of them (at least one, when there are two or more) is held out, and `gap`
    frames either side of a held-out window are left out of training too (neighbouring frames are
    near copies, and would make the held-out scores optimistic). Clips shorter than `window` are
    one window each. No split (everything trains) when holdout is 0 or there is only one window.
    With few frames the window shrinks (to `min_window` at least) to give ~`min_windows` windows."""
    if holdout > 0:
        # Few picked frames: shorter windows, so that there are still ~`min_windows` held-out clips
        # (a distribution, not one number); never below `min_window` frames.
        total = sum(len(r) for r, _ in clips)
        window = max(min_window, min(window, int(total * holdout / min_windows)))
        gap = min(gap, window // 2)
    spans = []  # (clip index, start, end)
    for ci, (rgb, _) in enumerate(clips):
        n = len(rgb)
        k = max(1, n // window)
        spans += [(ci, i * window, n if i == k - 1 else (i + 1) * window) for i in range(k)]  # last takes the rest
    if holdout <= 0 or len(spans) < 2:
        return list(clips), []
    n_hold = min(len(spans) - 1, max(1, round(holdout * len(spans))))
    held = sorted(random.Random(seed).sample(range(len(spans)), n_hold))
    windows, cut = [], {}
    for h in held:
        ci, a, b = spans[h]
        windows.append((clips[ci][0][a:b], clips[ci][1][a:b]))
        cut.setdefault(ci, []).append((max(0, a - gap), b + gap))
    train = []
    for ci, (rgb, depth) in enumerate(clips):
        keep = np.ones(len(rgb), bool)
        for a, b in cut.get(ci, []):
            keep[a:b] = False
        m = np.concatenate([[False], keep, [False]]).astype(np.int8)
        starts, ends = np.flatnonzero(np.diff(m) == 1), np.flatnonzero(np.diff(m) == -1)
        train += [(rgb[a:b], depth[a:b]) for a, b in zip(starts, ends, strict=True) if b - a >= 2]
    return train, windows


def clip_depth_score(predictor, rgb: np.ndarray, depth: np.ndarray, sizes: ScoreSizes | None = None) -> tuple[float, float]:
    """(median AbsRel, median delta1) of one clip (full-size uint8 (T,H,W,3) frames, float (T,H,W)
    depth): the depth score curation gives it. Curation's own path (common.frames): the analysis
    copy at `sizes.analysis_width`, the prediction from it at `sizes.pred_width`, everything
    brought to `sizes.score_width`, per frame `frame_depth_score`, the median over
    `sizes.num_samples` uniformly spread frames."""
    sizes = sizes or ScoreSizes()
    idx = sample_indices(range(len(rgb)), sizes.num_samples)
    h, w = rgb.shape[1:3]
    asize = analysis_size(w, h, sizes.analysis_width)
    frames = [downscale(rgb[i], depth[i], asize) for i in idx]
    pred = np.asarray(predictor.predict(np.stack([model_input(r, sizes.pred_width) for r, _ in frames])), np.float32)
    _, d, p = to_score_size(frames, list(pred), sizes.score_width)
    scores = np.array([frame_depth_score(p[k], d[k])[:2] for k in range(len(idx))], np.float64).reshape(-1, 2)
    med = lambda v: float(np.median(v[np.isfinite(v)])) if np.isfinite(v).any() else math.nan  # noqa: E731
    return med(scores[:, 0]), med(scores[:, 1])


def calibrate(predictor, windows: list[tuple[np.ndarray, np.ndarray]], sizes: ScoreSizes | None = None) -> dict | None:
    """Score held-out clean windows as curation scores a clip (`clip_depth_score` at `sizes`,
    curation's defaults unless given); the distribution goes into the checkpoint."""
    sizes = sizes or ScoreSizes()
    scores = [clip_depth_score(predictor, r, d, sizes) for r, d in windows]
    scores = [(a, b) for a, b in scores if math.isfinite(a) and math.isfinite(b)]
    if not scores:
        return None
    ar = np.array([a for a, _ in scores])
    d1 = np.array([b for _, b in scores])
    qs = CALIBRATION_QUANTILES
    return {
        "clips": len(scores),
        "frames_per_clip": int(np.median([len(r) for r, _ in windows])),
        **asdict(sizes),  # num_samples, score_width, analysis_width, pred_width
        "abs_rel": [round(float(v), 6) for v in ar],
        "delta1": [round(float(v), 6) for v in d1],
        "quantiles": {
            "q": list(qs),
            "abs_rel": [round(float(v), 6) for v in np.quantile(ar, qs)],
            "delta1": [round(float(v), 6) for v in np.quantile(d1, qs)],
        },
    }


def holdout_picks_for(n_picks: int, requested: int = -1) -> int:
    """Picks to hold out whole for the calibration: `requested`, or for -1 a quarter of the picks
    when there are at least 4 (else 0: windows of every pick). Windows of trained-on picks flatter
    the model (it has seen those scenes): measured delta1 median 0.77 there against 0.37 on new clean
    footage, so curation trusted a model that dropped clean clips; unseen picks tell curation how
    the model does on new recordings."""
    if requested >= 0:
        return requested
    return (n_picks + 3) // 4 if n_picks >= 4 else 0


def train_bootstrap(
    clips: Iterable[tuple[np.ndarray, np.ndarray]],
    config: BootstrapConfig | None = None,
    steps: int = 300,
    lr: float = 2e-3,
    seed: int = 0,
    progress: bool = True,
    net: BootstrapNet | None = None,
    holdout: float = 0.2,
    calib_window: int = 60,
    calib_sizes: ScoreSizes | None = None,
    threads: int | None = None,
    holdout_clips: int = 0,
) -> tuple[BootstrapNet, list[dict]]:
    """Train a `BootstrapNet` on (rgb uint8 (T,H,W,3), depth float32 (T,H,W), NaN = invalid) clips.

    Each step draws `config.batch_size` windows of `config.train_frames` consecutive frames (random
    clip, random start, random horizontal flip); loss = ssi_loss (per frame) + tgm_weight *
    tgm_loss (consecutive frames). AdamW with warm-up + cosine schedule. Returns the net (eval mode)
    and a history of {step, loss, ssi, tgm} per step. `net` continues training an existing model.

    `holdout` of the frames (in `calib_window`-frame windows, see `split_holdout`) is not trained on;
    the trained net scores those windows as curation scores a clip (`calibrate` at `calib_sizes`:
the widths and sample count of the curation config that will use the model; curation's defaults
when None) and keeps the result as `net.calibration`
    (None when the picks are too short to split), which `save_bootstrap` stores. `threads`: torch
    threads (default `model.predictor.default_threads()`).

    `holdout_clips` > 0 holds out the last that many clips *whole* instead (cut into calibration
    windows; `holdout` is then unused): windows of a trained-on recording show the same scene and
    score far better than new recordings do, so whole held-out recordings calibrate curation's
    thresholds for what it will really see.
    """
    config = config or (net.config if net is not None else BootstrapConfig())
    set_torch_threads(threads)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    clips = list(clips)
    if holdout_clips > 0:
        if holdout_clips >= len(clips):
            raise ValueError(f"train_bootstrap: holdout_clips={holdout_clips} leaves no clip of {len(clips)} to train on")
        train_clips = clips[: len(clips) - holdout_clips]
        held = [(r[a : a + calib_window], d[a : a + calib_window]) for r, d in clips[len(train_clips):]
                for a in range(0, max(1, len(r) - calib_window + 1), calib_window)]
    else:
        train_clips, held = split_holdout(clips, holdout, calib_window, seed)
    data = [_prepare_clip(rgb, d, config.size, i) for i, (rgb, d) in enumerate(train_clips)]
    if not data:
        raise ValueError("train_bootstrap: no training clips")
    net = net if net is not None else BootstrapNet(config)
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    # Linear warm-up then cosine decay. (OneCycleLR divides by zero for runs of fewer than ~11 steps.)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm)))
    )
    history: list[dict] = []
    it = range(steps)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="bootstrap", unit="step")
    for step in it:
        xs, ds = [], []
        for _ in range(config.batch_size):
            x, d = data[rng.randrange(len(data))]
            n = min(config.train_frames, x.shape[0])
            s = rng.randrange(x.shape[0] - n + 1)
            xw, dw = x[s : s + n], d[s : s + n]
            if rng.random() < 0.5:
                xw, dw = xw.flip(-1), dw.flip(-1)
            xs.append(xw)
            ds.append(dw)
        n = min(len(x) for x in xs)  # clips shorter than train_frames shorten the whole batch
        x = torch.stack([a[:n] for a in xs])  # (B,T,3,S,S)
        d = torch.stack([a[:n] for a in ds])  # (B,T,S,S)
        b, t = x.shape[:2]
        pred = net(x.reshape(b * t, *x.shape[2:])).reshape(b, t, config.size, config.size)
        valid = torch.isfinite(d)
        l_ssi = ssi_loss(pred, d, valid)
        l_tgm = tgm_loss(pred, d, valid, config.tgm_threshold) if t >= 2 else pred.sum() * 0.0
        loss = l_ssi + config.tgm_weight * l_tgm
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        rec = {"step": step, "loss": loss.item(), "ssi": l_ssi.item(), "tgm": l_tgm.item()}
        history.append(rec)
        if progress and hasattr(it, "set_postfix"):
            it.set_postfix(loss=f"{rec['loss']:.3f}", ssi=f"{rec['ssi']:.3f}")
    net.eval()
    net.calibration = None
    if held:
        net.calibration = calibrate(BootstrapPredictor(net), held, calib_sizes)
        if net.calibration is not None:
            net.calibration["train_frames"] = int(sum(len(r) for r, _ in train_clips))
            net.calibration["held_out_frames"] = int(sum(len(r) for r, _ in held))
            net.calibration["held_out"] = "whole clips" if holdout_clips > 0 else "windows"
    return net, history


def summarise_history(history: list[dict], parts: int = 5) -> list[dict]:
    """Mean loss terms over `parts` equal chunks of the run (the loss-curve summary the CLI prints)."""
    if not history:
        return []
    chunks = np.array_split(np.arange(len(history)), min(parts, len(history)))
    out = []
    for c in chunks:
        rows = [history[i] for i in c]
        out.append(
            {
                "steps": f"{rows[0]['step']}-{rows[-1]['step']}",
                **{k: float(np.mean([r[k] for r in rows])) for k in ("loss", "ssi", "tgm")},
            }
        )
    return out


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
