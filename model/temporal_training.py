"""Buffer Anytime (§3.1-3.2) for the bootstrap net: temporal consistency from unlabelled video.

Loss = reg_weight * regularisation + stabilisation:
- regularisation: the scale-shift-invariant loss between the trained net and a FROZEN copy of
  itself (the "image model") on one random frame per window (the paper's speed-up);
- stabilisation: optical-flow warping loss between adjacent predicted frames, both directions,
  on trusted pixels only: forward-backward cycle check |F_fw(p) + F_bw(p + F_fw(p))| < tau
  (eq. 6), and pixels within Manhattan distance < 3 of a Canny edge of the predicted depth removed.
Flow is OpenCV DIS (dense inverse search) on the RGB frames at the working resolution.
No depth labels are used.

`python -m model.temporal_training` runs the short comparison reported in the helper notes:
a per-frame-trained net vs the same net after temporal training, TAE/AbsRel on held-out clips.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable

import cv2
import numpy as np
import torch

from model.bootstrap import BootstrapNet, _to_input
from model.losses import flow_stabilisation_loss, ssi_loss
from model.predictor import check_frames

EDGE_DISTANCE = 3  # Buffer Anytime: drop pixels whose Manhattan distance to an edge is < 3


def compute_flow(frames: np.ndarray, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (T,H,W,3) -> forward flows (T-1,H,W,2) frame i -> i+1 and backward flows i+1 -> i (pixels)."""
    fr = check_frames(frames)
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in fr]
    dis = cv2.DISOpticalFlow_create(preset)
    fw = np.stack([dis.calc(gray[i], gray[i + 1], None) for i in range(len(gray) - 1)])
    bw = np.stack([dis.calc(gray[i + 1], gray[i], None) for i in range(len(gray) - 1)])
    return fw.astype(np.float32), bw.astype(np.float32)


