"""Time one training epoch of jaxsnn 0.3.0's event-based Yin-Yang examples.

``--example analytical`` (default): ``jaxsnn.examples.event.yinyang_analytical``;
``--example recurrent-eventprop``: ``jaxsnn.examples.event.yinyang_recurrent_event_prop`` (a
hidden layer with recurrent connections ``lif1 -> syn3 -> lif1`` and an output layer, EventProp
gradients; its own spike budgets and encoding).

Comparison baseline for ``benchmarks/event_yinyang.py``. The network, loss (MSE on
first-spike times), optimiser (scale 1/tau_syn, clip 0.01, Adam with exponential decay),
spike budgets and Yin-Yang data are jaxsnn's own, built with its API and its example's
defaults (``jaxsnn.examples.event.yinyang_analytical``), except 5000 training samples and
120 hidden neurons (batch 64, 3 outputs, tau_mem = 2 tau_syn are its defaults). One epoch
is what ``jaxsnn.event.training.epoch`` does before its test pass: shuffle with
``data_loader``, then an eager ``jax.lax.scan`` over the 78 batches with the jitted
``update`` step (forward + backward + optax update). Printed: compile time (first epoch)
and the best of ``--repeat`` further epochs, each blocked with ``jax.block_until_ready``.

It runs in its own venv, not this project's (no jaxsnn_eqx import)::

    python -m venv /tmp/jaxsnn-venv && /tmp/jaxsnn-venv/bin/pip install jaxsnn==0.3.0
    /tmp/jaxsnn-venv/bin/python benchmarks/jaxsnn_baseline.py [--repeat 3]

``benchmarks/event_yinyang.py --jaxsnn-python /tmp/jaxsnn-venv/bin/python`` calls it and
reads the last line of its output, a JSON object.
"""

import argparse
import json
import time
from functools import partial
from importlib.metadata import version

import jax
import optax
from jaxsnn.base.dataset import data_loader, yinyang_dataset
from jaxsnn.event.encode import encode, spatio_temporal_encode, target_temporal_encode
from jaxsnn.event.loss import mse_loss
from jaxsnn.event.modules import LIF, LIFParameters, Linear, Source
from jaxsnn.event.topology import Topology
from jaxsnn.event.training import update
from jaxsnn.event.types import OptState
from jaxsnn.examples.event import yinyang_analytical, yinyang_recurrent_event_prop
from jaxsnn.examples.event.utils import loss_wrapper

EXAMPLES = {"analytical": yinyang_analytical,
            "recurrent-eventprop": yinyang_recurrent_event_prop}


