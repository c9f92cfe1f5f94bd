"""The README's headline speed numbers as pytest benchmarks.

Run with ``python -m pytest benchmarks --benchmark-only -n 0`` (not part of the default test run).
Groups and their baselines (ratios printed at the end of the run):

- ``yinyang-epoch``: one training epoch (5000 samples, batch 64, forward + backward + Adam,
  compiled as one ``lax.scan``) of the event networks (analytical, EventProp layered,
  EventProp masked recurrent population) against the same-size ANN MLP 5-120-3 (baseline).
- ``discrete-lif-N``: one `discrete.LIF` layer with N inputs and N neurons, batch 16, 500 Euler
  steps, forward + backward, against its two unavoidable matmuls (baseline).

Compilation happens in the warm-up round and is not timed. Compare against a saved run with
``--benchmark-autosave`` and ``--benchmark-compare`` (see the README).
"""

from __future__ import annotations

import jax
import optax
import pytest
from discrete_lif import layer_calls
from event_yinyang import ann_reference, compiled_epoch

from jaxsnn_eqx import data
from jaxsnn_eqx.tasks import yinyang_event as task
from jaxsnn_eqx.tasks.args import base_parser

EVENT_NETWORKS = {
    "analytical": ["--gradient", "analytical"],
    "eventprop-layered": ["--gradient", "eventprop", "--layered"],
    "eventprop-recurrent": ["--gradient", "eventprop"],
}


@pytest.fixture(scope="module")
def train_data():
    return data.yinyang_splits(0)["train"]


def _task_args(flags):
    parser = task.add_arguments(base_parser("bench", **task.DEFAULTS))
    return task._resolve(parser.parse_args(flags))


def _run(benchmark, run, args, rounds):
    benchmark.pedantic(lambda: jax.block_until_ready(run(*args)), rounds=rounds,
                       iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("network", list(EVENT_NETWORKS))
def test_event_epoch(benchmark, train_data, network):
    benchmark.group = "yinyang-epoch"
    x, y = train_data
    targs = _task_args(EVENT_NETWORKS[network])
    model = task.build_model(jax.random.PRNGKey(0), targs)
    loss_fn, _ = task.make_fns(targs)
    run, args, _ = compiled_epoch(model, loss_fn, task.encode(x, targs), y, 64, optax.adam(1e-3))
    _run(benchmark, run, args, rounds=3 if network == "eventprop-recurrent" else 5)


def test_ann_epoch(benchmark, train_data):
    benchmark.group = "yinyang-epoch"
    benchmark.extra_info["baseline"] = True
    x, y = train_data
    mlp, ann_loss, times = ann_reference(x, _task_args([]))
    run, args, _ = compiled_epoch(mlp, ann_loss, times, y, 64, optax.adam(1e-3))
    _run(benchmark, run, args, rounds=20)


@pytest.mark.parametrize("n", [512, 2048])
@pytest.mark.parametrize("part", ["layer", "matmul-bound"])
def test_discrete_lif(benchmark, n, part):
    benchmark.group = f"discrete-lif-{n}"
    calls = layer_calls(n)
    fn, args = calls[0] if part == "layer" else calls[1]
    if part == "matmul-bound":
        benchmark.extra_info["baseline"] = True
    _run(benchmark, fn, args, rounds=5)
