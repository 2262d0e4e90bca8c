"""`synthdepth model ...`: the flow-matching model's own parts.

    synthdepth model fit-vae --out model/weights/tiny_vae.safetensors     # the tiny preset's autoencoder
    synthdepth model buckets --preset tiny --memory-gb 8                  # the bucket table a budget allows
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The flow-matching model's parts: its autoencoder, its bucket table.", no_args_is_help=True)


@app.command("fit-vae")
def fit_vae(
    out: Annotated[Path, typer.Option(help="Weights file to write (.safetensors).")] = Path("tiny_vae.safetensors"),
    scenes: Annotated[int, typer.Option(help="Simulated scenes to render (room/street/terrain in turn).")] = 24,
    frames_per_scene: Annotated[int, typer.Option(help="Frames per scene, spread over its camera path.")] = 16,
    shards: Annotated[list[str] | None, typer.Option(help="Also fit on frames of these shards (your data).")] = None,
    shard_frames: Annotated[int, typer.Option(help="Frames to take from --shards.")] = 400,
    real: Annotated[list[Path] | None, typer.Option(
        help="Folders of NNNNNN_rgb.png + NNNNNN_depth.npy to MEASURE on (held out, never fitted on).")] = None,
    steps: Annotated[int, typer.Option(help="Optimiser steps.")] = 1500,
    batch: Annotated[int, typer.Option(help="Depth crops (and as many RGB crops) per step.")] = 8,
    crop: Annotated[int, typer.Option(help="Crop size (multiple of 8).")] = 96,
    lr: Annotated[float, typer.Option()] = 2e-3,
    seed: Annotated[int, typer.Option()] = 1,
    held_out_scenes: Annotated[int, typer.Option(help="Simulated scenes of other seeds to measure on.")] = 6,
    threads: Annotated[int, typer.Option(help="Torch threads (0: half the cores).")] = 0,
) -> None:
    """Fit the tiny preset's x8 autoencoder (diffusers AutoencoderDC) and measure its depth error.

    Renders simulated frames, fits the autoencoder on random crops (normalised depth and RGB),
    then decodes held-out frames (other simulated seeds at 240x320, and the --real folders) and
    prints the depth error of the decoded depth in depth units. Writes fp16 safetensors with the
    scaling factor, the recipe and the measured errors in the metadata."""
    from rich.console import Console

    from model.predictor import set_torch_threads
    from model.vae_fit import fit_and_measure

    console = Console()
    set_torch_threads(threads or None)
    if crop % 8:
        raise typer.BadParameter("crop must be a multiple of 8", param_hint="--crop")
    reals = list(real) if real else []
    report = fit_and_measure(out, scenes, frames_per_scene, steps, seed, held_out_scenes, reals, batch, crop, lr,
                             list(shards) if shards else None, shard_frames, progress=True, echo=console.print)
    console.print(f"fitted in {report['fit_seconds']:.0f} s; loss {report['loss_first']:.4f} -> "
                  f"{report['loss_last']:.4f}; scaling factor {report['scaling_factor']:.4f}; "
                  f"{report['params']:,} parameters, {report['bytes']:,} bytes -> {out}")
    for name, r in report.items():
        if isinstance(r, dict) and r.get("frames"):
            console.print(f"{name} ({r['frames']} frames): depth AbsRel {r['abs_rel_in_range']:.4f} "
                          f"(delta1 {r['delta1_in_range']:.4f}) inside the normalisation range, "
                          f"{r['abs_rel_all']:.4f} (delta1 {r['delta1_all']:.4f}) over all valid pixels; "
                          f"RGB PSNR {r['rgb_psnr']:.1f} dB")
    typer.echo(json.dumps(report, default=float))


@app.command("buckets")
def buckets(
    preset: Annotated[str, typer.Option(help="tiny | svd")] = "tiny",
    memory_gb: Annotated[float | None, typer.Option(help="Memory budget (GB); default: what is free now.")] = None,
    pretrained: Annotated[Path | None, typer.Option(help="Local diffusers SVD folder (svd preset).")] = None,
    gradient_checkpointing: Annotated[bool, typer.Option()] = False,
    mixed_precision: Annotated[str, typer.Option(help="no | fp16 | bf16")] = "no",
    device: Annotated[str, typer.Option()] = "cpu",
    out: Annotated[Path | None, typer.Option(help="Write the table as YAML (for `train --buckets`).")] = None,
) -> None:
    """Print the bucket table `synthdepth train` would use for a preset and a memory budget, with the
    memory each batch is estimated to need (measured on the model itself, see model/memory.py)."""
    import yaml

    from model.config import ModelConfig, TrainConfig
    from model.memory import default_buckets, memory_budget, probe
    from model.pipeline import DepthPipeline

    mc = ModelConfig.preset_named(preset, pretrained_path=str(pretrained) if pretrained else None) \
        if preset == "svd" else ModelConfig.preset_named(preset)
    cfg = TrainConfig(model=mc, gradient_checkpointing=gradient_checkpointing, mixed_precision=mixed_precision,
                      memory_gb=memory_gb)
    pipe = DepthPipeline.from_config(mc, device=device)
    mm = probe(pipe, cfg, device)
    budget = memory_budget(memory_gb, device)
    table = default_buckets(pipe.config, mm, budget)
    typer.echo(f"{preset}: memory budget {budget / 2**30:.2f} GB, model + optimizer {mm.fixed_bytes / 2**30:.2f} GB, "
               f"activations {mm.bytes_per_latent_px / 1024:.1f} KiB per latent pixel-frame")
    for b in table.buckets:
        need = mm.total(b.batch_size, b.frames, b.height, b.width)
        typer.echo(f"  {b.height:4d}x{b.width:<4d} K={b.frames:<3d} batch {b.batch_size:<4d} ~{need / 2**30:.2f} GB")
    if out is not None:
        out.write_text(yaml.safe_dump(table.to_rows()))
        typer.echo(f"wrote {out}")
