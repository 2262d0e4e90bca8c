"""What a flow run shows: counts from the catalog, a Prefect markdown artifact, and ROOT/report.html
(the counts, what failed and why, evaluation rows, and links to each recording's curation report)."""

from __future__ import annotations

import html
from pathlib import Path

from flows.config import Layout


def catalog_counts(root: str | Path) -> dict:
    """Counts over the live catalog (dataset.catalog views over ROOT's Parquet files)."""
    from dataset import catalog

    con = catalog.open(str(root))
    try:
        one = lambda sql: con.execute(sql).fetchone()  # noqa: E731
        rec = one("SELECT count(*), count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status = 'failed'),"
                  " count(*) FILTER (WHERE status = 'not_processed'),"
                  " coalesce(sum(num_frames / NULLIF(fps, 0)) / 3600.0, 0) FROM recordings")
        clips = one("SELECT count(*) FILTER (WHERE decision = 'kept'), count(*) FILTER (WHERE decision <> 'kept'),"
                    " coalesce(sum(hours) FILTER (WHERE decision = 'kept'), 0) FROM clips")
        reasons = con.execute("SELECT r AS reason, count(*) AS n FROM (SELECT unnest(reasons) AS r FROM clips "
                          "WHERE decision <> 'kept') GROUP BY r ORDER BY n DESC, r").fetchall()
        spans = con.execute("SELECT reason, sum(end_frame - start_frame) AS frames FROM spans GROUP BY reason "
                        "ORDER BY frames DESC, reason").fetchall()
        shards = one("SELECT count(*), coalesce(sum(num_clips), 0), coalesce(sum(hours), 0) FROM shards")
        acc = one("SELECT count(*) FILTER (WHERE NOT balanced), coalesce(sum(num_frames), 0) FROM frames_accounting")
        problems = con.execute("SELECT recording_id, manifest, status, errors FROM recordings WHERE status <> 'ok' "
                               "ORDER BY recording_id, manifest").fetchall()
    finally:
        con.close()
    return {
        "recordings": rec[0], "recordings_ok": rec[1], "recordings_failed": rec[2], "recordings_not_processed": rec[3],
        "recording_hours": rec[4],
        "clips_kept": clips[0], "clips_dropped": clips[1], "kept_hours": clips[2],
        "drops_by_reason": dict(reasons), "discarded_frames_by_reason": dict(spans),
        "shards": shards[0], "sharded_clips": shards[1], "sharded_hours": shards[2],
        "unbalanced_recordings": acc[0], "frames": acc[1],
        "problems": [{"recording_id": r, "manifest": m, "status": st, "error": "; ".join(e or [])}
                     for r, m, st, e in problems],
    }


def problem_rows(counts: dict, run: dict) -> list[dict]:
    """Every recording that is not curated, once: the catalog's rows plus this run's (a duplicate id
    or a recording that could not be registered is only in the run), keyed by (id, manifest)."""
    rows: dict[tuple, dict] = {}
    for r in [*counts.get("problems", []), *run.get("failed", []), *run.get("not_processed", [])]:
        rows.setdefault((r["recording_id"], r["manifest"]), r)
    return [rows[k] for k in sorted(rows)]


