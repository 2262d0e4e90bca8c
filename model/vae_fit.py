"""Fit the tiny preset's autoencoder (a diffusers `AutoencoderDC`, x8) and measure how well it codes depth.

SVD's VAE was trained by Stability on images; the CPU preset needs its own x8 autoencoder, small
enough to ship (~0.45 M parameters, fp16) and good enough that decoded depth is usable. It is fitted
as a plain autoencoder on random crops of frames (random scale, flips): normalised depth (eq. 1 of
Depth Any Video, replicated to 3 channels as the pipeline feeds it) and RGB in [-1, 1], L1 loss with
the depth weighted x2 (the depth is what the pipeline decodes; the RGB latents only condition the
UNet). The scaling factor is 1/std of the latents over the training frames.

Frame sources (pairs of uint8 RGB (H,W,3) and float32 depth (H,W), NaN/inf = invalid):
  simulated  scenes of `capture.simulate` (imported lazily, as the `simulated` benchmark does),
             frames spread over each scene's camera path;
  shards     the dataset loader's batches (a user's own data);
  folder     NNNNNN_rgb.png + NNNNNN_depth.npy pairs (the layout of /work/shared/realdata/re2-*).

`reconstruction_error` is the measure: the decoded depth, put back into depth units with the
clip's own normalisation, against the input depth. Reported two ways: over the pixels inside the
normalisation range [d2, d98] (the codec's own error) and over every valid pixel (including the
2 % / 98 % tails that the normalisation clips, as the pipeline does).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from model.latent_codec import LatentCodec, denormalize_depth, normalize_depth

Pair = tuple[np.ndarray, np.ndarray]


# ---- frame sources --------------------------------------------------------------------------------


def simulated_frames(scenes: int, frames_per_scene: int, seed: int, width: int = 256, height: int = 192,
                     seconds: float = 20.0, fps: float = 30.0) -> Iterator[Pair]:
    """Frames of `scenes` simulated scenes (room / street / terrain in turn, seeds seed, seed+1, ...),
    `frames_per_scene` of each spread over `seconds` of its camera path. Sky is invalid (NaN)."""
    from model.benchmarks.loaders import simulator

    sim = simulator()
    renderer = sim.Renderer(width, height, sim.intrinsics_from_fov(width, height, 60.0))
    for i in range(scenes):
        kind = sim.SCENE_KINDS[i % len(sim.SCENE_KINDS)]
        scene = sim.build_scene(kind, seed + i, seconds)
        for t in np.linspace(0.0, seconds - 1.0 / fps, frames_per_scene):
            rgb, depth = renderer.render(scene, scene.camera.pose(float(t)), float(t))
            yield rgb, np.where(np.isfinite(depth), depth, np.nan).astype(np.float32)


def folder_frames(folder: str | Path, max_side: int | None = None) -> Iterator[Pair]:
    """NNNNNN_rgb.png + NNNNNN_depth.npy pairs of a folder, optionally area-resized to `max_side`."""
    import cv2

    from common.errors import InputError

    folder = Path(folder)
    rgbs = sorted(folder.glob("*_rgb.png"))
    if not rgbs:
        raise InputError(folder, "no NNNNNN_rgb.png frames here (expected NNNNNN_rgb.png + NNNNNN_depth.npy)")
    for p in rgbs:
        d = p.with_name(p.name.replace("_rgb.png", "_depth.npy"))
        im = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if im is None or not d.is_file():
            raise InputError(p, "unreadable picture or no _depth.npy beside it")
        rgb = cv2.cvtColor(im, cv2.COLOR_BGR2RGB)
        depth = np.load(d).astype(np.float32)
        depth[~np.isfinite(depth) | (depth <= 0)] = np.nan
        if depth.shape != rgb.shape[:2]:
            raise InputError(d, f"depth {depth.shape} does not match the picture {rgb.shape[:2]}")
        if max_side and max(rgb.shape[:2]) > max_side:
            s = max_side / max(rgb.shape[:2])
            size = (round(rgb.shape[1] * s), round(rgb.shape[0] * s))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            depth = cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST)
        yield rgb, depth


def shard_frames(shards: list[str], frames: int, seed: int = 0) -> Iterator[Pair]:
    """Up to `frames` frames from WebDataset shards through the dataset loader (one K=4 bucket)."""
    from dataset.loader import make_loader
    from dataset.packing import Bucket, BucketTable

    loader = make_loader(shards, BucketTable([Bucket(128, 128, 4, 1)]), seed=seed)
    n = 0
    for batch in loader:
        rgb = ((batch["rgb"][0].permute(0, 2, 3, 1) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
        depth = torch.where(batch["valid"][0], batch["depth"][0], torch.nan).numpy()
        for r, d in zip(rgb, depth, strict=True):
            yield r, d
            n += 1
            if n >= frames:
                return


# ---- fitting --------------------------------------------------------------------------------------


def _to_tensors(pairs: list[Pair]) -> tuple[torch.Tensor, torch.Tensor]:
    rgb = torch.from_numpy(np.stack([p[0] for p in pairs])).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    depth = torch.from_numpy(np.stack([p[1] for p in pairs]).astype(np.float32))
    return rgb, depth


def random_crops(pool: list[Pair], n: int, size: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n crops of size x size from random frames of `pool`, each first rescaled by a random factor
    (0.5-1x of the largest that still covers the crop) and flipped half the time."""
    import cv2

    out = []
    for _ in range(n):
        rgb, depth = pool[int(rng.integers(len(pool)))]
        h, w = depth.shape
        lo = size / min(h, w)
        s = float(rng.uniform(max(lo, 0.5), max(lo, 1.0)))
        if abs(s - 1.0) > 1e-3:
            sz = (max(size, round(w * s)), max(size, round(h * s)))
            rgb = cv2.resize(rgb, sz, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
            depth = cv2.resize(depth, sz, interpolation=cv2.INTER_NEAREST)
            h, w = depth.shape
        y, x = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
        r, d = rgb[y : y + size, x : x + size], depth[y : y + size, x : x + size]
        if rng.random() < 0.5:
            r, d = r[:, ::-1], d[:, ::-1]
        out.append((np.ascontiguousarray(r), np.ascontiguousarray(d)))
    return _to_tensors(out)


def autoencoder_loss(codec: LatentCodec, rgb: torch.Tensor, norm_depth: torch.Tensor,
                     valid: torch.Tensor | None = None, depth_weight: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, unscaled latents) of one batch: rgb (N,3,H,W) in [-1,1], normalised depth (M,H,W).

    Depth comes first in the batch; L1 on depth (x depth_weight; over `valid` pixels when given)
    plus L1 on RGB."""
    d3 = norm_depth[:, None].expand(-1, 3, -1, -1)
    x = torch.cat([d3, rgb]).to(codec._dtype())
    enc = codec.vae.encode(x)
    z = enc.latent if codec.deterministic else enc.latent_dist.mode()
    rec = codec.vae.decode(z).sample
    nd = d3.shape[0]
    err = (rec[:nd].mean(dim=1) - norm_depth).abs()
    if valid is not None:
        w = valid.float()
        d_loss = (err * w).sum() / w.sum().clamp(min=1.0)
    else:
        d_loss = err.mean()
    loss = depth_weight * d_loss
    if rgb.shape[0]:
        loss = loss + F.l1_loss(rec[nd:], rgb)
    return loss, z


def fit_autoencoder(codec: LatentCodec, pool: list[Pair], steps: int = 3000, batch: int = 12, crop: int = 128,
                    lr: float = 2e-3, seed: int = 0, progress: bool = True) -> list[float]:
    """Fit `codec.vae` on random crops of `pool` (each step: `batch` depth crops + `batch` RGB crops);
    cosine-decayed Adam. Sets codec.scaling_factor = 1/std(latents). Returns the loss per step."""
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    vae = codec.vae
    vae.train().requires_grad_(True)
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / max(1, steps))))
    losses, stds = [], []
    bar = tqdm(range(steps), disable=not progress, desc="fit VAE")
    for _ in bar:
        rgb, depth = random_crops(pool, batch, crop, rng)
        norm, _ = normalize_depth(depth[:, None])
        loss, z = autoencoder_loss(codec, rgb, norm[:, 0])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        stds.append(float(z.detach().float().std()))
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
    vae.eval().requires_grad_(False)
    codec.scaling_factor = 1.0 / max(1e-3, float(np.mean(stds[-200:])))
    return losses


# ---- measuring ------------------------------------------------------------------------------------


@torch.no_grad()
def reconstruction_error(codec: LatentCodec, frames: Iterable[Pair], multiple: int = 8) -> dict[str, float]:
    """Depth and RGB reconstruction of whole frames (each cropped to a multiple of `multiple`).

    Per frame: depth normalised as the pipeline does, encoded, decoded, put back in depth units;
    AbsRel and delta1 against the input over in-range pixels (codec error) and over all valid
    pixels (incl. the normalisation's clipped tails); RGB PSNR. Returns the means over frames."""
    rows = []
    for rgb_np, depth_np in frames:
        h, w = (s // multiple * multiple for s in depth_np.shape)
        rgb, depth = _to_tensors([(rgb_np[:h, :w], depth_np[:h, :w])])
        valid = torch.isfinite(depth)
        if valid.sum() < 16:
            continue
        norm, stats = normalize_depth(depth[:, None], valid[:, None])
        z = codec.encode_depth(norm)
        back = denormalize_depth(codec.decode_depth(z), stats)[:, 0]
        gt = depth
        inside = valid & (gt >= stats[0, 0]) & (gt <= stats[0, 1])
        rel = (back - gt).abs() / gt.abs().clamp(min=1e-6)
        ratio = torch.maximum(back / gt, gt / back)
        zr = codec.encode_rgb(rgb[None])
        rec = codec.decode_frames(zr[0]).clamp(-1, 1)
        mse = float(((rec - rgb) / 2).pow(2).mean())
        rows.append({
            "abs_rel_in_range": float(rel[inside].mean()),
            "delta1_in_range": float((ratio[inside] < 1.25).float().mean()),
            "abs_rel_all": float(rel[valid].mean()),
            "delta1_all": float((ratio[valid] < 1.25).float().mean()),
            "norm_l1": float((codec.decode_depth(z) - norm).abs()[valid[:, None]].mean()),
            "rgb_psnr": 10 * math.log10(1.0 / max(mse, 1e-12)),
        })
    if not rows:
        return {"frames": 0}
    out = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    out["frames"] = len(rows)
    return out


def fit_and_measure(out: Path, scenes: int, frames_per_scene: int, steps: int, seed: int, held_out_scenes: int,
                    real: list[Path], batch: int, crop: int, lr: float, shards: list[str] | None,
                    shard_frames_n: int, progress: bool = True, echo=print) -> dict:
    """The `synthdepth model fit-vae` recipe: render/collect frames, fit, measure on held-out frames, save."""
    from model.config import TINY_VAE, ModelConfig
    from model.latent_codec import save_vae_file

    t0 = time.perf_counter()
    pool = list(simulated_frames(scenes, frames_per_scene, seed)) if scenes else []
    if shards:
        pool += list(shard_frames(shards, shard_frames_n, seed))
    if not pool:
        from common.errors import InputError

        raise InputError(None, "no frames to fit on: give --scenes > 0 or --shards")
    echo(f"{len(pool)} training frames ({scenes} simulated scenes x {frames_per_scene}"
         + (f" + {len(pool) - scenes * frames_per_scene} from shards" if shards else "")
         + f") in {time.perf_counter() - t0:.0f} s")
    cfg = ModelConfig.tiny().model_copy(update={"vae_init": "random"})
    codec = LatentCodec.from_config(cfg)
    t1 = time.perf_counter()
    losses = fit_autoencoder(codec, pool, steps=steps, batch=batch, crop=crop, lr=lr, seed=seed, progress=progress)
    fit_s = time.perf_counter() - t1
    del pool
    # held out: other seeds (scene kinds in turn) at 240x320, and the real frames given
    report: dict = {"fit_seconds": round(fit_s, 1), "steps": steps, "loss_first": float(np.mean(losses[:50])),
                    "loss_last": float(np.mean(losses[-50:])), "scaling_factor": codec.scaling_factor,
                    "params": sum(p.numel() for p in codec.vae.parameters())}
    held = simulated_frames(held_out_scenes, 4, seed + 100_000, width=320, height=240)
    report["held_out_simulated"] = reconstruction_error(codec, held)
    for folder in real:
        report[f"held_out_real:{Path(folder).name}"] = reconstruction_error(codec, folder_frames(folder, 640))
    meta = {"recipe": f"synthdepth model fit-vae --scenes {scenes} --frames-per-scene {frames_per_scene} "
                      f"--steps {steps} --batch {batch} --crop {crop} --lr {lr:g} --seed {seed}",
            "architecture": repr(TINY_VAE), "report": repr({k: v for k, v in report.items()})}
    save_vae_file(out, codec.vae, codec.scaling_factor, meta)
    report["out"] = str(out)
    report["bytes"] = Path(out).stat().st_size
    return report
