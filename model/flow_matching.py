"""Conditional flow matching (Depth Any Video §3.1, eq. 2-5).

phi_t(x) = t x + (1 - t) eps, target velocity v = x - eps, loss = MSE(v_theta, v). t=0 is pure
noise, t=1 data; sampling integrates dphi = v dt from 0 to 1 with Euler steps (3 by default, the
paper's sweet spot; 1 step is allowed and gives x = eps + v_theta(eps, 0)).

Time distribution for training:
  uniform       t ~ U(0, 1) (Lipman et al.).
  logit_normal  t = sigmoid(n), n ~ N(mean, std) (Esser et al., SD3): more weight on mid
                trajectory times, which dominate few-step sampling error; mean 0, std 1 default.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def sample_timesteps(
    n: int, dist: str = "uniform", generator: torch.Generator | None = None, device: str | torch.device = "cpu",
    mean: float = 0.0, std: float = 1.0,
) -> torch.Tensor:
    if dist == "uniform":
        return torch.rand(n, generator=generator, device=device)
    if dist == "logit_normal":
        return torch.sigmoid(mean + std * torch.randn(n, generator=generator, device=device))
    raise ValueError(f"timestep distribution must be 'uniform' or 'logit_normal', got {dist!r}")


def interpolate(x: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """phi_t(x) = t x + (1 - t) eps; t broadcasts from the batch dimension."""
    t = t.reshape(-1, *([1] * (x.ndim - 1))).to(x.dtype)
    return t * x + (1 - t) * eps


def velocity_target(x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    return x - eps


def flow_matching_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """MSE; `weight` (broadcastable, e.g. a latent-resolution valid mask) averages over weighted elements."""
    err = (pred.float() - target.float()) ** 2
    if weight is None:
        return err.mean()
    w = weight.float().expand_as(err)
    return (err * w).sum() / w.sum().clamp(min=1.0)


@torch.no_grad()
def euler_sample(
    velocity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    num_steps: int = 3,
    t_start: float = 0.0,
) -> torch.Tensor:
    """Integrate dx = v(x, t) dt from t_start to 1 in `num_steps` equal Euler steps."""
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    ts = torch.linspace(t_start, 1.0, num_steps + 1)
    x = x0
    for i in range(num_steps):
        t = ts[i].to(x.device).expand(x.shape[0])
        x = x + (ts[i + 1] - ts[i]).item() * velocity(x, t)
    return x
