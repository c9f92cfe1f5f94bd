"""Root finding for threshold crossings, and exact (implicit-function) derivatives of roots.

* `newton_bracketed`: safeguarded Newton on a bracket ``[lo, hi]`` with ``f(lo) < 0 <= f(hi)``,
  elementwise over arrays; Newton steps that leave the bracket fall back to bisection. It iterates
  until every entry has converged to machine precision (or ``max_iter``), so it is exact for any
  smooth monotone residual, such as the LIF membrane on the rising flank before its maximum.
* `implicit_root`: wraps a solver so that the root ``t*(args)`` of ``residual(t, args) = 0`` is
  differentiated by the implicit function theorem, ``dt*/dargs = -(dR/dargs) / (dR/dt)``, instead
  of through the solver's iterations. Non-finite roots (no crossing) get zero tangents.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero
from jaxtyping import Array, Bool, Float

__all__ = ["newton_bracketed", "implicit_root"]


def newton_bracketed(
    f_and_df: Callable[[Float[Array, "*n"]], tuple[Float[Array, "*n"], Float[Array, "*n"]]],
    lo: Float[Array, "*n"],
    hi: Float[Array, "*n"],
    max_iter: int = 100,
    active: Bool[Array, "*n"] | None = None,
    f_tol: Float[Array, "*n"] | float = 0.0,
) -> Float[Array, "*n"]:
    """Root of an increasing function in ``[lo, hi]`` (``f(lo) < 0 <= f(hi)``), elementwise.

    Starts at ``lo``; takes Newton steps, bisecting whenever a step would leave the current
    bracket; stops when no entry moves by more than a few ulps, or its residual is within
    ``f_tol`` (the rounding noise of evaluating ``f``: closer than that, Newton steps only
    chase noise and may cycle between two points a few ulps apart), or after ``max_iter``.
    Entries with ``active`` false are not iterated (they return ``lo``); entries with an invalid
    bracket return garbage inside ``[lo, hi]``: mask them afterwards.
    """
    eps = jnp.finfo(lo.dtype).eps
    tiny = jnp.finfo(lo.dtype).tiny

    def cond(c):
        i, _, _, _, moving = c
        return (i < max_iter) & jnp.any(moving)

    def body(c):
        i, x, a, b, moving = c
        fx, dfx = f_and_df(x)
        a = jnp.where(fx < 0, x, a)
        b = jnp.where(fx >= 0, x, b)
        ok = jnp.isfinite(fx) & (dfx > 0)
        step = -fx / jnp.where(ok, dfx, 1.0)
        x_newton = x + step
        inside = ok & (x_newton >= a) & (x_newton <= b)
        x_new = jnp.where(inside, x_newton, 0.5 * (a + b))
        tol = 2 * eps * jnp.abs(x_new) + tiny
        done = ((jnp.abs(fx) <= f_tol) | (inside & (jnp.abs(step) <= tol))
                | (b - a <= tol))
        x_new = jnp.where(jnp.abs(fx) <= f_tol, x, x_new)
        return i + 1, jnp.where(moving, x_new, x), a, b, moving & ~done

    moving = jnp.ones(jnp.shape(lo), bool) if active is None else active
    _, x, _, _, _ = jax.lax.while_loop(cond, body, (0, lo, lo, hi, moving))
    return x


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1, 2))
def implicit_root(
    solve: Callable[[Any], Float[Array, "*n"]],
    residual: Callable[[Float[Array, "*n"], Any], Float[Array, "*n"]],
    min_slope: Callable[[Any], Float[Array, "*n"]],
    args: Any,
) -> Float[Array, "*n"]:
    """``solve(args)``, differentiated implicitly through ``residual(t, args) = 0``.

    ``solve``, ``residual`` and ``min_slope`` should be module-level functions (they are static).
    ``min_slope(args)`` floors ``dR/dt`` in the derivative, so a tangential crossing (``dR/dt ->
    0``, where the true derivative is infinite) yields a large finite gradient instead of inf/NaN.
    ``solve`` is never differentiated: its iterations may use any control flow.
    """
    return solve(args)


def _implicit_root_jvp(solve, residual, min_slope, primals, tangents):
    (args,) = primals
    (dargs,) = tangents
    t = solve(args)
    finite = jnp.isfinite(t)
    t_safe = jnp.where(finite, t, 0.0)
    # only differentiate with respect to the perturbed leaves (symbolic zeros elsewhere)
    is_zero = lambda x: isinstance(x, SymbolicZero)
    leaves, tree = jax.tree.flatten(args)
    dleaves = jax.tree.leaves(dargs, is_leaf=is_zero)
    live = [i for i, d in enumerate(dleaves) if not is_zero(d)]
    if not live:
        return t, jnp.zeros_like(t)

    def r_of(sub):
        full = list(leaves)
        for i, v in zip(live, sub, strict=True):
            full[i] = v
        return residual(t_safe, jax.tree.unflatten(tree, full))

    sub = [leaves[i] for i in live]
    dsub = [jnp.broadcast_to(dleaves[i], jnp.shape(leaves[i])) for i in live]
    _, dr_args = jax.jvp(r_of, (sub,), (dsub,))
    _, dr_dt = jax.jvp(lambda s: residual(s, args), (t_safe,), (jnp.ones_like(t_safe),))
    slope = jnp.maximum(dr_dt, min_slope(args))
    dt = -dr_args / slope
    return t, jnp.where(finite, dt, 0.0)


implicit_root.defjvp(_implicit_root_jvp, symbolic_zeros=True)
