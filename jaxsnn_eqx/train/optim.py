"""The optimiser factory: Adam(W) with a learning-rate schedule (optax)."""

from __future__ import annotations

import optax

from .arguments import FitArgumentError

__all__ = ["make_optimizer"]


def make_optimizer(
    lr: float,
    epochs: int,
    steps_per_epoch: int,
    *,
    schedule: str = "cosine",
    final_lr_fraction: float = 0.05,
    weight_decay: float = 0.0,
    clip_norm: float | None = None,
) -> optax.GradientTransformation:
    """Adam(W) with a learning-rate schedule over ``epochs * steps_per_epoch`` steps.

    ``schedule``: ``"cosine"`` (decay to ``final_lr_fraction * lr``), ``"exponential"`` (same end
    point, geometric) or ``"constant"``. ``weight_decay`` > 0 selects AdamW; ``clip_norm``
    clips the gradients to that global norm before the Adam update.

    Raises:
        ValueError: ``lr`` is not positive or ``schedule`` is unknown.
    """
    if lr <= 0:
        raise FitArgumentError(f"make_optimizer: `lr` must be positive, got {lr}.")
    total = max(1, epochs * steps_per_epoch)
    if schedule == "cosine":
        sched = optax.cosine_decay_schedule(lr, total, alpha=final_lr_fraction)
    elif schedule == "exponential":
        sched = optax.exponential_decay(lr, total, final_lr_fraction)
    elif schedule == "constant":
        sched = optax.constant_schedule(lr)
    else:
        raise FitArgumentError(f"make_optimizer: unknown `schedule` {schedule!r}.")
    opt = optax.adamw(sched, weight_decay=weight_decay) if weight_decay else optax.adam(sched)
    if clip_norm is not None:
        opt = optax.chain(optax.clip_by_global_norm(clip_norm), opt)
    return opt
