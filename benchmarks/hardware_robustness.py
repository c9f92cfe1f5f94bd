"""Yin-Yang accuracy on an emulated BrainScaleS-2 chip against three imperfections, trained in
software and deployed, or trained with the chip in the loop.

Each imperfection is swept from an otherwise ideal chip (``hardware.Emulator.ideal(...)`` with
that one imperfection turned on), so every row isolates one effect:

* ``jitter``: trial-to-trial spike-time jitter, std 0, 1, 2.5, 5 % of ``tau_syn`` (6 us);
* ``weight bits``: 3, 4, 5, 6, 8-bit synapses at the default ``weight_scale`` (fewer bits also
  shrink the range, ``2**bits - 1`` hardware units);
* ``variation``: fixed-pattern variation 0, 2.5, 5, 10 % of all four ``variation_*`` fields
  (threshold, ``tau_mem``, ``tau_syn``, gain) at once, averaged over ``--chip-seeds`` chips.

For each point: *software*, the network trained once on the exact simulation
(``--backend ideal``) and evaluated on the emulated chip of the point; *in the loop*, trained
with that chip as backend (`jaxsnn_eqx.tasks.yinyang_hardware`, the forward pass of every step
on the chip) and evaluated on the same chip. Every training uses the same seed, data,
initialisation and flags (the task's defaults except ``--epochs``), and clips the weights after
each step to the range of ``--weight-bits`` synapses as the task does: the 6-bit default (also
for ``--backend ideal``, the software training), or the bits of the chip that quantises; so the
in-the-loop training on a chip without imperfections is the software training, bit for bit
(checked). The returned model is the task's default ``--select best_val`` (validation accuracy
on the training backend). Test accuracy: the 1000 test points, one noisy forward
pass per key, averaged over ``--jitter-keys`` keys where the chip has jitter.

Usage::

    python benchmarks/hardware_robustness.py [--epochs 50] [--seed 0] [--chip-seeds 3] \
        [--out benchmarks/results]

writes ``hardware_robustness.{json,md,png}`` to ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import pathlib
import tempfile
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from jaxsnn_eqx import data, event, hardware, train
from jaxsnn_eqx.tasks import recipe
from jaxsnn_eqx.tasks import yinyang_hardware as task

TAU_SYN = 6e-6  # the task's default tau_syn (s); jitter levels are fractions of it
JITTER = (0.0, 0.01, 0.025, 0.05)
WEIGHT_BITS = (3, 4, 5, 6, 8)
VARIATION = (0.0, 0.025, 0.05, 0.10)
VARIED = ("variation_v_th", "variation_tau_mem", "variation_tau_syn", "variation_gain")


def task_args(argv: list[str]) -> argparse.Namespace:
    """The task's resolved arguments for the flags ``argv``."""
    return task._resolve(task.parser_for().parse_args(argv))


def train_once(args: argparse.Namespace, backend=None) -> tuple[eqx.Module, dict]:
    """Train as `task.run` does (`recipe.run_yinyang` with the task's pieces and its weight
    clipping to the range of ``args.weight_bits``-bit synapses), the model's forward pass on
    ``backend`` (default: the one the flags describe); returns the selected model and timings."""
    with tempfile.TemporaryDirectory(prefix="hw_robustness_") as tmp:
        args = argparse.Namespace(**vars(args))
        args.out = pathlib.Path(tmp)
        t0 = time.perf_counter()
        results = recipe.run_yinyang(
            args, encode=task.encode, make_fns=task.make_fns, step_factors=task.weight_units,
            build_model=lambda key, a: task.build_model(key, a, backend=backend),
            t0=t0, with_key=True, post_update=task.clip_to_synapses(args))
        seconds = time.perf_counter() - t0
        model = train.load_model(tmp, task.build_model(jax.random.PRNGKey(0), args, backend))
    info = dict(seconds=seconds, compile_seconds=results["compile_seconds"],
                train_seconds=results["train_seconds"],
                selected_epoch=results.get("selected_epoch"),
                val_accuracy=results.get("val_accuracy"),
                fit_test_accuracy=results.get("test_accuracy"),
                val_curve=[row.get("val_accuracy") for row in results.get("epochs", [])])
    return model, info


def out_of_range(model, args: argparse.Namespace, bits: int) -> float:
    """Fraction of the trained (unmasked) weights beyond ``bits``-bit synapses' range."""
    w_max = hardware.weights.weight_max(bits) * args.tau_syn / args.weight_scale
    w_in, w_rec = model.effective_weights
    w = jnp.concatenate([w_in[w_in != 0], w_rec[w_rec != 0]])
    return float(jnp.mean(jnp.abs(w) > w_max))


def make_accuracy(args: argparse.Namespace, test):
    """``accuracy(model, key) -> float``: the whole test set in one forward pass (compiled once
    per backend, any model and key)."""
    _, predict_fn = task.make_fns(args)
    x, y = test

    @eqx.filter_jit
    def correct(model, x, y, key):
        return jnp.mean(predict_fn(model, x, key) == y)

    return lambda model, key: float(correct(model, x, y, key))


