"""The bootstrap depth model (issue 3): a small, fast CNN trained on a hand-picked subset of
captured clips, used by curation to score clips (Depth Any Video §2, "Data Filtering").

It predicts affine-invariant DEPTH (larger = farther) at a square working resolution
(`BootstrapConfig.size`), from a half-resolution head upsampled to the working size, then
resized back to the input frame size. Training uses the scale-shift-invariant loss per frame plus
the temporal gradient matching loss on consecutive frames (Video Depth Anything §3.2, weights
1.0 and 10.0 as in its appendix). CPU-trainable in minutes at 128x128.

Checkpoints are safetensors files; the config is stored as JSON in the file's metadata.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model.losses import ssi_loss, tgm_loss
from model.predictor import check_frames

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


def save_bootstrap(path: str | Path, net: BootstrapNet, config: BootstrapConfig | None = None) -> Path:
    """Write `net` as safetensors with the config JSON in the metadata; atomic rename."""
    from safetensors.torch import save_file

    config = config or net.config
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    tmp = path.with_name(path.name + ".partial")
    save_file(
        tensors,
        str(tmp),
        metadata={"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "config": config.to_json()},
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


def train_bootstrap(
    clips: Iterable[tuple[np.ndarray, np.ndarray]],
    config: BootstrapConfig | None = None,
    steps: int = 300,
    lr: float = 2e-3,
    seed: int = 0,
    progress: bool = True,
    net: BootstrapNet | None = None,
) -> tuple[BootstrapNet, list[dict]]:
    """Train a `BootstrapNet` on (rgb uint8 (T,H,W,3), depth float32 (T,H,W), NaN = invalid) clips.

    Each step draws `config.batch_size` windows of `config.train_frames` consecutive frames (random
    clip, random start, random horizontal flip); loss = ssi_loss (per frame) + tgm_weight *
    tgm_loss (consecutive frames). AdamW with a cosine schedule. Returns the net (eval mode) and a
    history of {step, loss, ssi, tgm} per step. `net` continues training an existing model.
    """
    config = config or (net.config if net is not None else BootstrapConfig())
    torch.manual_seed(seed)
    rng = random.Random(seed)
    data = [_prepare_clip(rgb, d, config.size, i) for i, (rgb, d) in enumerate(clips)]
    if not data:
        raise ValueError("train_bootstrap: no training clips")
    net = net if net is not None else BootstrapNet(config)
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1), pct_start=0.1)
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
