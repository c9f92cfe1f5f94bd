"""Data parallelism (`train.fit(devices=N)`, the tasks' ``--devices N``) on two CPU devices.

JAX reads ``XLA_FLAGS=--xla_force_host_platform_device_count=2`` only when it is imported, so
every check that needs two devices runs in ONE subprocess (this file run as a script, see
`_child`), which prints a JSON report; the tests below assert on it. The child trains a small
MLP on a `Spikes` pytree (so batches are pytrees with a leading sample axis) with per-step
keys, a ``post_update``, ``select="best_val"`` and a run folder, once on one device and once on
two from the same key, resumes a two-device run on one device, provokes the clear errors and
runs one task end to end through ``jaxsnn-eqx train ... --devices 2``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# float32: the two runs differ only in the order in which the per-device partial gradient sums
# are added (XLA's all-reduce), i.e. in the last bits, and 8 Adam steps do not amplify that
# beyond ~1e-6 relative.
RTOL, ATOL = 1e-5, 1e-7


def _child(out: Path) -> dict:
    """Everything that needs two devices; returns the report (JSON-friendly)."""
    import time

    t0 = time.perf_counter()
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    from jaxsnn_eqx import cli, data, train
    from jaxsnn_eqx.spikes import Spikes

    report: dict = {"device_count": jax.device_count()}
    seconds = report["seconds"] = {}
    lap = lambda name: seconds.__setitem__(  # noqa: E731
        name, [round(time.perf_counter() - t0, 1), round(time.process_time(), 1)])
    lap("import")
    d = data.yinyang_splits(0, n_train=128, n_val=45, n_test=45)
    # a `Spikes` pytree per sample: the MLP reads the 4 times (x, y, 1-x, 1-y)
    enc = lambda x: Spikes(jnp.concatenate([x, 1 - x], -1),  # noqa: E731
                           jnp.broadcast_to(jnp.arange(4, dtype=jnp.int32), (x.shape[0], 4)))
    train_set, val, test = ((enc(d[k][0]), d[k][1]) for k in ("train", "val", "test"))
    seen: list = []

    def loss_fn(m, x, y, key):
        seen.append(None)  # filled by the callback below (at compile time)
        jax.debug.inspect_array_sharding(
            x.time, callback=lambda s: seen.__setitem__(-1, s.shard_shape(x.time.shape)))
        noisy = x.time + 1e-3 * jax.random.normal(key, x.time.shape)
        return optax.softmax_cross_entropy_with_integer_labels(jax.vmap(m)(noisy), y).mean()

    def predict_fn(m, x, key):
        return jnp.argmax(jax.vmap(m)(x.time + 1e-3 * jax.random.normal(key, x.time.shape)), -1)

    def clip(m):
        return jax.tree.map(lambda w: jnp.clip(w, -2.0, 2.0) if eqx.is_inexact_array(w) else w,
                            m)

    opt = train.make_optimizer(1e-2, 2, 128 // 32)

    def run(devices, name, epochs=2, test=test, **kw):
        seen.clear()
        model = eqx.nn.MLP(4, 3, 16, 1, key=jax.random.PRNGKey(0))
        m, res = train.fit(model, loss_fn, predict_fn, train_set, val, test, optimizer=opt,
                           epochs=epochs, batch_size=32, key=jax.random.PRNGKey(1),
                           out=out / name, progress=False, with_key=True, post_update=clip,
                           select="best_val", eval_batch_size=45, devices=devices, **kw)
        return m, res, [list(s) for s in seen if s is not None]

    leaves = lambda m: [np.asarray(a) for a in jax.tree.leaves(eqx.filter(m, eqx.is_array))]  # noqa: E731
    m1, r1, _ = run(1, "one")
    m2, r2, shard_shapes = run(2, "two")
    lap("fit 1 and 2 devices")
    a, b = leaves(m1), leaves(m2)
    report["max_abs_diff"] = max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))
    report["allclose"] = all(np.allclose(x, y, rtol=RTOL, atol=ATOL)
                             for x, y in zip(a, b, strict=True))
    report["losses"] = [[e["train_loss"] for e in r["epochs"]] for r in (r1, r2)]
    report["accuracies"] = [[e["val_accuracy"] for e in r["epochs"]] + [r["test_accuracy"]]
                            for r in (r1, r2)]
    report["batch_shard_shapes"] = shard_shapes  # of X.time (32, 4) inside the loss
    report["params_replicated"] = [
        [len(x.sharding.device_set), x.sharding.is_fully_replicated]
        for x in jax.tree.leaves(eqx.filter(m2, eqx.is_array))]
    saved = train.load_results(out / "two")
    report["saved"] = {k: saved.get(k) for k in ("devices", "platform", "processes",
                                                  "device_history")}
    report["saved_one"] = train.load_results(out / "one")["devices"]

    # resume a run saved on two devices on one: allowed, recorded, the same numbers
    run(2, "moved", epochs=1, test=None)
    m3, r3, _ = run(1, "moved", epochs=2, test=None, resume=True, extend=True)
    lap("resume")
    report["resumed_history"] = r3["device_history"]
    report["resumed_allclose"] = all(np.allclose(x, y, rtol=RTOL, atol=ATOL)
                                     for x, y in zip(a, leaves(m3), strict=True))

    errors = {}
    for name, kw in (("batch", dict(devices=2, batch_size=33)),
                     ("too_many", dict(devices=4, batch_size=32))):
        try:
            train.fit(eqx.nn.MLP(4, 3, 16, 1, key=jax.random.PRNGKey(0)), loss_fn, predict_fn,
                      train_set, optimizer=opt, epochs=1, key=jax.random.PRNGKey(1),
                      progress=False, with_key=True, **kw)
        except ValueError as err:
            errors[name] = str(err)
    report["errors"] = errors
    lap("errors")

    # one task end to end through the command line
    small = ["--epochs", "1", "--n-train", "64", "--n-val", "64", "--n-test", "64",
             "--batch-size", "32", "--no-plot", "--no-progress", "--hidden", "16", "--dt",
             "1e-3"]
    train_cmd = ["train", "yinyang", "--method", "discrete"]
    report["cli_rc"] = cli.main([*train_cmd, *small, "--devices", "2", "--out", str(out / "cli")])
    lap("cli")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            cli.main([*train_cmd, *small, "--devices", "2", "--batch-size", "33"])
        except SystemExit as err:
            report["cli_batch_error"] = [err.code, stderr.getvalue().strip().splitlines()[-1]]
    cli_results = json.loads((out / "cli" / "results.json").read_text())
    report["cli"] = {"devices": cli_results.get("devices"),
                     "config_devices": cli_results["config"].get("devices"),
                     "test_accuracy": cli_results.get("test_accuracy")}
    return report


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("devices")
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, __file__, str(out)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # uses the two-device subprocess run (CI runs -m slow)
def test_two_devices_train_the_same_model(report):
    assert report["device_count"] == 2
    assert report["allclose"], report["max_abs_diff"]
    for l1, l2 in zip(*report["losses"], strict=True):
        assert l2 == pytest.approx(l1, rel=RTOL)
    assert report["accuracies"][0] == report["accuracies"][1]


@pytest.mark.slow  # uses the two-device subprocess run (CI runs -m slow)
def test_batches_are_split_and_parameters_replicated(report):
    # X.time of a (32, 4) batch: each device holds (16, 4) inside the compiled step
    assert report["batch_shard_shapes"] and all(s == [16, 4]
                                                for s in report["batch_shard_shapes"])
    assert all(p == [2, True] for p in report["params_replicated"])


@pytest.mark.slow  # uses the two-device subprocess run (CI runs -m slow)
def test_results_record_the_devices(report):
    assert report["saved"] == {
        "devices": 2, "platform": "cpu", "processes": 1,
        "device_history": [{"from_epoch": 0, "devices": 2, "platform": "cpu"}]}
    assert report["saved_one"] == 1


@pytest.mark.slow  # uses the two-device subprocess run (CI runs -m slow)
def test_resume_on_another_device_count_is_recorded(report):
    assert report["resumed_history"] == [
        {"from_epoch": 0, "devices": 2, "platform": "cpu"},
        {"from_epoch": 1, "devices": 1, "platform": "cpu"}]
    assert report["resumed_allclose"]


@pytest.mark.slow  # uses the two-device subprocess run (CI runs -m slow)
def test_clear_errors(report):
    batch, too_many = report["errors"]["batch"], report["errors"]["too_many"]
    assert "batch_size 33" in batch and "2 devices" in batch and "multiple of 2" in batch
    assert "devices=4" in too_many and "only 2" in too_many
    assert "XLA_FLAGS=--xla_force_host_platform_device_count=4" in too_many


@pytest.mark.slow  # uses the two-device subprocess run (CI runs -m slow)
def test_task_through_the_cli(report):
    assert report["cli_rc"] == 0
    code, line = report["cli_batch_error"]
    assert code == 2 and "--batch-size 33 does not divide into --devices 2" in line
    assert report["cli"]["devices"] == 2 and report["cli"]["config_devices"] == 2
    assert 0.0 <= report["cli"]["test_accuracy"] <= 1.0


def test_devices_flag_everywhere(capsys):
    from jaxsnn_eqx import cli
    from jaxsnn_eqx.train import IGNORED_ON_RESUME

    with pytest.raises(SystemExit):
        cli.main(["train", "yinyang", "--method", "analytical", "--help"])
    text = capsys.readouterr().out
    assert "--devices N" in text and "--coordinator HOST:PORT" in text
    assert "devices" in IGNORED_ON_RESUME
    for argv, expected in ((["--devices", "1000"], "XLA_FLAGS="),
                           (["--coordinator", "localhost:1"], "go together")):
        with pytest.raises(SystemExit) as err:
            cli.main(["train", "yinyang", "--method", "discrete", *argv])
        assert err.value.code == 2
        assert expected in capsys.readouterr().err.strip().splitlines()[-1]


if __name__ == "__main__":
    print(json.dumps(_child(Path(sys.argv[1]))))