def on_chip(model, emu: hardware.Emulator):
    return eqx.tree_at(lambda m: m.backend, model, emu)


def deploy(accuracy, model, emu: hardware.Emulator, keys) -> list[float]:
    """Test accuracies of ``model`` on chip ``emu``, one per key (one if ``emu`` is noiseless)."""
    keys = keys if emu.needs_key else keys[:1]
    return [accuracy(on_chip(model, emu), k) for k in keys]


def fmt(values: list[float]) -> str:
    v = 100 * np.asarray(values)
    return f"{v.mean():.1f}" if len(v) == 1 else f"{v.mean():.1f} ± {v.std():.1f}"


def points(chip_seeds: int):
    """``(imperfection, level label, level value, [one Emulator per chip])`` of the study."""
    for f in JITTER:
        yield "jitter", f"{100 * f:g} % tau_syn", 100 * f, [
            hardware.Emulator.ideal(jitter=f * TAU_SYN)]
    for bits in WEIGHT_BITS:
        yield "weight bits", f"{bits} bit", bits, [hardware.Emulator.ideal(weight_bits=bits)]
    for v in VARIATION:
        seeds = range(chip_seeds) if v else range(1)
        yield "variation", f"{100 * v:g} %", 100 * v, [
            hardware.Emulator.ideal(chip_seed=s, **dict.fromkeys(VARIED, v)) for s in seeds]


def markdown(rows, config) -> str:
    lines = [
        "# Yin-Yang on an emulated BrainScaleS-2 chip: robustness to imperfections",
        "",
        f"Test accuracy (%) of the 25-100-3 network of `jaxsnn_eqx.tasks.yinyang_hardware`, "
        f"{config['epochs']} epochs, seed {config['seed']}, each imperfection alone on an "
        f"otherwise ideal chip (`hardware.Emulator.ideal(...)`). *software*: trained once on "
        f"the exact simulation, evaluated on the chip; *in the loop*: trained on that chip, "
        f"evaluated on it (backward: `adjoint_at={config['adjoint_at']!r}`). ± : std over "
        f"{config['chip_seeds']} chips (variation) or "
        f"{config['jitter_keys']} jitter draws of the test pass (in the loop with variation: "
        f"one training per chip). Exact simulation: "
        f"{100 * config['ideal_accuracy']:.1f} %. Every training clips the weights to the "
        f"range of 6-bit synapses (the task's default), or of the chip's bits in the loop.",
        "",
        "| imperfection | level | software-trained | in the loop |",
        "|---|---|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['imperfection']} | {r['label']} | {fmt(r['software'])} | "
                     f"{fmt(r['in_loop'])} |")
    lines += ["", f"{config['trainings']} trainings, {config['seconds_per_training']:.1f} s "
              f"each on average (incl. compilation); total {config['total_seconds']:.0f} s; "
              f"{config['device']}; {config['date']}.",
              "", "Software-trained weights beyond the range of b-bit synapses: "
              + ", ".join(f"{b} bit {100 * f:.0f} %"
                          for b, f in config["software_weights_out_of_range"].items())
              + ". Training on `Emulator.ideal()` reproduced the software model bit for bit: "
              + {True: "yes.", False: "**no**.", None: "not measured (--only)."}[
                  config["ideal_emulator_trains_identical_model"]], ""]
    return "\n".join(lines)