def cycle_mask(flow_ab: np.ndarray, flow_ba: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """(N,H,W,2) flows a->b and b->a -> (N,H,W) bool: p + F_ab(p) lands inside the image and
    |F_ab(p) + F_ba(p + F_ab(p))| < tau (pixels)."""
    n, h, w, _ = flow_ab.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.zeros((n, h, w), bool)
    for i in range(n):
        mx, my = xs + flow_ab[i, ..., 0], ys + flow_ab[i, ..., 1]
        back = cv2.remap(flow_ba[i], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=1e6)
        err = np.linalg.norm(flow_ab[i] + back, axis=-1)
        inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        out[i] = inside & (err < tau)
    return out


def edge_mask(depth: np.ndarray, distance: int = EDGE_DISTANCE, low: int = 30, high: int = 90) -> np.ndarray:
    """(T,H,W) depth -> (T,H,W) bool, False within Manhattan distance < `distance` of a Canny edge.

    Each frame is scaled to 0..255 by its own 1st-99th percentile range before Canny.
    """
    d = np.asarray(depth, np.float64)
    r = distance - 1
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    diamond = ((np.abs(yy) + np.abs(xx)) <= r).astype(np.uint8)  # L1 ball: distance < `distance`
    out = np.empty(d.shape, bool)
    for i, f in enumerate(d):
        lo, hi = np.nanpercentile(f, [1, 99])
        u8 = np.clip((np.nan_to_num(f, nan=lo) - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)
        edges = cv2.Canny(u8, low, high)
        out[i] = cv2.dilate(edges, diamond) == 0
    return out


def trusted_flow_masks(
    flow_fw: np.ndarray, flow_bw: np.ndarray, depth: np.ndarray, tau: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Masks for `flow_stabilisation_loss`: (mask of frame i for fw, mask of frame i+1 for bw)."""
    em = edge_mask(depth)
    return cycle_mask(flow_fw, flow_bw, tau) & em[:-1], cycle_mask(flow_bw, flow_fw, tau) & em[1:]


def train_temporal(
    net: BootstrapNet,
    clips: Iterable[np.ndarray],
    steps: int = 100,
    lr: float = 5e-4,
    reg_weight: float = 1.0,
    window: int = 6,
    tau: float = 1.0,
    seed: int = 0,
    progress: bool = True,
) -> tuple[BootstrapNet, list[dict]]:
    """Fine-tune `net` on unlabelled RGB clips (uint8 (T,H,W,3)); returns (net, history).

    History rows: {step, loss, reg, stab, trusted} (trusted = fraction of pixels kept by the masks).
    """
    torch.manual_seed(seed)
    rng = random.Random(seed)
    size = net.config.size
    data = []
    for i, c in enumerate(clips):
        fr = check_frames(c, source=f"clip {i}")
        if fr.shape[0] < 2:
            continue
        small = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in fr])
        fw, bw = compute_flow(small)
        data.append((_to_input(small, size), torch.from_numpy(fw), torch.from_numpy(bw), fw, bw))
    if not data:
        raise ValueError("train_temporal: no clip with at least 2 frames")
    teacher = copy.deepcopy(net).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    history: list[dict] = []
    it = range(steps)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="temporal", unit="step")
    for step in it:
        x, fw_t, bw_t, fw, bw = data[rng.randrange(len(data))]
        n = min(window, x.shape[0])
        s = rng.randrange(x.shape[0] - n + 1)
        xw = x[s : s + n]
        pred = net(xw)  # (n,S,S)
        mf, mb = trusted_flow_masks(fw[s : s + n - 1], bw[s : s + n - 1], pred.detach().numpy(), tau)
        stab = flow_stabilisation_loss(pred, fw_t[s : s + n - 1], bw_t[s : s + n - 1],
                                       torch.from_numpy(mf), torch.from_numpy(mb))
        j = rng.randrange(n)
        with torch.no_grad():
            target = teacher(xw[j : j + 1])
        reg = ssi_loss(pred[j : j + 1], target)
        loss = reg_weight * reg + stab
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        rec = {"step": step, "loss": loss.item(), "reg": reg.item(), "stab": stab.item(),
               "trusted": float((mf.mean() + mb.mean()) / 2)}
        history.append(rec)
        if progress and hasattr(it, "set_postfix"):
            it.set_postfix(stab=f"{rec['stab']:.3f}", reg=f"{rec['reg']:.3f}")
    net.eval()
    return net, history


def _score(predictor, videos) -> dict:
    from model.evaluate import aggregate, evaluate_video

    rows = []
    for v in videos:
        pred = predictor.predict(v.frames)
        rows.append(evaluate_video(pred, v.depth, v.valid, v.poses, v.K, space="depth",
                                   min_depth=v.min_depth, max_depth=v.max_depth))
    return aggregate(rows)


def compare(benchmark: str = "procedural", n_train: int = 6, n_test: int = 3, frames: int = 12,
            base_steps: int = 200, temporal_steps: int = 100, seed: int = 0) -> dict:
    """Per-frame-trained bootstrap net vs the same net after Buffer-Anytime temporal training."""
    from model.benchmarks import load_benchmark
    from model.bootstrap import BootstrapConfig, BootstrapPredictor, train_bootstrap

    train = list(load_benchmark(benchmark, max_frames=frames, max_videos=n_train))
    test = list(load_benchmark(benchmark, max_frames=frames, max_videos=n_train + n_test))[n_train:]
    # per-frame training: windows of 1 frame, so no temporal loss at all
    cfg = BootstrapConfig(size=64, base_channels=8, levels=3, train_frames=1, batch_size=8)
    clips = [(v.frames, np.where(v.valid, v.depth, np.nan).astype(np.float32)) for v in train]
    net, _ = train_bootstrap(clips, cfg, steps=base_steps, lr=3e-3, seed=seed, progress=False)
    before = _score(BootstrapPredictor(net), test)
    tuned, hist = train_temporal(copy.deepcopy(net), [v.frames for v in train], steps=temporal_steps,
                                 seed=seed, progress=False)
    after = _score(BootstrapPredictor(tuned), test)
    k = max(1, len(hist) // 5)
    return {"per_frame": before, "temporal": after,
            "stab_first": float(np.mean([h["stab"] for h in hist[:k]])),
            "stab_last": float(np.mean([h["stab"] for h in hist[-k:]])),
            "trusted": float(np.mean([h["trusted"] for h in hist]))}


if __name__ == "__main__":
    import argparse
    import json

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmark", default="procedural", choices=["procedural", "simulated"])
    ap.add_argument("--base-steps", type=int, default=200)
    ap.add_argument("--temporal-steps", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(json.dumps(compare(a.benchmark, base_steps=a.base_steps, temporal_steps=a.temporal_steps, seed=a.seed),
                     indent=2))
