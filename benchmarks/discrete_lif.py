"""Benchmark: one `discrete.LIF` layer, forward + backward, against its matmul lower bound.

Batch 16, 500 Euler steps, N inputs and N neurons, float32. "fwd+bwd" is
``eqx.filter_value_and_grad`` of the total spike count with respect to the layer (so the weight
gradient) under `eqx.filter_jit`. "matmul bound" is the layer's two unavoidable matrix products
alone: the forward input product ``X @ W`` and the weight gradient ``X^T @ G``, each one batched
matmul over all ``batch * steps`` rows. If `spyx` is importable, its LIF with the same sizes is
timed too (optional).

Usage: ``python benchmarks/discrete_lif.py [--sizes 512 2048 4096] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", False)  # the benchmark is float32 whatever the environment

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from jaxsnn_eqx import discrete  # noqa: E402

BATCH, STEPS = 16, 500


def timeit(fn, *args, repeats: int) -> float:
    """Best wall time of ``repeats`` calls (after one warm-up call that also compiles)."""
    return timeit_pair([(fn, args)], repeats)[0]


def timeit_pair(calls, repeats: int) -> list[float]:
    """Best wall time of each ``(fn, args)``, calls interleaved so that load on a shared machine
    hits all of them alike (one warm-up call each, which also compiles)."""
    for fn, args in calls:
        jax.block_until_ready(fn(*args))
    best = [float("inf")] * len(calls)
    for _ in range(repeats):
        for k, (fn, args) in enumerate(calls):
            t = time.perf_counter()
            jax.block_until_ready(fn(*args))
            best[k] = min(best[k], time.perf_counter() - t)
    return best


def layer_calls(n: int):
    """``[(fwd_bwd, args), (matmuls, args)]`` for N = ``n``: the layer's forward + backward and
    its matmul lower bound, each jitted; ``fn(*args)`` runs it once."""
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    layer = discrete.LIF(n, n, key=k1, dtype=jnp.float32)
    xs = (jax.random.uniform(k2, (BATCH, STEPS, n)) < 0.02).astype(jnp.float32)

    @eqx.filter_jit
    def fwd_bwd(layer, xs):
        def total(layer):
            return jnp.sum(jax.vmap(layer)(xs))

        return eqx.filter_value_and_grad(total)(layer)

    g = jax.random.normal(k3, (BATCH, STEPS, n), jnp.float32)

    @jax.jit
    def matmuls(w, xs, g):
        x2 = xs.reshape(-1, n)
        return x2 @ w, x2.T @ g.reshape(-1, n)

    return [(fwd_bwd, (layer, xs)), (matmuls, (layer.weight, xs, g))]


def bench_layer(n: int, repeats: int) -> tuple[float, float, float]:
    """(layer seconds, matmul bound seconds, spikes per neuron)."""
    calls = layer_calls(n)
    fwd_bwd, (layer, xs) = calls[0]
    count, grads = fwd_bwd(layer, xs)
    assert grads.weight.shape == (n, n) and bool(jnp.isfinite(grads.weight).all())
    t_layer, t_bound = timeit_pair(calls, repeats)
    return t_layer, t_bound, float(count) / (BATCH * n)


def bench_spyx(n: int, repeats: int) -> float | None:
    try:
        import haiku as hk
        import spyx.nn as snn_spyx
    except Exception:  # optional comparison
        return None

    def net(x):
        core = hk.DeepRNN([hk.Linear(n, with_bias=False), snn_spyx.LIF((n,))])
        spikes, _ = hk.dynamic_unroll(core, x, core.initial_state(x.shape[1]), time_major=True)
        return spikes

    model = hk.without_apply_rng(hk.transform(net))
    xs = (jax.random.uniform(jax.random.PRNGKey(1), (STEPS, BATCH, n)) < 0.02).astype(jnp.float32)
    params = model.init(jax.random.PRNGKey(0), xs)

    @jax.jit
    def fwd_bwd(params, xs):
        return jax.value_and_grad(lambda p: jnp.sum(model.apply(p, xs)))(params)

    return timeit(fwd_bwd, params, xs, repeats=repeats)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048, 4096])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    print(f"discrete.LIF fwd+bwd, batch {BATCH}, {STEPS} steps, float32, "
          f"device {jax.devices()[0].device_kind} ({jax.default_backend()})")
    header = f"{'N':>6} {'fwd+bwd ms':>11} {'matmul bound ms':>16} {'ratio':>6}"
    header += f" {'spikes/neuron':>14}"
    header += f" {'spyx ms':>9} {'spyx/ours':>9}"
    print(header)
    for n in args.sizes:
        t_layer, t_bound, rate = bench_layer(n, args.repeats)
        t_spyx = bench_spyx(n, args.repeats)
        spyx = ("-", "-") if t_spyx is None else (f"{1e3 * t_spyx:.1f}", f"{t_spyx / t_layer:.2f}")
        print(f"{n:>6} {1e3 * t_layer:>11.1f} {1e3 * t_bound:>16.1f} {t_layer / t_bound:>6.2f} "
              f"{rate:>14.2f} {spyx[0]:>9} {spyx[1]:>9}")


if __name__ == "__main__":
    main()
