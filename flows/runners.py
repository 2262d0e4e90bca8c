"""Task runners: threads or processes on one machine, Dask or Ray for a cluster, same flow code."""

from __future__ import annotations

from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

RUNNERS = ("thread", "process", "dask", "ray")


def share_api_url() -> None:
    """Point worker processes at this process's Prefect API (the ephemeral server included), so
    that each process-pool worker does not start an ephemeral server of its own."""
    import os

    if os.environ.get("PREFECT_API_URL"):
        return
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            url = str(client.api_url)
    except Exception:  # no API reachable: workers fall back to their own ephemeral server
        return
    if url.startswith("http"):
        os.environ["PREFECT_API_URL"] = url.rstrip("/")


def make_task_runner(kind: str = "thread", workers: int = 2, address: str | None = None):
    """Build the task runner named by `kind`; `address` points Dask/Ray at an existing cluster."""
    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "process":
        share_api_url()
        return ProcessPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise RuntimeError("the dask runner needs the 'dask' extra: pip install 'synthdepth[dask]'") from None
        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1})
    if kind == "ray":
        try:
            from prefect_ray import RayTaskRunner
        except ImportError:
            raise RuntimeError("the ray runner needs the 'ray' extra: pip install 'synthdepth[ray]'") from None
        return RayTaskRunner(address=address) if address else RayTaskRunner()
    raise ValueError(f"unknown task runner {kind!r}; choose one of {', '.join(RUNNERS)}")
