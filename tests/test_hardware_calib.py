"""Calibration: per-neuron parameters measured from an emulated chip's spikes."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jaxsnn_eqx import hardware
from jaxsnn_eqx.hardware import calib

TAU_MEM, TAU_SYN = 12e-6, 6e-6


def _truth(emu, n):
    """The emulated chip's hidden per-circuit parameters in the model's units (v_leak = 0):
    a synapse's current jump is gain w / tau_syn (nominal), so the model threshold that
    matches the circuit is v_th / (gain tau_syn_circuit / tau_syn)."""
    f = {k: np.asarray(v, float) for k, v in emu.circuit_factors(n).items()}
    return (TAU_MEM * f["tau_mem"], TAU_SYN * f["tau_syn"],
            f["v_th"] / (f["gain"] * f["tau_syn"]))


@pytest.mark.slow  # calibrates emulated chips over many trials (CI runs -m slow)
def test_measured_parameters_match_the_emulated_chip():
    """Stated tolerance (default emulator: 20 ns jitter, 8 ns stamps, 8 trials): median
    relative error of tau_mem and tau_syn below 3% (95th percentile 8%), of the threshold
    below 1% (95th percentile 2.5%); a 5% chip-to-chip spread is resolved."""
    emu = hardware.Emulator(variation_v_th=0.05, variation_tau_mem=0.05,
                            variation_tau_syn=0.05, variation_gain=0.05, chip_seed=3)
    n = 64
    m = calib.measure(emu, n_neurons=n, tau_mem=TAU_MEM, tau_syn=TAU_SYN,
                      weight_scale=emu.weight_scale)
    assert np.all(np.isfinite(m["v_th"]))
    for est, true, med, p95 in zip((m["tau_mem"], m["tau_syn"], m["v_th"]), _truth(emu, n),
                                   (0.03, 0.03, 0.01), (0.08, 0.08, 0.025), strict=True):
        err = np.abs(est / true - 1)
        assert np.median(err) < med and np.percentile(err, 95) < p95
    assert np.corrcoef(m["v_th"], _truth(emu, n)[2])[0, 1] > 0.95
    # the nominal parameters are far worse than the measured ones
    assert np.median(np.abs(1.0 / _truth(emu, n)[2] - 1)) > 3 * np.median(
        np.abs(m["v_th"] / _truth(emu, n)[2] - 1))


@pytest.mark.slow  # a calibration of 16 emulated circuits (23 s)
def test_the_fit_is_exact_on_exact_spike_times():
    emu = hardware.Emulator.ideal(variation_v_th=0.08, variation_tau_mem=0.08,
                                  variation_tau_syn=0.08, variation_gain=0.08)
    m = calib.measure(emu, n_neurons=16, tau_mem=TAU_MEM, tau_syn=TAU_SYN,
                      weight_scale=emu.weight_scale, trials=1)
    for est, true in zip((m["tau_mem"], m["tau_syn"], m["v_th"]), _truth(emu, 16), strict=True):
        np.testing.assert_allclose(est, true, rtol=2e-3)


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_calibration_file_round_trip_and_cli(tmp_path):
    cmd = [sys.executable, "-m", "jaxsnn_eqx.hardware.calib", "--emulator", "--neurons", "24",
           "--threshold", "150", "--tau-syn", "6e-6", "--tau-mem", "12e-6",
           "--refractory-time", "30e-6", "--synapse-dac-bias", "1000", "--chip-seed", "2",
           "--calib-dir", str(tmp_path)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    assert "wrote" in out
    raw = json.loads((tmp_path / "calibration.json").read_text())
    assert len(raw["tau_mem"]) == 24 and raw["target"]["threshold"] == 150
    cal = hardware.Calibration.load(tmp_path)
    assert cal.emulator() == hardware.Emulator(chip_seed=2)
    assert hardware.Emulator.from_calibration(tmp_path) == cal.emulator()
    p = cal.params(20)
    assert p.tau_mem.shape == (20,) and p.v_th.shape == (20,)
    np.testing.assert_allclose(p.tau_syn, cal.tau_syn[:20], rtol=1e-6)
    with pytest.raises(ValueError, match="24 measured"):
        cal.params(30)


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_missing_stack_and_missing_file_are_clear(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "jaxsnn_eqx.hardware.calib", "--calib-dir",
                           str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode != 0 and "calix" in proc.stderr and "--emulator" in proc.stderr
    with pytest.raises(FileNotFoundError, match="calibration.json"):
        hardware.Calibration.load(tmp_path)


@pytest.mark.slow  # trains twice (78 s on the 2-core CI machine)
def test_software_training_with_the_calibration_transfers_to_the_chip(tmp_path):
    """On a strongly varied emulated chip (15% on every circuit parameter), weights trained in
    software with the measured per-neuron model work on the chip; with the nominal model they
    do not."""
    import equinox as eqx
    import jax

    from jaxsnn_eqx import data, event, train
    from jaxsnn_eqx.tasks import yinyang_hardware as task

    var = 0.15
    chip = hardware.Emulator(variation_v_th=var, variation_tau_mem=var, variation_tau_syn=var,
                             variation_gain=var)
    cal = calib.calibrate_emulator(chip, dict(tau_mem=TAU_MEM, tau_syn=TAU_SYN), n_neurons=103)
    cal.save(tmp_path / "cal")
    acc = {}
    for name, extra in (("nominal", []), ("calibrated", ["--calibration", str(tmp_path / "cal")])):
        args = task._resolve(task.parser_for().parse_args(
            ["--backend", "ideal", "--epochs", "8", "--n-train", "3000", "--no-progress",
             "--out", str(tmp_path / name), *extra]))
        task.run(args)
        model = train.load_model(args.out, task.build_model(jax.random.PRNGKey(0), args))
        nominal = event.LIFParams(tau_mem=TAU_MEM, tau_syn=TAU_SYN, v_th=1.0)
        on_chip = eqx.tree_at(lambda m: (m.backend, m.target_params), model, (chip, nominal))
        x, y = data.yinyang_splits(args.seed, n_train=10, n_val=10, n_test=1000)["test"]
        _, predict = task.make_fns(args)
        acc[name] = train.evaluate(on_chip, predict, (task.encode(x, args), y),
                                   key=jax.random.PRNGKey(5))
    assert acc["calibrated"] > 0.85 and acc["calibrated"] > acc["nominal"] + 0.2, acc


@pytest.mark.slow  # calibrates emulated chips over many trials (CI runs -m slow)
def test_chip_calibration_through_calix_and_the_executor(tmp_path, monkeypatch):
    """With the stand-in stack: the published calix flow writes the chip configuration, the
    executor loads it, and the calibrated chip's neurons are measured through the executor."""
    import fake_bss2

    from jaxsnn_eqx.hardware import executor

    monkeypatch.setattr(executor, "_CONNECTION", {})
    chip = hardware.Emulator(jitter=0.0, variation_v_th=0.05, variation_tau_mem=0.05,
                             variation_tau_syn=0.05, variation_gain=0.05)
    _, log = fake_bss2.install(monkeypatch, chip=chip, offset_cycles=50)
    argv = ["--wafer", "W69F0", "--threshold", "150", "--tau-syn", "6e-6", "--tau-mem", "12e-6",
            "--refractory-time", "30e-6", "--synapse-dac-bias", "1000", "--neurons", "16",
            "--calib-dir", str(tmp_path)]
    executor._CONNECTION["hxtorch"] = sys.modules["hxtorch"]  # a run happened before ...
    sys.modules["hxtorch"].init_hardware()
    cal = calib.main(argv)  # ... so calib releases before calix (which refuses otherwise)
    assert log.calibrated[0]["threshold"] == 150 and log.calibrated[0]["tau_mem"] == 12e-6
    assert log.calibrated[0]["tau_syn"] == 6e-6 and log.calibrated[0]["i_synin_gm"] == 500
    assert log.calibrated[0]["synapse_dac_bias"] == 1000
    assert log.calibrated[0]["refractory_time"] == 30e-6
    assert cal.chip == {"kind": "bss2", "setup": "W69F0"} and cal.chip_config in log.calibrations
    saved = json.loads((tmp_path / "calibration.json").read_text())
    assert Path(saved["chip_config"]).name.startswith("calibration_W69F0_leak80_th150_")
    assert saved["chip_config"].endswith("sdbias-1000.pbin")
    # the read-out offset is measured: the stand-in's 50 cycles, within one clock cycle
    assert abs(saved["time_offset"] - (-50 / 125e6)) < 8e-9
    for est, true, tol in zip((cal.tau_mem, cal.tau_syn, cal.v_th), _truth(chip, 16),
                              (0.03, 0.03, 0.01), strict=True):
        assert np.median(np.abs(est / true - 1)) < tol
    executor = hardware.BSS2Executor.from_calibration(tmp_path)
    assert (executor.calibration, executor.weight_scale, executor.time_offset) == (
        cal.chip_config, cal.weight_scale, cal.time_offset)
    calib.main(argv)  # the chip configuration exists: reused, not calibrated again
    assert len(log.calibrated) == 1


