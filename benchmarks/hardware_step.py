"""Time one training epoch of the emulated-hardware Yin-Yang network (25-100-3, one population).

One epoch = 5000 samples in batches of 64 (78 steps of forward + backward + Adam), compiled as
one ``lax.scan`` (`event_yinyang.epoch_timer`), best of ``--repeat``. Rows:

* ``HardwareRecurrentLIF`` + `hardware.JaxSimulation` as the library runs it: the masks form a
  chain of blocks, so the forward pass is solved block by block (all at once per block) and
  EventProp runs in closed form per block;
* the same forced to treat the masked population as one recurrent population (``blocks=None``:
  the event loop over all 103 neurons and the EventProp sweep over all events);
* `event.RecurrentEventPropLIF` with the same weights and masks (the software model, event loop);
* ``HardwareRecurrentLIF`` + the default `hardware.Emulator()` (quantised weights, per-circuit
  variation, jitter, 8 ns stamps), with the default ``adjoint_at`` and with ``"observed"``;
* the same chip solved by the exact solver in every input interval (`event.Population`'s
  simulation, as the emulator did before `hardware.circuits`).

Usage: ``python benchmarks/hardware_step.py [--repeat 3] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import pathlib

import jax
import optax
from event_yinyang import epoch_timer  # benchmarks/ is on sys.path when run as a script

from jaxsnn_eqx import data, event, hardware
from jaxsnn_eqx.event.backend import simulate_population
from jaxsnn_eqx.tasks import yinyang_hardware as task


class ExactSolverEmulator(hardware.Emulator):
    """`hardware.Emulator` with its chip simulated by `simulate_population` (every interval)."""

    def simulate(self, population, spikes):
        return simulate_population(self.chip_population(population), spikes)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=pathlib.Path, default=None)
    a = ap.parse_args(argv)
    args = task._resolve(task.parser_for().parse_args([]))
    observed = task._resolve(task.parser_for().parse_args(["--adjoint-at", "observed"]))
    x, y = data.yinyang(jax.random.PRNGKey(0), size=5000)
    spikes = task.encode(x, args)
    loss_keyed, _ = task.make_fns(args)
    key = jax.random.PRNGKey(1)
    loss_fn = lambda m, xb, yb: loss_keyed(m, xb, yb, key)
    opt = optax.adam(5e-3)
    hw = task.build_model(jax.random.PRNGKey(0), args, backend=hardware.JaxSimulation())
    one_pop = jax.tree_util.tree_map(lambda v: v, hw)
    object.__setattr__(one_pop, "blocks", None)
    soft = event.RecurrentEventPropLIF(
        hw.in_size, hw.size, params=hw.params, t_max=hw.t_max, max_spikes=hw.max_spikes,
        weight_in=hw.weight_in, weight_rec=hw.weight_rec, mask=hw.mask, mask_in=hw.mask_in,
        single_spike=True)
    rows = [
        ("HardwareRecurrentLIF + JaxSimulation (blocks)", hw, loss_fn),
        ("same, as one recurrent population (event loop)", one_pop, loss_fn),
        ("RecurrentEventPropLIF (software model, event loop)", soft, loss_fn),
        ("HardwareRecurrentLIF + Emulator() (default chip)",
         task.build_model(jax.random.PRNGKey(0), args, backend=hardware.Emulator()), loss_fn),
        ("same, adjoint_at='observed'",
         task.build_model(jax.random.PRNGKey(0), observed, backend=hardware.Emulator()),
         loss_fn),
        ("same, chip by the exact solver per interval (before)",
         task.build_model(jax.random.PRNGKey(0), observed, backend=ExactSolverEmulator()),
         loss_fn),
    ]
    results, base = [], None
    print(f"{'model':55s} {'compile s':>9s} {'epoch s':>9s} {'x blocks':>9s}", flush=True)
    for name, model, fn in rows:
        c, t = epoch_timer(model, fn, spikes, y, 64, opt, a.repeat)
        base = t if base is None else base
        results.append(dict(model=name, compile_seconds=c, epoch_seconds=t, ratio=t / base))
        print(f"{name:55s} {c:9.1f} {t:9.3f} {t / base:9.1f}", flush=True)
    if a.json:
        a.json.write_text(json.dumps(dict(backend=jax.default_backend(), rows=results), indent=2))


if __name__ == "__main__":
    main()