def build(args, example="analytical"):
    """The example's ``main`` up to its epoch loop: (jitted update, initial state, trainset)."""
    params = LIFParameters(v_reset=-1000.0, v_th=args.threshold, tau_syn=args.tau_syn,
                           tau_mem=args.tau_mem)
    n_batches = args.trainset_size // args.batch_size
    rng = jax.random.PRNGKey(args.seed)
    param_rng, train_rng, _ = jax.random.split(rng, 3)
    xy = yinyang_dataset(train_rng, args.batch_size * n_batches, mirror=True, bias_spike=0.0)
    enc_in = jax.jit(jax.vmap(partial(spatio_temporal_encode, t_late=args.t_late,
                                      duplication=1, duplicate_neurons=False)))
    enc_out = jax.jit(jax.vmap(partial(target_temporal_encode, n_classes=3,
                                       correct_target_time=args.correct_target_time,
                                       wrong_target_time=args.wrong_target_time)))
    inputs, targets = encode(xy, enc_in, enc_out)

    recurrent = example == "recurrent-eventprop"
    builder = Topology(t_max=4.0 * params.tau_syn,
                       **({"backprop_method": "eventprop"} if recurrent else {}))
    modules = {
        "inp": Source(5),
        "lif1": LIF(args.hidden_size, args.n_spikes_hidden, params),
        "lif2": LIF(3, args.n_spikes_output, params),
        "syn1": Linear(mean=3.0, std=1.6, min_delay=0.0),
        "syn2": Linear(mean=0.5, std=0.8, min_delay=0.0),
    }
    edges = [("inp", "syn1"), ("syn1", "lif1"), ("lif1", "syn2"), ("syn2", "lif2")]
    if recurrent:  # the example's recurrent hidden connections
        modules["syn3"] = Linear(mean=0.0, std=0.1, min_delay=0.0)
        edges += [("lif1", "syn3"), ("syn3", "lif1")]
    builder.add(modules)
    builder.connect(edges)
    init_fn, apply_fn = builder.done()
    weights = init_fn(param_rng)

    optimizer = optax.chain(optax.scale(1.0 / args.tau_syn), optax.clip(0.01),
                            optax.adam(optax.exponential_decay(args.lr, n_batches, args.lr_decay)))
    loss_fn = partial(loss_wrapper, apply_fn, mse_loss, params.tau_mem, "lif2", 3)
    update_fn = jax.jit(partial(update, optimizer, loss_fn))
    return update_fn, OptState(optimizer.init(weights), weights, rng), ({"inp": inputs}, targets)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--example", choices=tuple(EXAMPLES), default="analytical")
    a = p.parse_args(argv)
    args = EXAMPLES[a.example].get_parser().parse_args(
        ["--trainset-size", "5000", "--batch-size", "64", "--hidden-size", "120"])
    update_fn, state, trainset = build(args, a.example)

    def train_epoch(state, rng):  # the training half of jaxsnn.event.training.epoch
        batches = data_loader(trainset, args.batch_size, rng=rng)
        return jax.lax.scan(update_fn, state, batches)

    rng = jax.random.PRNGKey(1)
    t0 = time.perf_counter()
    (_, (recording, _)) = jax.block_until_ready(train_epoch(state, rng))
    compile_s = time.perf_counter() - t0
    best = float("inf")
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(train_epoch(state, rng))
        best = min(best, time.perf_counter() - t0)

    try:  # the analytical example's recording layout (the recurrent one's differs)
        if a.example != "analytical":
            raise KeyError(a.example)
        lif1 = recording[1][1]["lif1"]  # (batches, batch, steps) events of the hidden scan
        used = lif1.idx >= 0
        n_in = float((used & ~lif1.internal).sum(-1).mean())
        n_hid = float((used & lif1.internal).sum(-1).mean())
        full = float((used.sum(-1) == lif1.idx.shape[-1]).mean())
    except (AttributeError, IndexError, KeyError, TypeError):  # another recording layout
        n_in = n_hid = full = float("nan")
    gradients = ("EventProp (adjoint), recurrent hidden connections lif1 -> syn3 -> lif1"
                 if a.example == "recurrent-eventprop" else "jax AD through the event scans")
    notes = (
        f"jaxsnn's yinyang_dataset (x, y, 1-x, 1-y, bias spike at t=0: 5 input spikes/sample, "
        f"t_late {args.t_late * 1e3:g} ms, t_max {4 * args.tau_syn * 1e3:g} ms); "
        f"{trainset[1].shape[0] // args.batch_size} batches of {args.batch_size}; fixed event "
        f"budgets: hidden scan {args.n_spikes_hidden} steps (input events take steps too), "
        f"output scan {args.n_spikes_output} steps, cost independent of activity; epoch 1 from "
        f"init: {n_in:.2f} of 5 input spikes/sample processed, {n_hid:.1f} hidden spikes, "
        f"hidden budget full in {full:.0%} of samples; gradients: {gradients}; epoch = "
        f"eager data_loader shuffle + eager lax.scan over the jitted "
        f"update (as jaxsnn.event.training.epoch, minus its test pass and logging); "
        f"compile_s = first epoch; {jax.devices()[0].device_kind}, float32"
    )
    print(json.dumps({
        "name": f"jaxsnn {version('jaxsnn')} {EXAMPLES[a.example].__name__.split('.')[-1]}",
        "jaxsnn_version": version("jaxsnn"),
        "jax_version": jax.__version__,
        "compile_s": round(compile_s, 3),
        "epoch_s": round(best, 4),
        "notes": notes,
    }))


if __name__ == "__main__":
    main()
