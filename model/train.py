"""Flow-matching trainer for the video depth model under `accelerate`.

- Accelerator: DDP/FSDP via `accelerate launch` + its config; mixed precision "no"/"fp16"/"bf16".
  With several processes each rank takes every world_size-th batch of the source unless the
  source sets `sharded_by_rank = True` (dataset's loader shards by rank itself).
- The VAE is frozen (as in the paper); only the UNet trains: all layers, or only the spatial
  or temporal ones (DepthCrafter's stages 1-3).
- mode "depth": v_theta(phi_t(z_d), z_c); mode "interp" (DAV §3.3): the first and last frame of
  each sample are key frames whose clean latents and mask are added to the condition.
- Loss: latent MSE weighted by the fraction of valid pixels under each latent pixel; optionally
  (`depth_loss_weight`) plus a depth-space loss on the decoded one-step estimate
  x1 = x_t + (1 - t) v_theta of a few frames per sample (scale-and-shift invariant per clip, as
  the evaluation aligns), which trains the few-step prediction directly (Garcia et al. 2024).
  `t0_fraction` of the samples are trained at t = 0, the state the first Euler step starts from.
- Before the first step: the memory a batch of each bucket will need is estimated from this very
  model (model/memory.py) and a bucket that would not fit the budget is refused with a message
  naming it and what to change (no kernel OOM kill mid-step); so is a batch whose H, W are not a
  multiple of the preset's size multiple.
- AdamW, linear LR warm-up, gradient clipping, EMA of the trainable weights (decay with the
  usual (1+s)/(10+s) warm-up).
- Checkpoints `out_dir/checkpoint-NNNNNNN/` every `checkpoint_every` steps: a DepthPipeline folder
  written by `DepthPipeline.save_pretrained` (the one save path: unet/EMA/vae safetensors +
  model_config.json), optimizer.pt (tensors and plain containers only,
  loaded with weights_only=True) and trainer_state.json (step, data position).
- Exact resume: the noise and t of step s come from a generator seeded with (seed, s), the
  learning rate is a function of s, and the data source is restored to its position (its
  `load_state_dict` if it has one, else by skipping the batches already consumed). The resumed
  run's next loss equals the uninterrupted run's.
- Logging: metrics.jsonl always; TensorBoard too when installed. tqdm progress bar.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from model.checkpoint import load_state_dict, read_json, write_json
from model.config import LATENT_CHANNELS, TrainConfig
from model.data import validate_batch
from model.denoiser import set_trainable
from model.flow_matching import flow_matching_loss, interpolate, sample_timesteps, velocity_target
from model.latent_codec import normalize_depth
from model.losses import clip_ssi_loss
from model.memory import MemoryModel, check_bucket, check_table, memory_budget, probe
from model.pipeline import DepthPipeline


@dataclass
class RunResult:
    out_dir: str
    start_step: int
    steps: int  # completed steps in total (including those before a resume)
    losses: list[float] = field(default_factory=list)  # one per step run in this call
    checkpoints: list[str] = field(default_factory=list)
    frames_per_s: float = 0.0
    seconds: float = 0.0
    pipeline: DepthPipeline | None = None
    memory: MemoryModel | None = None
    memory_budget: float | None = None
    ema_state: dict[str, torch.Tensor] | None = None


class EMA:
    """Exponential moving average of the trainable parameters (fp32 shadow copies)."""

    def __init__(self, named_params: list[tuple[str, torch.nn.Parameter]], decay: float):
        self.decay = decay
        self.shadow = {n: p.detach().float().clone() for n, p in named_params}

    @torch.no_grad()
    def update(self, named_params: list[tuple[str, torch.nn.Parameter]], step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for n, p in named_params:
            self.shadow[n].mul_(d).add_(p.detach().float(), alpha=1 - d)

    def merged_state(self, full_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = dict(full_state)
        out.update({n: v.to(full_state[n].dtype) for n, v in self.shadow.items() if n in full_state})
        return out


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    cks = sorted(Path(out_dir).glob("checkpoint-*/trainer_state.json"))
    return cks[-1].parent if cks else None


def _lr_at(cfg: TrainConfig, step: int) -> float:
    return cfg.lr * min(1.0, (step + 1) / max(1, cfg.warmup_steps))


def _step_generator(seed: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + step) % (2**63))


class _Logger:
    def __init__(self, out_dir: Path, kind: str, enabled: bool):
        self.enabled = enabled
        self.file = (out_dir / "metrics.jsonl").open("a") if enabled else None
        self.tb = None
        if enabled and kind == "auto":
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(out_dir / "tb"))
            except Exception:  # tensorboard not installed: JSONL only
                self.tb = None

    def log(self, step: int, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        self.file.write(json.dumps({"step": step, **metrics}) + "\n")
        self.file.flush()
        if self.tb is not None:
            for k, v in metrics.items():
                self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        if self.file:
            self.file.close()
        if self.tb is not None:
            self.tb.close()


def _build_pipeline(cfg: TrainConfig, pipeline: DepthPipeline | None, resume_from: Path | None) -> DepthPipeline:
    if resume_from is not None:
        pipe = DepthPipeline.from_pretrained(resume_from, use_ema=False)
    elif pipeline is not None:
        pipe = pipeline
    elif cfg.init_from:
        pipe = DepthPipeline.from_pretrained(cfg.init_from, use_ema=True)
    else:
        pipe = DepthPipeline.from_config(cfg.model)
    return pipe.to_mode(cfg.model.mode)


def _conditioning(pipe: DepthPipeline, z_c: torch.Tensor, z_d: torch.Tensor) -> torch.Tensor:
    if pipe.config.mode != "interp":
        return z_c
    b, k, _, h, w = z_d.shape
    mask = torch.zeros(b, k, 1, 1, 1, device=z_d.device, dtype=z_d.dtype)
    mask[:, 0] = 1
    mask[:, -1] = 1  # DAV: first and last key frames of each window are known
    m = mask.expand(b, k, LATENT_CHANNELS, h, w)
    return torch.cat([z_c, z_d * m, m], dim=2)


def _decoded_frames(k: int, n: int) -> list[int]:
    """`n` frame positions of K spread evenly (first and last included)."""
    if n >= k:
        return list(range(k))
    return sorted({round(i * (k - 1) / max(1, n - 1)) for i in range(n)})


def train(config: TrainConfig, source: Iterable[dict[str, Any]], pipeline: DepthPipeline | None = None,
          buckets: Any = None, step_callback: Any = None) -> RunResult:
    """Train (or resume) the depth/interp model on batches from `source`; see the module doc.

    `buckets` (a dataset.packing.BucketTable): every bucket is checked against the memory budget
    before the first step. `step_callback(step, pipe, ema)` runs after each step on the main process
    (benchmarks evaluate the model against steps with it)."""
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from accelerate.state import AcceleratorState

    # AcceleratorState is a process-wide singleton fixed by the first Accelerator; a later train()
    # call in the same process (tests, notebooks) with another precision must start afresh. The
    # distributed PartialState is kept.
    if AcceleratorState._shared_state and AcceleratorState._shared_state.get("_mixed_precision") != config.mixed_precision:
        AcceleratorState._reset_state(reset_partial_state=False)
    acc = Accelerator(mixed_precision=config.mixed_precision)
    from accelerate.utils import set_seed

    set_seed(config.seed)  # same initial weights on every rank and every fresh run
    resume_from = latest_checkpoint(out) if config.resume else None
    pipe = _build_pipeline(config, pipeline, resume_from)
    # Record the model as the pipeline runs it (e.g. the autoencoder file's scaling factor), so a
    # fresh run and one resumed from its checkpoint write the same trainer state.
    config = config.model_copy(update={"model": pipe.config})
    device = acc.device
    pipe.codec.to(device).eval().requires_grad_(False)
    pipe.device = device
    denoiser = pipe.denoiser.to(device)
    unet = denoiser.unet
    n_train = set_trainable(unet, config.train_layers)
    if n_train == 0:
        raise ValueError(f"train_layers={config.train_layers!r} leaves no trainable parameters")
    if config.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    denoiser.train()
    named = [(n, p) for n, p in unet.named_parameters() if p.requires_grad]
    opt = torch.optim.AdamW([p for _, p in named], lr=config.lr, betas=config.betas,
                            weight_decay=config.weight_decay)
    ema = EMA(named, config.ema_decay) if config.ema_decay > 0 else None

    start_step, data_pos, data_state = 0, 0, None
    if resume_from is not None:
        st = read_json(resume_from / "trainer_state.json")
        start_step, data_pos, data_state = int(st["step"]), int(st["data_position"]), st.get("data_state")
        opt.load_state_dict(load_state_dict(resume_from / "optimizer.pt"))
        if ema is not None and (resume_from / "unet_ema.safetensors").is_file():
            ema_sd = load_state_dict(resume_from / "unet_ema.safetensors")
            ema.shadow = {n: ema_sd[n].float().to(device) for n in ema.shadow}
    # memory and shape checks before any step (see model/memory.py)
    mem = probe(pipe, config, device)
    budget = memory_budget(config.memory_gb, device)
    multiple = pipe.config.size_multiple
    if buckets is not None:
        check_table(buckets, mem, budget, multiple)
    model, opt = acc.prepare(denoiser, opt)

    # data position: restore it exactly
    if data_state is not None and hasattr(source, "load_state_dict"):
        source.load_state_dict(data_state)
        it = iter(source)
    else:
        it = iter(source)
        for _ in range(data_pos):
            next(it)
    stride = acc.num_processes if acc.num_processes > 1 and not getattr(source, "sharded_by_rank", False) else 1

    def next_batch() -> dict[str, Any]:
        nonlocal data_pos
        while True:
            batch = next(it)
            data_pos += 1
            if stride == 1 or (data_pos - 1) % stride == acc.process_index:
                return batch

    logger = _Logger(out, config.logger, acc.is_main_process)
    result = RunResult(out_dir=str(out), start_step=start_step, steps=start_step, memory=mem, memory_budget=budget)
    bar = tqdm(range(start_step, config.max_steps), initial=start_step, total=config.max_steps,
               disable=not (config.progress and acc.is_main_process), desc="train")
    frames_done, t_run = 0, time.perf_counter()
    window_frames, t_window = 0, time.perf_counter()
    for step in bar:
        try:
            batch = next_batch()
        except StopIteration:
            break
        b, k, h, w = validate_batch(batch, where=f"{type(source).__name__} batch {data_pos - 1}")
        check_bucket(mem, budget, b, k, h, w, multiple, where=f"batch {data_pos - 1} ({type(source).__name__})")
        rgb = batch["rgb"].to(device)
        depth, valid = batch["depth"].to(device), batch["valid"].to(device)
        idx = batch["frame_indices"].to(device)
        with torch.no_grad():
            norm, _ = normalize_depth(depth, valid)
            z_d = pipe.codec.encode_depth(norm).float()
            z_c = pipe.codec.encode_rgb(rgb).float()
            f = pipe.config.vae_downsample
            weight = F.avg_pool2d(valid.float().flatten(0, 1)[:, None], f).unflatten(0, (b, k))
        g = _step_generator(config.seed, step)
        eps = torch.randn(z_d.shape, generator=g).to(device)
        t = sample_timesteps(b, config.timestep_dist, g, "cpu", config.logit_mean, config.logit_std)
        if config.t0_fraction > 0:
            t = torch.where(torch.rand(b, generator=g) < config.t0_fraction, torch.zeros_like(t), t)
        t = t.to(device)
        x_t = interpolate(z_d, eps, t)
        target = velocity_target(z_d, eps)
        cond = _conditioning(pipe, z_c, z_d)
        for group in opt.param_groups:
            group["lr"] = _lr_at(config, step)
        with acc.autocast():
            pred = model(x_t, cond, t, idx)
        fm_loss = flow_matching_loss(pred, target, weight)
        loss = fm_loss
        depth_loss = None
        if config.depth_loss_weight > 0:
            # one-step estimate of the clean latents, decoded for a few frames (gradients reach
            # the UNet through the frozen decoder)
            sel = _decoded_frames(k, config.depth_loss_frames)
            x1 = x_t[:, sel] + (1 - t.reshape(-1, 1, 1, 1, 1)) * pred.float()[:, sel]
            dec = pipe.codec.decode_depth(x1)
            depth_loss = clip_ssi_loss(dec, norm[:, sel], valid[:, sel])
            loss = loss + config.depth_loss_weight * depth_loss
        acc.backward(loss)
        if config.grad_clip > 0 and acc.sync_gradients:
            acc.clip_grad_norm_([p for _, p in named], config.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if ema is not None:
            ema.update(named, step)

        loss_v = float(acc.gather(loss.detach()[None]).mean())
        if not math.isfinite(loss_v):
            raise FloatingPointError(f"non-finite loss at step {step}")
        result.losses.append(loss_v)
        result.steps = step + 1
        frames_done += b * k
        window_frames += b * k
        bar.set_postfix(loss=f"{loss_v:.4f}")
        if (step + 1) % config.log_every == 0:
            now = time.perf_counter()
            metrics = {"loss": loss_v, "fm_loss": float(fm_loss.detach()), "lr": _lr_at(config, step),
                       "frames_per_s": window_frames / max(now - t_window, 1e-9)}
            if depth_loss is not None:
                metrics["depth_loss"] = float(depth_loss.detach())
            logger.log(step + 1, metrics)
            window_frames, t_window = 0, now
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.max_steps:
            ck = _save_checkpoint(acc, pipe, model, opt, ema, config, out, step + 1, data_pos, source, stride)
            if ck is not None:
                result.checkpoints.append(str(ck))
        if step_callback is not None and acc.is_main_process:
            step_callback(step + 1, pipe, ema)
    bar.close()
    logger.close()
    result.seconds = time.perf_counter() - t_run
    result.frames_per_s = frames_done / max(result.seconds, 1e-9)
    denoiser.eval()
    pipe.denoiser = acc.unwrap_model(model)
    pipe.denoiser.requires_grad_(False)
    result.pipeline = pipe
    if ema is not None:
        result.ema_state = ema.merged_state(pipe.denoiser.unet.state_dict())
    return result


def _save_checkpoint(acc, pipe: DepthPipeline, model, opt, ema: EMA | None, config: TrainConfig, out: Path,
                     step: int, data_pos: int, source: Any, stride: int) -> Path | None:
    full = acc.get_state_dict(model)  # gathers FSDP shards
    if stride > 1:
        # ranks stride over one stream: the furthest rank's position is where the next step starts
        data_pos = int(acc.gather(torch.tensor([data_pos], device=acc.device)).max())
    acc.wait_for_everyone()
    if not acc.is_main_process:
        return None
    unet_state = {k.removeprefix("unet."): v for k, v in full.items() if k.startswith("unet.")}
    ck = out / f"checkpoint-{step:07d}"
    tmp = out / f".tmp-checkpoint-{step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    pipe.save_pretrained(tmp, ema_unet_state=ema.merged_state(unet_state) if ema is not None else None,
                         unet_state=unet_state)
    torch.save(opt.state_dict(), tmp / "optimizer.pt")
    data_state = source.state_dict() if hasattr(source, "state_dict") and stride == 1 else None
    write_json({"step": step, "data_position": data_pos, "data_state": data_state,
                "train_config": config.to_dict()}, tmp / "trainer_state.json")
    shutil.rmtree(ck, ignore_errors=True)
    tmp.rename(ck)
    old = sorted(out.glob("checkpoint-*"))[: -max(1, config.keep_checkpoints)]
    for o in old:
        shutil.rmtree(o, ignore_errors=True)
    return ck
