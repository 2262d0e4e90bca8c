"""Training memory: the bucket table follows the preset and a budget; a batch that would not fit is
refused before the first step with the bucket named; the estimate is on the safe side of a real run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from model.config import ModelConfig, TrainConfig
from model.data import SyntheticClipSource

pytestmark = pytest.mark.usefixtures("one_torch_thread")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny():
    from model.memory import probe
    from model.pipeline import DepthPipeline

    torch.manual_seed(0)
    pipe = DepthPipeline.from_config(ModelConfig.tiny())
    return pipe, probe(pipe, TrainConfig(model=pipe.config))


def test_default_buckets_follow_the_preset_and_the_budget(tiny):
    from model.memory import PRESET_BUCKETS, BatchTooLargeError, default_buckets

    pipe, mm = tiny
    table = default_buckets(pipe.config)  # no budget: the preset's own table
    res, frames, _ = PRESET_BUCKETS["tiny"]
    assert table.resolutions == sorted(res) and sorted({b.frames for b in table.buckets}) == frames
    assert all(b.height % 32 == 0 and b.width % 32 == 0 for b in table.buckets)  # tiny's size multiple
    svd = default_buckets(ModelConfig.svd())
    assert max(b.height * b.width for b in svd.buckets) > max(b.height * b.width for b in table.buckets)
    # a budget lowers the batch sizes; every batch of the derived table fits it
    budget = mm.fixed_bytes + mm.batch_bytes(1, 8, 192, 256)
    small = default_buckets(pipe.config, mm, budget)
    assert sum(b.batch_size for b in small.buckets) < sum(b.batch_size for b in table.buckets)
    assert all(mm.total(b.batch_size, b.frames, b.height, b.width) <= budget for b in small.buckets)
    assert max(b.batch_size for b in small.buckets if (b.height, b.width, b.frames) == (192, 256, 8)) == 1
    with pytest.raises(BatchTooLargeError, match="no bucket of the tiny preset fits"):
        default_buckets(pipe.config, mm, mm.fixed_bytes + 1)


def test_a_batch_that_does_not_fit_is_refused_before_the_first_step(tmp_path, tiny):
    from dataset.packing import Bucket, BucketTable
    from model.memory import BatchTooLargeError
    from model.train import train

    _, mm = tiny
    table = BucketTable([Bucket(64, 64, 2, 1), Bucket(256, 192, 8, 64)])
    budget_gb = (mm.fixed_bytes + mm.batch_bytes(4, 8, 256, 192)) / 2**30  # room for 4, not 64
    cfg = TrainConfig(model=ModelConfig.tiny(), out_dir=str(tmp_path), max_steps=2, progress=False,
                      memory_gb=budget_gb, checkpoint_every=1)
    consumed = []

    class Source(SyntheticClipSource):
        def batch(self, n):
            consumed.append(n)
            return super().batch(n)

    with pytest.raises(BatchTooLargeError) as e:
        train(cfg, Source(height=64, width=64, k=2), buckets=table)
    msg = str(e.value)
    assert "bucket 256x192xK8" in msg and "batch 64" in msg
    fit = int(re.search(r"lower its batch_size to (\d+)", msg).group(1))
    assert 2 <= fit <= 6  # about the 4 the budget was made for (the process's own RSS moves it a little)
    assert e.value.stage == "model" and e.value.kind == "memory"
    assert consumed == [] and not list(tmp_path.glob("checkpoint-*"))  # nothing ran, nothing written
    # a size that the preset cannot take is named too
    with pytest.raises(BatchTooLargeError, match=r"bucket 90x160xK4 .* not a multiple of 32"):
        train(cfg, Source(height=64, width=64, k=2), buckets=BucketTable([Bucket(90, 160, 4, 1)]))


def test_estimate_is_on_the_safe_side_of_a_real_step(tmp_path):
    """A real training run in a fresh process: its peak RSS stays under the estimate made before its
    first step, and the estimate is not wildly pessimistic."""
    code = textwrap.dedent(f"""
        import json, torch
        torch.set_num_threads(1)

        def peak():
            # VmHWM: this process's own high-water mark (ru_maxrss would carry over the parent's
            # across exec, and the parent here is a test session of a few GB)
            for line in open("/proc/self/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        from dataset.packing import Bucket, BucketTable
        from model.config import ModelConfig, TrainConfig
        from model.data import SyntheticClipSource
        from model.train import train
        cfg = TrainConfig(model=ModelConfig.tiny(), out_dir={str(tmp_path)!r}, max_steps=2, progress=False,
                          checkpoint_every=10**6, logger="jsonl")
        res = train(cfg, SyntheticClipSource(num_clips=2, clip_len=8, k=8, height=192, width=256, batch_size=2),
                    buckets=BucketTable([Bucket(192, 256, 8, 2)]))
        print(json.dumps({{"predicted": res.memory.total(2, 8, 192, 256),
                          "peak": peak()}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600,
                         env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["peak"] <= r["predicted"] <= 2.5 * r["peak"], r
