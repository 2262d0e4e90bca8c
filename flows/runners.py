"""Task runners: threads or processes on one machine, Dask or Ray for a cluster, same flow code.

- `thread` (default), `process`: one machine; `workers` tasks at a time.
- `dask`: without an address a `distributed.LocalCluster` of `workers` processes with one thread
  each (one recording per process, models loaded once per process); with `address`
  (`tcp://scheduler:8786`) the tasks go to that cluster's workers, which need this package, the
  recordings and the data root at the same paths, and the Prefect API (`PREFECT_API_URL`).
- `ray`: a local Ray instance, or the cluster at `address` (`ray://head:10001`).
Worker processes report task states to this process's Prefect API (its ephemeral server
included): `share_api_url` exports its address before they start.
"""

from __future__ import annotations

import logging
import os

from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

RUNNERS = ("thread", "process", "dask", "ray")


def share_api_url() -> None:
    """Point worker processes at this process's Prefect API (the ephemeral server included), so
    that each process-pool worker does not start an ephemeral server of its own."""
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


_BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_blas_threads(threads: int) -> None:
    """In a fresh worker process, before numpy/BLAS load: their pools get `threads` threads (an
    environment that already says otherwise wins). Dask's nannies do the same with 1."""
    for name in _BLAS_ENV:
        os.environ.setdefault(name, str(threads))


def make_task_runner(kind: str = "thread", workers: int = 2, address: str | None = None, threads: int = 1):
    """Build the task runner named by `kind`; `address` points Dask/Ray at an existing cluster.
    `threads`: BLAS/OpenMP threads of each worker process this starts (process, local Ray)."""
    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "process":
        share_api_url()
        return ProcessPoolTaskRunner(max_workers=workers, initializer=limit_blas_threads, initargs=(threads,))
    if kind == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise RuntimeError("the dask runner needs the 'dask' extra: pip install 'synthdepth[dask]'") from None
        share_api_url()
        # Dask's own INFO lines (scheduler/worker start and stop) drown the run's summary.
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # worker processes read it
        logging.getLogger("distributed").setLevel(logging.WARNING)
        if address:
            return DaskTaskRunner(address=address)
        # Processes, one thread each: curation holds the GIL in numpy/OpenCV glue, so threads in one
        # worker would not scale; no dashboard (its port may be taken, and nobody looks at it here).
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                              "dashboard_address": None})
    if kind == "ray":
        try:
            from prefect_ray import RayTaskRunner
        except ImportError:
            raise RuntimeError("the ray runner needs the 'ray' extra: pip install 'synthdepth[ray]'") from None
        share_api_url()
        if address:
            return RayTaskRunner(address=address)
        env = {name: os.environ.get(name, str(threads)) for name in _BLAS_ENV}
        return RayTaskRunner(init_kwargs={"num_cpus": workers, "include_dashboard": False,
                                          "runtime_env": {"env_vars": env}})
    raise ValueError(f"unknown task runner {kind!r}; choose one of {', '.join(RUNNERS)}")
