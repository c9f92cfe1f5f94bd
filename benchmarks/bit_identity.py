"""Bit-identity snapshot: spike times and gradients of a fixed set of layers, as SHA-256 digests.

A refactoring that must not change any number is checked by running this script before and after
the change and comparing the printed tables (or ``--out`` JSON files)::

    python benchmarks/bit_identity.py --out before.json      # on the old commit
    python benchmarks/bit_identity.py --compare before.json  # on the new one: exit 1 on any change

Each row is one model (event LIF single- and multi-spike, autodiff and EventProp, recurrent,
delays, IF, adaptive LIF, hardware emulator, discrete LIF/LI, a Sequential), with the digest of
its output spike times and indices and of every gradient leaf, in float64 and float32.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys


def _digest(tree) -> str:
    import jax
    import numpy as np

    h = hashlib.sha256()
    for leaf in jax.tree.leaves(tree):
        a = np.asarray(leaf)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _cases():
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    import jaxsnn_eqx as snn
    from jaxsnn_eqx import discrete, event, hardware

    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    key = jax.random.PRNGKey(0)
    k = jax.random.split(key, 8)
    p = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_reset=0.0, v_leak=0.0,
                        t_refrac=0.0)
    n_in = 6
    times = jnp.sort(jax.random.uniform(k[0], (4, 12), minval=0.0, maxval=1.5e-2)).astype(dtype)
    idx = jax.random.randint(k[1], (4, 12), 0, n_in)
    xs = jax.vmap(lambda t, i: snn.Spikes(t, i))(times, idx)

    def loss_of(model):
        def loss(m):
            out = jax.vmap(m)(xs)
            return jnp.sum(jnp.where(jnp.isfinite(out.time), out.time, 0.0) ** 2)
        return loss

    def add(name, model, fwd=None):
        out = jax.vmap(fwd or model)(xs)
        grads = eqx.filter_grad(loss_of(fwd or model) if fwd else loss_of(model))(model)
        yield name, _digest((out.time, out.idx)), _digest(grads)

    w = lambda kk, a, b, m=0.5: (0.02 * (0.4 * jax.random.normal(kk, (a, b)) + m)).astype(dtype)
    cases = {
        "LIF single": lambda: event.LIF(n_in, 8, params=p, t_max=3e-2, max_spikes=256,
                                        weight=w(k[2], n_in, 8)),
        "LIF multi": lambda: event.LIF(n_in, 8, params=p, t_max=3e-2, max_spikes=512,
                                       weight=w(k[2], n_in, 8, 1.5)),
        "EventPropLIF": lambda: event.EventPropLIF(n_in, 8, params=p, t_max=3e-2, max_spikes=256,
                                                   weight=w(k[2], n_in, 8)),
        "LIF delays": lambda: event.LIF(n_in, 8, params=p, t_max=3e-2, max_spikes=256,
                                        weight=w(k[2], n_in, 8),
                                        delay=jnp.abs(w(k[3], n_in, 8)) * 1e-3),
        "RecurrentEventPropLIF": lambda: event.RecurrentEventPropLIF(
            n_in, 10, params=p, t_max=3e-2, max_spikes=200, key=k[4]),
        "IF": lambda: event.IF(n_in, 8, t_max=3e-2, max_spikes=128, key=k[5]),
        "AdaptiveLIF": lambda: event.AdaptiveLIF(n_in, 8, t_max=3e-2, max_spikes=128, key=k[5]),
        "Sequential": lambda: snn.Sequential([
            event.EventPropLIF(n_in, 8, params=p, t_max=3e-2, max_spikes=256,
                               weight=w(k[2], n_in, 8)),
            event.LIF(8, 3, params=p, t_max=3e-2, max_spikes=512, weight=w(k[6], 8, 3, 0.05))]),
    }
    rows = []
    for name, make in cases.items():
        try:
            rows += list(add(name, make()))
        except Exception as e:  # a case the current version cannot build is reported, not hidden
            first = [ln for ln in str(e).splitlines() if "Error" in ln][-1]
            rows.append((name, "error", first[:120]))
    hp = event.LIFParams(tau_mem=12e-6, tau_syn=6e-6, v_th=1.0, v_reset=0.0, v_leak=0.0,
                         t_refrac=0.0)
    try:
        hw = event.HardwareRecurrentLIF(n_in, 10, params=hp, t_max=3e-5, max_spikes=200,
                                        backend=hardware.Emulator(), key=k[7])
        xs_hw = jax.vmap(lambda t, i: snn.Spikes(t * 1e-3, i))(times, idx)
        keys = jax.random.split(k[0], 4)
        f = lambda m: jax.vmap(lambda x, kk: m(x, key=kk))(xs_hw, keys)
        out = f(hw)
        g = eqx.filter_grad(lambda m: jnp.sum(jnp.where(jnp.isfinite(t := f(m).time), t, 0.0)))(hw)
        rows.append(("HardwareRecurrentLIF", _digest((out.time, out.idx)), _digest(g)))
    except Exception as e:
        rows.append(("HardwareRecurrentLIF", f"error: {type(e).__name__}", str(e)[:60]))
    dp = discrete.LIFParams()
    cell = discrete.LIF(n_in, 12, params=dp, dt=5e-4, key=k[2])
    net = snn.Sequential([cell, discrete.LI(12, 3, key=k[3])])
    x_dense = (jax.random.uniform(k[1], (60, n_in)) < 0.2).astype(dtype)
    y = net(x_dense)
    g = eqx.filter_grad(lambda m: jnp.sum(m(x_dense) ** 2))(net)
    rows.append(("discrete LIF+LI", _digest(y), _digest(g)))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    ap.add_argument("--out", help="write the digests to this JSON file")
    ap.add_argument("--compare", help="compare with digests written by --out; exit 1 if any differ")
    args = ap.parse_args(argv)
    import jax

    table = {}
    for x64 in (True, False):
        jax.config.update("jax_enable_x64", x64)
        for name, out, grad in _cases():
            table[f"{name} [{'f64' if x64 else 'f32'}]"] = [out, grad]
    print(f"{'case':32s} {'output':18s} gradients")
    for name, (out, grad) in table.items():
        print(f"{name:32s} {out:18s} {grad}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(table, f, indent=1)
    if args.compare:
        with open(args.compare) as f:
            before = json.load(f)
        diff = [n for n in before if before[n] != table.get(n)]
        diff += [n for n in table if n not in before]
        print("identical" if not diff else "DIFFERENT: " + ", ".join(diff))
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