@pytest.mark.slow  # calibrates emulated chips over many trials (CI runs -m slow)
def test_the_read_out_offset_is_measured_within_one_clock_cycle():
    """The emulated chip's hidden read-out delay comes back as -time_offset, within 8 ns; the
    record keeps it and names its chip; a foreign chip is refused in one line."""
    for delay in (0.0, 3.2e-7):
        chip = hardware.Emulator(read_out_delay=delay, chip_seed=5)
        offset = calib.measure_time_offset(chip, n_neurons=64, tau_mem=TAU_MEM,
                                           tau_syn=TAU_SYN, weight_scale=chip.weight_scale)
        assert abs(offset + delay) < 8e-9, (delay, offset)
    cal = calib.calibrate_emulator(hardware.Emulator(read_out_delay=3.2e-7, chip_seed=5),
                                   dict(tau_mem=TAU_MEM, tau_syn=TAU_SYN), n_neurons=8,
                                   trials=2)
    assert abs(cal.time_offset + 3.2e-7) < 8e-9 and cal.chip["chip_seed"] == 5
    # the fit sees corrected times: the delay is not folded into tau and threshold
    assert np.median(np.abs(cal.tau_mem / TAU_MEM - 1)) < 0.1
    cal.check_chip({"kind": "emulator", "chip_seed": 5})
    with pytest.raises(ValueError, match=r"chip_seed=5.*chip_seed=0") as err:
        cal.check_chip({"kind": "emulator", "chip_seed": 0})
    assert "\n" not in str(err.value)
    cal.check_chip({"kind": "emulator", "chip_seed": 0}, allow_foreign=True)
    with pytest.raises(ValueError, match="bss2 W69F0"):
        cal.check_chip({"kind": "bss2", "setup": "W69F0"})


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_published_flags_help_and_no_runpy_warning():
    p = calib.parser()
    for action in p._actions:
        assert action.help, action.option_strings
    args = p.parse_args(["--wafer", "W69F0", "--calib-name", "x.pbin",
                         "--recreate-calib-files"])
    assert (args.wafer, args.calib_name, args.recreate) == ("W69F0", "x.pbin", True)
    assert p.parse_args(["--recreate"]).recreate  # our older name still works
    assert calib.chip_config_name(dict(leak=80, threshold=150, reset=80, tau_syn=6e-6,
                                       tau_mem=6e-6, refractory_time=2e-6, i_synin_gm=500,
                                       synapse_dac_bias=1000), "W69F0") == (
        "calibration_W69F0_leak80_th150_reset80_taus-6us_taum-6us_trefrac-2.0us_"
        "isyningm-500_sdbias-1000.pbin")
    proc = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m",
                           "jaxsnn_eqx.hardware.calib", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "RuntimeWarning" not in proc.stderr
    assert "--wafer" in proc.stdout and "--recreate-calib-files" in proc.stdout
