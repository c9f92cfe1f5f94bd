"""The emulated-hardware Yin-Yang task: runs as users run it; the default run reaches 95%."""

import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import optax
import pytest

from jaxsnn_eqx import cli, train
from jaxsnn_eqx.tasks import yinyang_hardware as task


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_short_run_through_the_cli(tmp_path):
    # a fresh process in float32, as a user runs it; every emulator flag parses
    cmd = [sys.executable, "-m", "jaxsnn_eqx.cli", "train", "yinyang", "--method", "hardware",
           "--backend", "emulator", "--out", str(tmp_path), "--epochs", "2", "--n-train", "2000",
           "--n-val", "200", "--n-test", "200", "--no-progress", "--jitter", "5e-8",
           "--weight-bits", "6", "--variation-gain", "0.05", "--spike-loss", "0.01",
           "--no-plot"]
    subprocess.run(cmd, check=True)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["test_accuracy"] > 0.4  # chance: 1/3
    assert saved["config"]["backend"] == "emulator" and saved["config"]["jitter"] == 5e-8
    assert len(saved["epochs"]) == 2 and (tmp_path / "model.eqx").exists()


def test_flags_build_the_backend_and_the_published_network():
    args = task._resolve(task.parser_for().parse_args(
        ["--weight-bits", "0", "--time-resolution", "0", "--variation-v-th", "0.1"]))
    emu = task.make_backend(args)
    assert emu.weight_bits is None and emu.time_resolution is None
    assert emu.variation_v_th == 0.1 and emu.needs_key
    default = task._resolve(task.parser_for().parse_args([]))
    assert (default.tau_syn, default.tau_mem, default.t_late, default.t_max) == (
        6e-6, 12e-6, 12e-6, 30e-6)
    model = task.build_model(jax.random.PRNGKey(0), default)
    assert (model.in_size, model.size, model.blocks) == (25, 103, (100, 3))
    x = jnp.array([[0.2, 0.7]])
    s = task.encode(x, default)
    assert s.time.shape == (1, 25) and int(jnp.sum(s.time == s.time[0, 0])) >= 5
    clip = task.clip_to_synapses(default)
    w_max = 63 * 6e-6 / default.weight_scale
    big = jax.tree_util.tree_map(lambda w: w * 100, model)
    assert float(jnp.max(jnp.abs(clip(big).weight_in))) <= w_max * (1 + 1e-6)


def test_fit_with_key_passes_fresh_keys():
    seen = []

    def loss_fn(w, x, y, key):
        jax.debug.callback(lambda k: seen.append(tuple(k.tolist())), jax.random.key_data(key))
        return jnp.sum((w * x - y) ** 2)

    def predict_fn(w, x, key):
        return jnp.zeros(x.shape[0], jnp.int32)

    x, y = jnp.ones(8), jnp.zeros(8)
    _, res = train.fit(jnp.ones(()), loss_fn, predict_fn, (x, y), (x, y.astype(jnp.int32)),
                       optimizer=optax.sgd(0.1), epochs=2, batch_size=4,
                       key=jax.random.PRNGKey(0), progress=False, with_key=True)
    assert len(seen) == 4 and len(set(seen)) == 4  # 2 epochs x 2 steps, all different
    assert res["val_accuracy"] == 1.0  # labels 0, predictions 0


def test_hardware_is_a_listed_method(capsys):
    assert cli.main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "hardware" in out and "jaxsnn_eqx.event.tasks.hardware.yinyang_mock" in out


@pytest.mark.slow
def test_default_run_reaches_95_percent(tmp_path):
    cmd = [sys.executable, "-m", "jaxsnn_eqx.event.tasks.hardware.yinyang_mock", "--out",
           str(tmp_path), "--no-progress"]
    subprocess.run(cmd, check=True)
    assert json.loads((tmp_path / "results.json").read_text())["test_accuracy"] >= 0.95


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_bss2_task_stops_at_once_without_the_stack(tmp_path):
    for cmd in (["-m", "jaxsnn_eqx.event.tasks.hardware.yinyang"],
                ["-m", "jaxsnn_eqx.cli", "train", "yinyang", "--method", "hardware",
                 "--backend", "bss2"]):
        proc = subprocess.run([sys.executable, *cmd, "--out", str(tmp_path)],
                              capture_output=True, text=True)
        assert proc.returncode != 0
        assert "hxtorch" in proc.stderr and "--backend emulator" in proc.stderr
        assert not (tmp_path / "results.json").exists()


@pytest.mark.slow  # calibrates emulated chips over many trials (CI runs -m slow)
def test_calibrations_are_bound_to_their_emulated_chip(tmp_path, capsys):
    """A calibration of chip_seed 3 is refused on chip 0 in one line naming both; on chip 3
    (or with --allow-foreign-calibration) it is used, and the header names it."""
    from jaxsnn_eqx import hardware
    from jaxsnn_eqx.hardware import calib

    chip3 = hardware.Emulator(chip_seed=3)
    cal = calib.calibrate_emulator(chip3, dict(tau_mem=12e-6, tau_syn=6e-6), n_neurons=103,
                                   trials=2)
    cal.save(tmp_path / "calib3")
    base = ["--calibration", str(tmp_path / "calib3"), "--epochs", "1", "--n-train", "64",
            "--n-val", "64", "--n-test", "64", "--no-progress", "--no-plot"]
    from jaxsnn_eqx.errors import UserError
    from jaxsnn_eqx.tasks.entry import guarded

    with pytest.raises(UserError) as err:  # a user error: one line, exit status 2
        task.main([*base, "--out", str(tmp_path / "a")])
    msg = str(err.value)
    assert "chip_seed=3" in msg and "chip_seed=0" in msg and "\n" not in msg
    assert "--allow-foreign-calibration" in msg
    assert guarded(task.main, [*base, "--out", str(tmp_path / "a")]) == 2
    args = task._resolve(task.parser_for().parse_args([*base, "--chip-seed", "3"]))
    header = task.calibration_in_use(args)
    assert str(tmp_path / "calib3") in header and "chip_seed=3" in header
    forced = task._resolve(task.parser_for().parse_args([*base, "--allow-foreign-calibration"]))
    assert "chip_seed=3" in task.calibration_in_use(forced)
    plain = task._resolve(task.parser_for().parse_args([]))
    assert task.calibration_in_use(plain).startswith("none")