def figure(rows, config, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("jitter", "jitter std (% of tau_syn)"), ("weight bits", "synapse weight bits"),
              ("variation", "fixed-pattern variation (% rel. std, all 4)"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
    for ax, (name, xlabel) in zip(axes, panels, strict=True):
        rs = [r for r in rows if r["imperfection"] == name]
        x = [r["level"] for r in rs]
        for key, label, style in (("software", "software-trained", "o-"),
                                  ("in_loop", "in the loop", "s-")):
            acc = [100 * np.asarray(r[key]) for r in rs]
            ax.errorbar(x, [a.mean() for a in acc], yerr=[a.std() for a in acc], fmt=style,
                        capsize=3, label=label)
        ax.axhline(100 * config["ideal_accuracy"], color="gray", ls="--", lw=1,
                   label="exact simulation")
        ax.axhline(100 / 3, color="gray", ls=":", lw=1, label="chance")
        ax.set_xlabel(xlabel)
        ax.set_xticks(x)
        ax.set_title(name)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].legend(loc="lower left")
    fig.suptitle(f"Yin-Yang on an emulated BSS-2 chip, one imperfection at a time "
                 f"({config['epochs']} epochs, seed {config['seed']})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=int, default=50, help="epochs of every training")
    p.add_argument("--seed", type=int, default=0, help="data, initialisation and shuffling")
    p.add_argument("--chip-seeds", type=int, default=3,
                   help="emulated chips per fixed-pattern variation level")
    p.add_argument("--jitter-keys", type=int, default=5,
                   help="noisy test passes averaged on a chip with jitter")
    p.add_argument("--only", nargs="+", choices=("jitter", "weight bits", "variation"),
                   default=None, help="measure only these imperfections (default: all)")
    p.add_argument("--levels", nargs="+", type=float, default=None,
                   help="with --only: only these levels (as in the table: %% or bits)")
    p.add_argument("--adjoint-at", choices=event.hardware_lif.ADJOINT_AT,
                   default=task.ADJOINT_AT_DEFAULT,
                   help="the in-the-loop trainings' backward pass (the task's --adjoint-at)")
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("benchmarks/results"),
                   help="folder for hardware_robustness.{json,md,png}")
    a = p.parse_args(argv)
    t_start = time.perf_counter()
    flags = ["--epochs", str(a.epochs), "--seed", str(a.seed), "--no-progress"]

    base = task_args([*flags, "--backend", "ideal"])
    x_test, y_test = data.yinyang_splits(a.seed, n_train=base.n_train, n_val=base.n_val,
                                         n_test=base.n_test)["test"]
    test = (task.encode(x_test, base), y_test)
    accuracy = make_accuracy(base, test)
    keys = list(jax.random.split(jax.random.PRNGKey(10_000 + a.seed), a.jitter_keys))

    trainings = []
    software, info = train_once(base)
    trainings.append(dict(backend="JaxSimulation()", clip_bits=base.weight_bits, **info))
    ideal_acc = accuracy(software, keys[0])
    print(f"software training (exact simulation, {a.epochs} epochs): {info['seconds']:.1f} s, "
          f"test accuracy {100 * ideal_acc:.1f} %", flush=True)

    in_loop_cache: dict = {}

    def in_loop(emu: hardware.Emulator):
        """Trained with ``emu`` in the loop; weights clipped to its synapses' range, or to the
        task's default 6-bit range (as the software training) when it does not quantise."""
        if emu not in in_loop_cache:
            clip_bits = emu.weight_bits or base.weight_bits
            args = task_args([*flags, "--backend", "emulator", "--weight-bits", str(clip_bits),
                              "--adjoint-at", a.adjoint_at])
            model, info = train_once(args, backend=emu)
            trainings.append(dict(backend=repr(emu), clip_bits=clip_bits, **info))
            in_loop_cache[emu] = model
        return in_loop_cache[emu]

    rows = []
    print(f"{'imperfection':12s} {'level':>14s} {'software':>12s} {'in the loop':>12s} "
          f"{'s':>6s}", flush=True)
    for name, label, level, chips in points(a.chip_seeds):
        if (a.only and name not in a.only) or (a.levels and not np.isclose(a.levels, level).any()):
            continue
        t0 = time.perf_counter()
        sw, il = [], []
        for emu in chips:
            sw += deploy(accuracy, software, emu, keys)
            il += deploy(accuracy, in_loop(emu), emu, keys)
        rows.append(dict(imperfection=name, label=label, level=level,
                         chips=[dataclasses.asdict(e) for e in chips], software=sw, in_loop=il))
        print(f"{name:12s} {label:>14s} {fmt(sw):>12s} {fmt(il):>12s} "
              f"{time.perf_counter() - t0:6.1f}", flush=True)

    ideal_emu = hardware.Emulator.ideal()
    same = None  # not measured when --only leaves out the ideal chip
    if ideal_emu in in_loop_cache:
        leaves = [jax.tree.leaves(eqx.filter(m, eqx.is_array))
                  for m in (software, in_loop_cache[ideal_emu])]  # the backends differ (static)
        same = all(bool(jnp.array_equal(u, v)) for u, v in zip(*leaves, strict=True))
    total = time.perf_counter() - t_start
    config = dict(
        epochs=a.epochs, seed=a.seed, chip_seeds=a.chip_seeds, jitter_keys=a.jitter_keys,
        date=datetime.datetime.now().isoformat(timespec="seconds"),
        device=f"{jax.devices()[0].platform} ({jax.devices()[0].device_kind})",
        jax=jax.__version__, tau_syn=TAU_SYN, task_flags=flags, adjoint_at=a.adjoint_at,
        ideal_accuracy=ideal_acc, trainings=len(trainings),
        seconds_per_training=float(np.mean([t["seconds"] for t in trainings])),
        total_seconds=total, ideal_emulator_trains_identical_model=same,
        software_weights_out_of_range={b: out_of_range(software, base, b)
                                       for b in WEIGHT_BITS},
    )
    md = markdown(rows, config)
    print()
    print(md)
    if same is False:
        print("NOTE: training on Emulator.ideal() gave a different model than on "
              "JaxSimulation")
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "hardware_robustness.md").write_text(md)
    (a.out / "hardware_robustness.json").write_text(json.dumps(
        dict(config=config, rows=rows, trainings=trainings), indent=1, default=repr))
    figure(rows, config, a.out / "hardware_robustness.png")
    print(f"wrote {a.out}/hardware_robustness.{{md,json,png}}; total {total:.0f} s")


if __name__ == "__main__":
    main()
