"""Dataset statistics from the catalog, as text tables and as an HTML dataset card."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import duckdb
import numpy as np

QUERIES = {
    "by_game": """SELECT game, decision, count(*) AS clips, round(sum(hours), 4) AS hours,
                         sum(num_frames) AS frames
                  FROM clips GROUP BY ALL ORDER BY game, decision""",
    "by_decision": """SELECT decision, count(*) AS clips, round(sum(hours), 4) AS hours FROM clips
                      GROUP BY ALL ORDER BY decision""",
    "by_reason": """SELECT reason, count(*) AS clips, round(sum(hours), 4) AS hours
                    FROM (SELECT unnest(CASE WHEN len(reasons) = 0 THEN ['(none)'] ELSE reasons END) AS reason,
                                 hours FROM clips WHERE decision <> 'kept')
                    GROUP BY ALL ORDER BY clips DESC, reason""",
    "frames": """SELECT count(*) AS recordings, sum(num_frames) AS frames, sum(kept_frames) AS kept,
                        sum(dropped_frames) AS dropped, sum(discarded_frames) AS discarded,
                        sum(accounted_frames) AS accounted, count(*) FILTER (WHERE NOT balanced) AS unbalanced
                 FROM frames_accounting""",
    "shards": """SELECT count(*) AS shards, sum(num_clips) AS clips, sum(num_frames) AS frames,
                        round(sum(tar_bytes) / 1e6, 3) AS total_mb, round(min(tar_bytes) / 1e6, 3) AS min_mb,
                        round(median(tar_bytes) / 1e6, 3) AS median_mb, round(max(tar_bytes) / 1e6, 3) AS max_mb,
                        round(sum(depth_bytes) / nullif(sum(num_frames), 0)) AS depth_bytes_per_frame,
                        round(sum(rgb_bytes) / nullif(sum(num_frames), 0)) AS rgb_bytes_per_frame
                 FROM shards""",
}


def compute(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict]]:
    return {name: con.sql(q).to_arrow_table().to_pylist() for name, q in QUERIES.items()}


def render_text(stats: dict[str, list[dict]]) -> str:
    import pyarrow as pa

    from dataset.query import to_text

    parts = []
    for name, rows in stats.items():
        parts.append(f"== {name} ==")
        parts.append(to_text(pa.Table.from_pylist(rows), "table") if rows else "(none)\n")
    return "\n".join(parts)


def write_card(con: duckdb.DuckDBPyConnection, path: str | Path, thumbnails: int = 6) -> Path:
    """Self-contained HTML: the stats tables, score/size histograms, RGB + depth thumbnails."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = compute(con)
    figs = []
    for col, title in [("clip_similarity", "CLIP similarity"), ("depth_abs_rel", "depth AbsRel"),
                       ("depth_delta1", "depth delta1"), ("invalid_fraction", "invalid depth fraction")]:  # fmt: skip
        rows = con.sql(f"SELECT decision, {col} AS v FROM clips WHERE isfinite({col})").fetchall()
        if not rows:
            continue
        fig, ax = plt.subplots(figsize=(4, 2.6))
        for decision in sorted({r[0] for r in rows}):
            ax.hist([r[1] for r in rows if r[0] == decision], bins=30, alpha=0.6, label=decision)
        ax.set_title(title)
        ax.legend()
        figs.append(_png(fig))
        plt.close(fig)
    sizes = [r[0] / 1e6 for r in con.sql("SELECT tar_bytes FROM shards").fetchall()]
    if sizes:
        fig, ax = plt.subplots(figsize=(4, 2.6))
        ax.hist(sizes, bins=20)
        ax.set_title("shard size (MB)")
        figs.append(_png(fig))
        plt.close(fig)
    thumbs = _thumbnails(con, thumbnails)
    out = ["<html><head><meta charset='utf-8'><title>synthdepth dataset card</title>",
           "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}"
           "td,th{border:1px solid #ccc;padding:2px 6px}img{margin:4px}</style></head><body>",
           "<h1>synthdepth dataset card</h1>"]  # fmt: skip
    for name, rows in stats.items():
        out.append(f"<h2>{html.escape(name)}</h2>{_html_table(rows)}")
    out.append("<h2>Histograms</h2>" + "".join(f"<img src='data:image/png;base64,{f}'>" for f in figs))
    out.append("<h2>Samples</h2>")
    for clip_id, game, rgb_png, depth_png in thumbs:
        out.append(f"<div><b>{html.escape(game)}</b> {clip_id}<br><img src='data:image/png;base64,{rgb_png}'>"
                   f"<img src='data:image/png;base64,{depth_png}'></div>")  # fmt: skip
    out.append("</body></html>")
    path = Path(path)
    path.write_text("\n".join(out))
    return path


def _thumbnails(con, n: int) -> list[tuple[str, str, str, str]]:
    from dataset.depth_store import EXTENSIONS, decode_depth
    from dataset.rgb_store import decode_rgb
    from dataset.shard_writer import iter_tar_samples

    rows = con.sql(f"""SELECT clip_id, game, tar_path, key, num_frames, depth_encoding FROM clips
                       WHERE key IS NOT NULL ORDER BY game, clip_id LIMIT {int(n)}""").fetchall()  # fmt: skip
    out = []
    for clip_id, game, tar_path, key, t, enc in rows:
        try:
            sample = next(s for s in iter_tar_samples(tar_path) if s["__key__"] == key)
            mid = [int(t) // 2]
            rgb = decode_rgb(sample["mp4"], mid)[0]
            depth = decode_depth(sample[EXTENSIONS[enc]], enc, mid)[0]
        except Exception:  # noqa: BLE001 - a card with a missing thumbnail is still a card
            continue
        out.append((clip_id, game, _img_png(rgb), _img_png(_colourise(depth))))
    return out


def _colourise(depth: np.ndarray) -> np.ndarray:
    try:
        from capture.visual import colourise_depth

        return colourise_depth(depth)
    except (ImportError, AttributeError):
        from matplotlib import colormaps

        finite = np.isfinite(depth)
        inv = np.zeros_like(depth)
        if finite.any():
            d = 1.0 / np.maximum(depth[finite], 1e-6)  # inverse depth: near is bright
            lo, hi = np.percentile(d, [2, 98])
            inv[finite] = np.clip((d - lo) / max(hi - lo, 1e-9), 0, 1)
        rgb = (colormaps["turbo"](inv)[..., :3] * 255).astype(np.uint8)
        rgb[~finite] = 0
        return rgb


def _img_png(rgb: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=80)
    return base64.b64encode(buf.getvalue()).decode()


def _html_table(rows: list[dict]) -> str:
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values()) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"
