"""Training memory: what one batch of a bucket will need, the bucket table a preset and a budget
allow, and a refusal BEFORE the first step (naming the bucket and what to change) instead of a
kernel OOM kill halfway through a step.

Estimate of a step's peak, for a batch of B clips x K frames at H x W:

    fixed            the process as it is (weights, libraries; RSS on CPU, allocated on CUDA)
                     + gradients, AdamW moments and EMA of the trainable parameters (fp32)
    activations      bytes the autograd graph saves per latent pixel-frame x B*K*(H/f)*(W/f),
                     f = the VAE factor; measured on this very model by a probe forward (1 clip
                     x 4 frames at a small size, saved tensors counted with
                     torch.autograd.graph.saved_tensors_hooks, under the run's autocast), x 2
                     for the backward's gradients of those activations and the recomputation of
                     one block with gradient checkpointing
    inputs + VAE     the batch tensors (RGB, depth, valid: 9 bytes... as float32/bool) and the
                     VAE encoder's transient at full resolution for one chunk of frames
                     (vae_chunk frames x H x W x the channels of its first level x 3 buffers)

The probe takes a fraction of a second for the tiny preset (a few seconds for SVD on a GPU).
Measured against the peak RSS of real tiny runs on the CPU (bench/model_speed.py prints both), the
estimate is on the safe side; the budget defaults to 85 % of what the machine can still give
(MemAvailable + this process's RSS; on CUDA the device's free memory + what torch holds).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch

from common.errors import InputError
from model.config import ModelConfig, TrainConfig

# Bucket tables per preset: (resolutions, frames per sample, default pixel-frames per batch).
# tiny: CPU sizes, multiples of 32 (its size multiple); 16:9, 4:3, 1:1 and portrait 3:4.
# svd: Depth Any Video trains at 320-640 px with up to 25 frames (§4.2).
PRESET_BUCKETS: dict[str, tuple[list[tuple[int, int]], list[int], int]] = {
    "tiny": ([(128, 224), (192, 256), (160, 160), (256, 192)], [2, 4, 8], 32 * 128 * 224),
    "svd": ([(320, 512), (384, 384), (512, 320)], [1, 8, 16, 25], 2 * 16 * 320 * 512),
}
MARGIN = 2.0  # activations x this: the backward's gradient buffers + recomputed blocks


class BatchTooLargeError(InputError):
    """A bucket's batch would need more memory than the budget allows."""

    stage = "model"
    kind = "memory"


@dataclass
class MemoryModel:
    fixed_bytes: float
    bytes_per_latent_px: float  # activations saved per latent pixel-frame (margin included)
    vae_factor: int
    vae_chunk: int
    vae_first_channels: int
    decoder_bytes_per_px: float = 0.0  # decoder activations per output pixel (depth loss), margin incl.
    decoded_frames: int = 0  # frames per sample decoded with gradients (depth loss); 0 = none

    def batch_bytes(self, b: int, k: int, h: int, w: int) -> float:
        frames = b * k
        latent_px = frames * math.ceil(h / self.vae_factor) * math.ceil(w / self.vae_factor)
        inputs = frames * h * w * (3 * 4 + 4 + 1) * 2  # rgb, depth, valid; a normalised copy
        vae = min(frames, self.vae_chunk) * h * w * self.vae_first_channels * 4 * 3
        dec = b * min(k, self.decoded_frames) * h * w * self.decoder_bytes_per_px
        return self.bytes_per_latent_px * latent_px + inputs + vae + dec

    def total(self, b: int, k: int, h: int, w: int) -> float:
        return self.fixed_bytes + self.batch_bytes(b, k, h, w)


def _process_rss() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _mem_available() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def memory_budget(memory_gb: float | None, device: str | torch.device = "cpu") -> float:
    """Bytes a training run may use in all: `memory_gb` when given, else 85 % of what is there."""
    if memory_gb:
        return float(memory_gb) * 2**30
    dev = torch.device(device)
    if dev.type == "cuda":
        free, _ = torch.cuda.mem_get_info(dev)
        return 0.85 * (free + torch.cuda.memory_reserved(dev))
    avail = _mem_available()
    if avail is None:  # not Linux: trust the physical memory
        avail = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) - _process_rss()
    return 0.85 * (avail + _process_rss())


