"""The `synthdepth` command: every stage's commands in one place.

Each stage keeps its own commands in `<stage>/cli*.py`; this module only mounts them, and
imports a stage when its command runs, so `synthdepth --help` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

app = typer.Typer(
    name="synthdepth",
    help="Capture, curate, shard, train and evaluate video depth from game recordings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# (command or group name, module, attribute, is_group, one-line help)
_MOUNTS = [
    ("capture", "capture.cli", "app", True, "Inspect recordings and simulate new ones."),
    ("curate", "flows.cli_curate", "curate", False, "Scenes -> clips -> scores -> keep/drop decisions."),
    ("bootstrap", "flows.cli_bootstrap", "app", True, "Train the small bootstrap depth model used for scoring."),
    ("shard", "dataset.cli", "shard", False, "Write kept clips as WebDataset shards + Parquet."),
    ("query", "dataset.cli", "query", False, "Run read-only SQL over the DuckDB catalog."),
    ("stats", "dataset.cli", "stats", False, "Dataset statistics and an HTML dataset card."),
    ("train", "model.cli", "train", False, "Train the flow-matching video depth model."),
    ("infer", "model.cli", "infer", False, "Predict depth for a video or recording."),
    ("evaluate", "model.evaluate_cli", "evaluate", False, "Evaluate a checkpoint on a benchmark."),
    ("model", "model.model_cli", "app", True, "The depth model's parts: fit its autoencoder, size its buckets."),
    ("run", "flows.cli_flows", "run", False, "Run the whole pipeline as a Prefect flow."),
    ("demo", "flows.cli_flows", "demo", False, "Simulate recordings and run everything end to end."),
    ("serve", "flows.cli_flows", "serve", False, "Watch a folder and curate new recordings."),
]


def _mount() -> None:
    # Only the command being run is imported; the rest stay as names in --help.
    wanted = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    for name, module, attr, is_group, help_text in _MOUNTS:
        if wanted is not None and name != wanted:
            app.command(name, help=help_text)(_placeholder(name))
            continue
        try:
            obj = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            app.command(name, help=f"{help_text} [unavailable: {e}]")(_placeholder(name, str(e)))
            continue
        if is_group:
            app.add_typer(obj, name=name, short_help=help_text)
        else:
            # short_help: the command keeps its own docstring as the long --help text.
            app.command(name, short_help=help_text)(obj)


def _placeholder(name: str, error: str | None = None):
    def cmd() -> None:
        if error:
            typer.echo(f"synthdepth {name}: this command could not be loaded: {error}", err=True)
            raise typer.Exit(2)

    cmd.__doc__ = name
    return cmd


def main() -> None:
    _mount()
    app()


if __name__ == "__main__":
    main()
