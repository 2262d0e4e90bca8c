"""`synthdepth evaluate`: score a depth model on a benchmark; table, CSV, JSON, markdown, profiles."""

from __future__ import annotations

from pathlib import Path

import typer


def evaluate(
    checkpoint: str = typer.Argument(..., help="Bootstrap .safetensors or flow-matching model folder."),
    benchmark: str = typer.Option("procedural", "--benchmark", "-b",
                                  help="sintel, kitti, bonn, scannet, nyuv2, simulated, procedural."),
    out: Path = typer.Option(Path("eval_out"), "--out", "-o", help="Folder for CSV/JSON/markdown/PNGs."),
    model_kind: str = typer.Option("auto", "--model-kind", help="auto, bootstrap, per_frame or flow."),
    root: Path | None = typer.Option(None, "--root", help="Dataset folder (published layout)."),
    max_videos: int | None = typer.Option(None, "--max-videos"),
    max_frames: int | None = typer.Option(None, "--max-frames", help="Truncate each video (after the protocol)."),
    space: str | None = typer.Option(None, "--space",
                                     help="disparity or depth; default: the model's output space (depth here)."),
    profiles: bool = typer.Option(True, "--profiles/--no-profiles"),
    device: str = typer.Option("cpu", "--device"),
) -> None:
    """Video-aligned AbsRel, delta1, RMSE and TAE per video and per dataset."""
    import csv
    import json

    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from model.benchmarks import load_benchmark
    from model.evaluate import aggregate, align_prediction, evaluate_video
    from model.loading import load_model
    from model.profiles import save_profile_png

    console = Console()
    model = load_model(checkpoint, model_kind, device)
    space = space or getattr(model, "output_space", "depth")
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for video in load_benchmark(benchmark, root, max_frames=max_frames, max_videos=max_videos):
        pred = model.predict(video.frames)
        m = evaluate_video(pred, video.depth, video.valid, video.poses, video.K, space=space,
                           min_depth=video.min_depth, max_depth=video.max_depth)
        row = {"dataset": video.dataset, "video": video.name, "frames": m["frames"], "abs_rel": m["abs_rel"],
               "delta1": m["delta1"], "rmse": m["rmse"], "tae": m["tae"]}
        rows.append(row)
        if profiles:
            aligned, _, _ = align_prediction(pred, video.depth, video.valid, "video", space,
                                             video.min_depth, video.max_depth)
            gt_show = np.where(video.valid, video.depth, np.nan)
            save_profile_png(out / "profiles" / f"{video.dataset}_{video.name}.png", video.frames, gt_show,
                             aligned, title=f"{video.dataset}/{video.name}")
        console.print(f"{video.name}: AbsRel {row['abs_rel']:.4f} d1 {row['delta1']:.4f}"
                      + (f" TAE {100 * row['tae']:.3f}" if row["tae"] is not None else ""))
    if not rows:
        console.print(f"[red]benchmark {benchmark!r} yielded no videos")
        raise typer.Exit(1)
    summary = {"benchmark": benchmark, "checkpoint": str(checkpoint), "space": space, "align": "video",
               **aggregate(rows)}
    with (out / "per_video.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out / "results.json").write_text(json.dumps({"summary": summary, "videos": rows}, indent=2))
    tae_txt = f"{100 * summary['tae']:.3f}" if "tae" in summary else "n/a"
    md = ["| dataset | videos | AbsRel | delta1 | RMSE | TAE x100 |", "|---|---|---|---|---|---|",
          f"| {benchmark} | {summary['videos']} | {summary['abs_rel']:.4f} | {summary['delta1']:.4f} | "
          f"{summary['rmse']:.4f} | {tae_txt} |"]
    (out / "results.md").write_text("\n".join(md) + "\n")
    table = Table(title=f"{benchmark} ({space} alignment, one scale+shift per video)")
    for c in ("dataset", "videos", "AbsRel", "delta1", "RMSE", "TAE x100"):
        table.add_column(c, justify="right")
    table.add_row(benchmark, str(summary["videos"]), f"{summary['abs_rel']:.4f}", f"{summary['delta1']:.4f}",
                  f"{summary['rmse']:.4f}", tae_txt)
    console.print(table)
    console.print(f"wrote {out}/per_video.csv, results.json, results.md" + (", profiles/" if profiles else ""))