def _first_level_channels(vae: torch.nn.Module) -> int:
    cfg = dict(vae.config)
    chans = cfg.get("block_out_channels") or cfg.get("encoder_block_out_channels") or [64]
    if "encoder_block_out_channels" in cfg:  # DC-AE: pixel-unshuffled input, a quarter of level 1
        return max(1, int(chans[1 if len(chans) > 1 else 0]) // 4)
    return int(chans[0])


def probe(pipe, config: TrainConfig, device: str | torch.device = "cpu") -> MemoryModel:
    """Measure this model's activation bytes per latent pixel-frame (see the module doc)."""
    from model.config import LATENT_CHANNELS

    den = pipe.denoiser
    unet = den.unet
    trainable = [p for p in unet.parameters() if p.requires_grad] or list(unet.parameters())
    n_train = sum(p.numel() for p in trainable)
    # grads (param dtype) + AdamW exp_avg/exp_avg_sq (param dtype) + EMA (fp32)
    state = n_train * (3 * trainable[0].element_size() + (4 if config.ema_decay > 0 else 0))
    dev = torch.device(device)
    if dev.type == "cuda":
        here = float(torch.cuda.memory_allocated(dev))
    else:
        here = _process_rss()
    m = pipe.config.size_multiple // pipe.config.vae_downsample  # latent size multiple
    params = {q.untyped_storage().data_ptr() for q in list(unet.parameters()) + list(pipe.codec.parameters())}

    def saved_bytes(fn) -> int:
        """Bytes of the distinct storages autograd saves while `fn` runs (parameters excluded:
        they are held anyway)."""
        seen: dict[tuple[int, int], int] = {}

        def pack(t: torch.Tensor):
            try:
                st = t.untyped_storage()
                if st.data_ptr() not in params:
                    seen[(st.data_ptr(), st.nbytes())] = st.nbytes()
            except (RuntimeError, NotImplementedError):  # tensors without storage (e.g. some views)
                seen[(id(t), 0)] = t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = fn()
        del out
        return sum(seen.values())

    was_training = den.training
    den.train()
    if config.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(config.mixed_precision)
    k = 4
    cin = den.in_channels

    def forward(side: int):
        x = torch.randn(1, k, LATENT_CHANNELS, side, side, device=dev)
        cond = torch.randn(1, k, cin - LATENT_CHANNELS, side, side, device=dev)
        with torch.autocast(dev.type, dtype=dtype, enabled=dtype is not None):
            return den(x, cond, torch.tensor([0.5], device=dev))

    try:
        # two sizes: the slope is the per-pixel cost (constant terms such as time embeddings drop out)
        a, b = 2 * m, 4 * m
        sa, sb = saved_bytes(lambda: forward(a)), saved_bytes(lambda: forward(b))
    finally:
        den.train(was_training)
    per_px = max(0.0, (sb - sa) / (k * (b * b - a * a)))
    dec_px, dec_frames = 0.0, 0
    if config.depth_loss_weight > 0:
        def decode(side: int):
            z = torch.randn(1, LATENT_CHANNELS, side, side, device=dev, requires_grad=True)
            return pipe.codec.decode_frames(z)

        f2 = pipe.config.vae_downsample ** 2
        da, db = saved_bytes(lambda: decode(a)), saved_bytes(lambda: decode(b))
        dec_px = MARGIN * max(0.0, (db - da) / (f2 * (b * b - a * a)))
        dec_frames = config.depth_loss_frames
    return MemoryModel(here + state, MARGIN * per_px, pipe.config.vae_downsample, pipe.codec.chunk,
                       _first_level_channels(pipe.codec.vae), dec_px, dec_frames)


def _gb(x: float) -> str:
    return f"{x / 2**30:.2f} GB"


def check_bucket(mm: MemoryModel, budget: float, b: int, k: int, h: int, w: int, multiple: int,
                 where: str = "bucket") -> None:
    """Raise (before any step runs) when a batch of this shape cannot run: wrong size multiple or
    more memory than `budget`. The message names the bucket and what to change."""
    if h % multiple or w % multiple:
        raise BatchTooLargeError(None, f"{where} {h}x{w} (K={k}, batch {b}) is not a multiple of {multiple}, the "
                                       f"preset's size multiple (VAE factor x UNet levels): use e.g. "
                                       f"{max(multiple, h // multiple * multiple)}x{max(multiple, w // multiple * multiple)}",
                                 kind="shape")
    need = mm.total(b, k, h, w)
    if need > budget:
        per_sample = mm.batch_bytes(1, k, h, w)
        fit = int((budget - mm.fixed_bytes) // per_sample) if budget > mm.fixed_bytes else 0
        hint = (f"lower its batch_size to {fit}" if fit >= 1 else
                "use fewer frames (K) or a lower resolution for it")
        raise BatchTooLargeError(None, f"{where} {h}x{w}, K={k}, batch {b} needs about {_gb(need)} "
                                       f"(model and optimizer {_gb(mm.fixed_bytes)} + batch {_gb(need - mm.fixed_bytes)}) "
                                       f"but the memory budget is {_gb(budget)}: {hint}, enable gradient "
                                       "checkpointing, or raise the budget (--memory-gb)")


def check_table(table, mm: MemoryModel, budget: float, multiple: int) -> None:
    """`check_bucket` for every bucket of a `dataset.packing.BucketTable`."""
    for bk in table.buckets:
        check_bucket(mm, budget, bk.batch_size, bk.frames, bk.height, bk.width, multiple,
                     where=f"bucket {bk.height}x{bk.width}xK{bk.frames}")


def default_buckets(model: ModelConfig, mm: MemoryModel | None = None, budget: float | None = None,
                    pixel_budget: int | None = None):
    """The preset's bucket table: its resolutions and frame counts, batch sizes from its pixel
    budget (or `pixel_budget`), lowered to what fits `budget` when a memory model is given."""
    from dataset.packing import Bucket, BucketTable

    resolutions, frames, pixels = PRESET_BUCKETS[model.preset]
    pixels = pixel_budget or pixels
    rows = []
    for h, w in resolutions:
        for k in frames:
            b = max(1, pixels // (k * h * w))
            if mm is not None and budget is not None:
                per = mm.batch_bytes(1, k, h, w)
                fit = int((budget - mm.fixed_bytes) // per) if budget > mm.fixed_bytes else 0
                if fit < 1:
                    continue  # this (resolution, K) cannot run at all within the budget
                b = min(b, fit)
            rows.append(Bucket(h, w, k, b))
    if not rows:
        raise BatchTooLargeError(None, f"no bucket of the {model.preset} preset fits the memory budget "
                                       f"({_gb(budget or 0)}; the model alone takes {_gb(mm.fixed_bytes if mm else 0)}): "
                                       "raise --memory-gb or give a smaller bucket table (--buckets)")
    return BucketTable(rows)