def markdown_summary(counts: dict, run: dict, report: Path) -> str:
    """The markdown table published as the flow run's artifact."""
    rows = [
        ("recordings", f"{counts['recordings']} ({counts['recordings_ok']} ok, {counts['recordings_failed']} failed, "
                       f"{counts['recordings_not_processed']} not processed)"),
        ("recorded hours", f"{counts['recording_hours']:.4f}"),
        ("curated this run / skipped", f"{run.get('curated', 0)} / {run.get('skipped', 0)}"),
        ("clips kept", str(counts["clips_kept"])),
        ("clips dropped", str(counts["clips_dropped"])),
    ]
    rows += [(f"dropped: {k}", str(v)) for k, v in counts["drops_by_reason"].items()]
    rows += [(f"discarded frames: {k}", str(v)) for k, v in counts["discarded_frames_by_reason"].items()]
    rows += [
        ("shards", f"{counts['shards']} ({counts['sharded_clips']} clips)"),
        ("kept hours", f"{counts['kept_hours']:.4f}"),
        ("frame accounting", "balanced" if not counts["unbalanced_recordings"]
         else f"{counts['unbalanced_recordings']} recordings UNBALANCED"),
    ]
    lines = ["| what | count |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]
    problems = problem_rows(counts, run)
    if problems:
        cell = lambda v: str(v).replace("|", "/")  # noqa: E731
        lines += ["", "**Recordings not curated**", "", "| recording | status | manifest | error |", "|---|---|---|---|"]
        lines += [f"| {cell(r['recording_id'])} | {r['status']} | {cell(r['manifest'])} | {cell(r['error'])[:400]} |"
                  for r in problems]
    for e in run.get("stage_errors", []):
        lines += ["", f"**Stage {e['stage']} FAILED**: {e['error']}"]
    evs = [e for e in run.get("evaluation", []) if "abs_rel" in e]
    if evs:
        lines += ["", "**Evaluation**", "", "| model | AbsRel | delta1 |", "|---|---|---|"]
        lines += [f"| {e['model']} | {e['abs_rel']:.4f} | {e['delta1']:.4f} |" for e in evs]
    lines += ["", f"Report: `{report}`"]
    return "\n".join(lines)


def publish_artifact(markdown: str, key: str = "synthdepth-run") -> None:
    """A Prefect markdown artifact on the current flow run (no-op outside a run)."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:
        return
    create_markdown_artifact(markdown=markdown, key=key, description="synthdepth run summary")


def _tae(e: dict) -> str:
    return "" if e.get("tae") is None else f"{100 * e['tae']:.3f}"


def _fmt(v) -> str:
    """Hours and other floats to 4 significant digits: 0.01778, not 0.017777777777777778."""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def write_report(layout: Layout, counts: dict, run: dict) -> Path:
    """ROOT/report.html: counts, failures, evaluation, and a link to every recording's report."""
    esc = html.escape
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(_fmt(v))}</td></tr>" for k, v in counts.items()
                   if not isinstance(v, (dict, list)))
    for name in ("drops_by_reason", "discarded_frames_by_reason"):
        rows += "".join(f"<tr><td>{esc(name)}: {esc(k)}</td><td>{v}</td></tr>" for k, v in counts[name].items())
    fail_html = "".join(f"<tr><td>{esc(r['recording_id'])}</td><td>{esc(r['status'])}</td><td>{esc(r['manifest'])}</td>"
                        f"<td>{esc(r['error'])}</td></tr>" for r in problem_rows(counts, run))
    fail_html += "".join(f"<tr><td>stage {esc(e['stage'])}</td><td>FAILED</td><td></td><td>{esc(e['error'])}</td></tr>"
                         for e in run.get("stage_errors", []))
    evals = "".join(
        f"<tr><td>{esc(e['model'])}</td><td>{e['abs_rel']:.4f}</td><td>{e['delta1']:.4f}</td>"
        f"<td>{_tae(e)}</td></tr>"
        for e in run.get("evaluation", []) if "abs_rel" in e)
    links = ""
    if layout.curated.is_dir():
        for d in sorted(p for p in layout.curated.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if (d / "report.html").exists():
                links += f'<li><a href="curated/{esc(d.name)}/report.html">{esc(d.name)}</a></li>'
    card = '<p><a href="dataset_card.html">dataset card</a></p>' if (layout.root / "dataset_card.html").exists() else ""
    body = f"""<!doctype html><html><head><meta charset="utf-8"><title>synthdepth run</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:3px 8px}}
table{{border-collapse:collapse}}</style></head><body>
<h1>synthdepth run</h1><h2>Counts</h2><table>{rows}</table>
<h2>Recordings not curated</h2>{f'<table><tr><th>recording</th><th>status</th><th>manifest</th><th>error</th></tr>{fail_html}</table>' if fail_html else '<p>none</p>'}
<h2>Evaluation</h2>{f'<table><tr><th>model</th><th>AbsRel</th><th>delta1</th><th>TAE x100</th></tr>{evals}</table>' if evals else '<p>not run</p>'}
{card}<h2>Curation reports</h2><ul>{links}</ul></body></html>"""
    path = layout.report
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(body)
    tmp.replace(path)
    return path
