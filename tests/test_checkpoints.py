"""Run folders of `train.fit`: crash safety (kill and resume), the manifest, resume / overwrite /
extend rules, broken checkpoints, determinism and the non-finite checks."""

import json
import os
import signal
import subprocess
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from test_train import _loss, _predict  # the tiny problem shared with the fit tests

from jaxsnn_eqx import __version__, data
from jaxsnn_eqx.train import (
    IGNORED_ON_RESUME,
    MANIFEST_FORMAT,
    RunFolderError,
    fit,
    load_model,
    make_optimizer,
)

# ----------------------------------------------------------------------------- kill and resume

# A tiny training run in a child process. argv: OUT PAUSE MARKER [--resume]. PAUSE says where the
# child stops (touches MARKER, then waits to be killed): "none"; "step:N" (inside the compiled
# epoch, at the N-th optimizer step of this process); "write:NAME:K" (the K-th atomic write of
# NAME in this process, after writing half of its temporary file); "promote:K" (the K-th rename
# of the new checkpoint files, after the first of them). The loss calls a debug callback in every
# run (paused or not), so all runs execute the same compiled program.
CHILD = r"""
import sys, time
from pathlib import Path
import equinox as eqx, jax, jax.numpy as jnp, numpy as np, optax
from jaxsnn_eqx import train
from jaxsnn_eqx.train import run_folder

out, pause, marker = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
kind, _, arg = pause.partition(":")
counts = {}

def block():
    marker.touch()
    time.sleep(300)  # the parent kills this process

def hit(what):
    counts[what] = counts.get(what, 0) + 1
    return counts[what]

def on_step():
    if kind == "step" and hit("step") == int(arg):
        block()

if kind == "write":  # every file of the run folder is written by run_folder.atomic_write
    name, k = arg.rsplit(":", 1)
    write = run_folder.atomic_write
    def torn_write(path, data, **kw):
        if path.name == name and hit(name) == int(k):
            path.with_name(path.name + ".tmp").write_bytes(data[: len(data) // 2])
            block()
        return write(path, data, **kw)
    run_folder.atomic_write = torn_write
if kind == "promote":  # and every NAME.new -> NAME rename by RunFolder.promote
    promote = run_folder.RunFolder.promote
    def half_promote(self, names):
        if hit("promote") == int(arg):
            promote(self, names[:1])
            block()
        return promote(self, names)
    run_folder.RunFolder.promote = half_promote

x = np.random.default_rng(0).uniform(size=(384, 4)).astype(np.float32)  # no compiling here
y = ((x[:, 0] + x[:, 1] > 1).astype(np.int32) + (x[:, 2] > 0.5)).astype(np.int32)
sets = [(x[:256], y[:256]), (x[256:320], y[256:320]), (x[320:], y[320:])]

def loss(m, x, y):
    jax.debug.callback(on_step)
    return optax.softmax_cross_entropy_with_integer_labels(jax.vmap(m)(x), y).mean()

def predict(m, x):
    return jnp.argmax(jax.vmap(m)(x), -1)

train.fit(eqx.nn.MLP(4, 3, 16, 1, key=jax.random.PRNGKey(0)), loss, predict, *sets,
          optimizer=train.make_optimizer(2e-2, 6, 8), epochs=6, batch_size=32,
          key=jax.random.PRNGKey(1), out=out, config={"hidden": 16}, select="best_val",
          resume="--resume" in sys.argv, progress=False)
"""
EPOCHS = 6


def _child(tmp_path, out, pause="none", resume=False):
    script = tmp_path / "child.py"
    if not script.exists():
        script.write_text(CHILD)
    marker = tmp_path / f"marker-{time.monotonic_ns()}"
    log = open(tmp_path / "child.log", "a")  # noqa: SIM115
    # a compilation cache shared by the children saves half of their time (the epoch, which
    # holds a host callback, is compiled afresh by each)
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax_cache"),
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
           "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
    env.pop("JAX_ENABLE_X64", None)
    cmd = [sys.executable, str(script), str(out), pause, str(marker)]
    proc = subprocess.Popen(cmd + (["--resume"] if resume else []), stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    return proc, marker, log


def _kill_at(tmp_path, out, pause, resume=True):
    """Run the child until it reaches ``pause``, then SIGKILL it."""
    proc, marker, log = _child(tmp_path, out, pause, resume)
    deadline = time.monotonic() + 300
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail(f"child ended (or hung) before pause {pause!r}:\n"
                        + (tmp_path / "child.log").read_text()[-3000:])
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    log.close()
    return json.loads((out / "manifest.json").read_text())


def _finish(proc, marker, log, tmp_path):
    rc = proc.wait(timeout=300)
    log.close()
    assert rc == 0, (tmp_path / "child.log").read_text()[-3000:]


def _metrics(results):
    """Everything of results.json but the wall-clock fields."""
    return {k: ([{c: v for c, v in row.items() if c != "seconds"} for row in val]
                if k == "epochs" else val)
            for k, val in results.items() if not k.endswith("seconds")}


def _leaves(path, like):
    return jax.tree.leaves(eqx.filter(eqx.tree_deserialise_leaves(path, like), eqx.is_array))


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_kill_anywhere_and_resume_is_bit_identical(tmp_path):
    straight, chain = tmp_path / "straight", tmp_path / "chain"
    ref = _child(tmp_path, straight)  # runs alongside the chain
    m = _kill_at(tmp_path, chain, "step:12", resume=False)  # epoch 2 of 6, step 4 of 8
    assert (m["epoch"], m["finished"]) == (1, False)
    with pytest.raises(RunFolderError, match=r"unfinished run \(1 of 6 epochs done\).*--resume"):
        fit(_model(), _loss, _predict, (jnp.zeros((256, 4)), jnp.zeros(256, int)),
            optimizer=optax.adam(1e-3), epochs=6, batch_size=32, key=jax.random.PRNGKey(1),
            out=chain, progress=False)
    # torn temporary file of epoch 3's last_model.eqx.new, before the commit
    m = _kill_at(tmp_path, chain, "write:last_model.eqx.new:2")
    assert m["epoch"] == 2 and (chain / "last_model.eqx.new.tmp").exists()
    # every new checkpoint file of epoch 4 written, manifest torn: epoch 4 runs again
    m = _kill_at(tmp_path, chain, "write:manifest.json:2")
    assert m["epoch"] == 3 and (chain / "manifest.json.tmp").exists()
    assert (chain / "last_model.eqx.new").exists() and (chain / "opt_state.eqx.new").exists()
    # epoch 5 committed, only last_model.eqx renamed: resuming finishes the renames
    m = _kill_at(tmp_path, chain, "promote:2")
    assert m["epoch"] == 5 and (chain / "opt_state.eqx.new").exists()
    # all epochs done, killed while committing "finished": resuming only tests
    m = _kill_at(tmp_path, chain, "write:manifest.json:2")
    assert (m["epoch"], m["finished"]) == (EPOCHS, False)
    _finish(*_child(tmp_path, chain, resume=True), tmp_path)
    _finish(*ref, tmp_path)

    m = json.loads((chain / "manifest.json").read_text())
    assert (m["epoch"], m["finished"]) == (EPOCHS, True)
    assert sorted(p.name for p in chain.iterdir()) == sorted(
        ["manifest.json", "results.json", "model.eqx", "last_model.eqx", "opt_state.eqx"])
    a, b = (json.loads((d / "results.json").read_text()) for d in (straight, chain))
    assert [r["epoch"] for r in b["epochs"]] == list(range(1, EPOCHS + 1))
    assert _metrics(a) == _metrics(b)
    like = eqx.nn.MLP(4, 3, 16, 1, dtype=jnp.float32, key=jax.random.PRNGKey(0))
    for name in ("model.eqx", "last_model.eqx"):
        for x, y in zip(_leaves(straight / name, like), _leaves(chain / name, like), strict=True):
            assert x.dtype == np.float32 and np.array_equal(x, y), name
    assert (straight / "opt_state.eqx").read_bytes() == (chain / "opt_state.eqx").read_bytes()


# ----------------------------------------------------------------------------- in-process


def _problem(n=256):
    d = data.yinyang_splits(0, n_train=n, n_val=64, n_test=64)
    feat = lambda x: jnp.concatenate([x, 1 - x], -1)  # noqa: E731
    return tuple((feat(d[k][0]), d[k][1]) for k in ("train", "val", "test"))




def _model(width=16):
    return eqx.nn.MLP(4, 3, width, 1, key=jax.random.PRNGKey(0))


def _fit(out, epochs=2, model=None, config=None, **kw):
    train, val, test = _problem()
    kw = {"optimizer": make_optimizer(1e-2, epochs, 8), "batch_size": 32,
          "key": jax.random.PRNGKey(1), "progress": False, **kw}
    return fit(model if model is not None else _model(), _loss, _predict, train, val, test,
               epochs=epochs, out=out, config={"lr": 0.01} if config is None else config, **kw)


def test_manifest_records_the_run(tmp_path):
    _fit(tmp_path, config={"lr": 0.01, "out": "x", "items": (1, 2)})
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["format"] == MANIFEST_FORMAT
    assert m["library"] == {"name": "jaxsnn_eqx", "version": __version__}
    assert (m["epoch"], m["finished"]) == (2, True)
    assert m["config"] == {"lr": 0.01, "out": "x", "items": [1, 2]}
    assert m["fit"] == {"epochs": 2, "batch_size": 32, "n_train": 256, "select": "last",
                        "with_key": False, "key": [0, 1], "devices": 1}
    res = json.loads((tmp_path / "results.json").read_text())
    assert m["history"] == res["epochs"]
    for name in ("model.eqx", "last_model.eqx", "opt_state.eqx"):
        data_ = (tmp_path / name).read_bytes()
        assert m["files"][name]["bytes"] == len(data_)
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".new", ".tmp")]
    assert {"out", "resume", "overwrite", "extend", "progress", "plot", "devices", "coordinator",
            "num_processes", "process_id"} == IGNORED_ON_RESUME


def test_same_seed_is_bit_identical(tmp_path):
    runs = [tmp_path / "a", tmp_path / "b"]
    models = [_fit(d, epochs=3, select="best_val")[0] for d in runs]
    a, b = (json.loads((d / "results.json").read_text()) for d in runs)
    assert _metrics(a) == _metrics(b) and len(a["epochs"]) == 3
    for name in ("model.eqx", "last_model.eqx", "opt_state.eqx"):
        assert (runs[0] / name).read_bytes() == (runs[1] / name).read_bytes(), name
    leaves = [jax.tree.leaves(eqx.filter(m, eqx.is_array)) for m in models]
    assert all(np.array_equal(x, y) for x, y in zip(*leaves, strict=True))


def test_finished_and_unfinished_runs_are_not_overwritten(tmp_path):
    _fit(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(RunFolderError, match=r"finished run \(2 epochs\).*resume=True "
                                             r"\(--resume\).*overwrite=True \(--overwrite\)"):
        _fit(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    # an unfinished run (as a crash leaves it) is refused just the same
    m = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**m, "finished": False, "epoch": 1,
                                                        "history": m["history"][:1]}))
    with pytest.raises(RunFolderError, match=r"unfinished run \(1 of 2 epochs done\)"):
        _fit(tmp_path)
    # a folder of an older version (no manifest) too
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(RunFolderError, match="without a readable manifest.json"):
        _fit(tmp_path)
    # overwrite starts afresh; other files in the folder stay
    (tmp_path / "notes.txt").write_text("mine")
    _, res = _fit(tmp_path, epochs=1, overwrite=True)
    assert len(res["epochs"]) == 1 and (tmp_path / "notes.txt").read_text() == "mine"
    assert json.loads((tmp_path / "manifest.json").read_text())["fit"]["epochs"] == 1
    with pytest.raises(ValueError, match="exclude each other"):
        _fit(tmp_path, resume=True, overwrite=True)
    with pytest.raises(ValueError, match="extend=True.*needs `resume=True`"):
        _fit(tmp_path, extend=True)


def test_a_run_killed_in_its_first_epoch_can_resume_or_start_again(tmp_path):
    ref, _ = _fit(tmp_path / "ref")
    run = tmp_path / "run"
    _fit(run)
    m = json.loads((run / "manifest.json").read_text())
    for p in run.iterdir():  # as a kill in the first epoch leaves the folder
        p.unlink()
    (run / "manifest.json").write_text(json.dumps({**m, "epoch": 0, "finished": False,
                                                   "history": [], "files": {}}))
    for kw in ({"resume": True}, {}):  # nothing to lose: no --overwrite needed
        model, res = _fit(run, **kw)
        assert [r["epoch"] for r in res["epochs"]] == [1, 2]
        for x, y in zip(jax.tree.leaves(ref), jax.tree.leaves(model), strict=True):
            assert np.array_equal(x, y)
        m = json.loads((run / "manifest.json").read_text())
        for p in run.iterdir():
            if p.name != "manifest.json":
                p.unlink()
        (run / "manifest.json").write_text(json.dumps({**m, "epoch": 0, "finished": False,
                                                       "history": [], "files": {}}))


def test_resume_refuses_other_settings_and_names_them(tmp_path):
    _fit(tmp_path, config={"lr": 0.01, "hidden": 16, "progress": True, "out": "a"})
    with pytest.raises(RunFolderError, match=r"hidden: saved 16, now 32; lr: saved 0.01, now "
                                             r"0.02\)"):
        _fit(tmp_path, config={"lr": 0.02, "hidden": 32}, resume=True)
    with pytest.raises(RunFolderError, match=r"batch_size: saved 32, now 64"):
        _fit(tmp_path, config={"lr": 0.01, "hidden": 16}, resume=True, batch_size=64)
    with pytest.raises(RunFolderError, match=r"key: saved \[0, 1\], now \[0, 2\]"):
        _fit(tmp_path, config={"lr": 0.01, "hidden": 16}, resume=True,
             key=jax.random.PRNGKey(2))
    with pytest.raises(RunFolderError, match=r"epochs: saved 2, now 3\).*extend=True "
                                             r"\(--extend\)"):
        _fit(tmp_path, epochs=3, config={"lr": 0.01, "hidden": 16}, resume=True)
    # the ignored keys may differ (or be missing); the same settings train nothing more
    _, res = _fit(tmp_path, config={"lr": 0.01, "hidden": 16, "progress": False, "resume": True},
                  resume=True)
    assert len(res["epochs"]) == 2
    # extend: more epochs, recorded in the manifest; fewer are refused
    _, res = _fit(tmp_path, epochs=3, config={"lr": 0.01, "hidden": 16, "epochs": 3},
                  resume=True, extend=True)
    assert [r["epoch"] for r in res["epochs"]] == [1, 2, 3]
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["extended"] == [{"epoch": 2, "epochs": 2}] and m["fit"]["epochs"] == 3
    with pytest.raises(RunFolderError, match="plans 3 epochs"):
        _fit(tmp_path, epochs=2, config={"lr": 0.01, "hidden": 16}, resume=True, extend=True)


def test_resume_of_nothing_is_an_error(tmp_path):
    with pytest.raises(RunFolderError,
                       match=r"folder does not exist.*without resume=True \(--resume\)"):
        _fit(tmp_path / "missing", resume=True)
    assert not (tmp_path / "missing").exists()
    with pytest.raises(RunFolderError, match="holds no manifest.json"):
        _fit(tmp_path, resume=True)
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(RunFolderError, match="older jaxsnn_eqx.*--overwrite"):
        _fit(tmp_path, resume=True)


def test_broken_checkpoints_are_clear_errors(tmp_path):
    run = tmp_path / "run"
    _fit(run)
    path = run / "last_model.eqx"
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # cut in half
    with pytest.raises(RunFolderError, match=rf"{path}.*has {len(good) // 2} bytes.*--overwrite"):
        _fit(run, resume=True)
    # a model.eqx of another network size put in place
    _fit(tmp_path / "wide", model=_model(32))
    path.write_bytes(good)
    (run / "model.eqx").write_bytes((tmp_path / "wide" / "model.eqx").read_bytes())
    with pytest.raises(RunFolderError, match=r"model.eqx has \d+ bytes where manifest.json"):
        _fit(run, resume=True)
    (run / "model.eqx").write_bytes(good)
    # resuming with another network (same config): the file does not fit the model
    with pytest.raises(RunFolderError, match=r"last_model.eqx does not fit the given model.*"
                                             r"changed shape"):
        _fit(run, resume=True, model=_model(32))
    with pytest.raises(ValueError, match=r"load_model: .*model.eqx does not fit `like`"):
        load_model(run, _model(32))
    (run / "manifest.json").write_text('{"format": 1, "epo')
    with pytest.raises(RunFolderError, match="not a readable run manifest"):
        _fit(run, resume=True)


# ----------------------------------------------------------------------------- non-finite


def test_nonfinite_gradient_names_the_leaf(tmp_path):
    def loss(m, x, y):  # the loss stays finite; the gradient of layers[1].bias alone is NaN
        return _loss(m, x, y) + jnp.sum(jnp.sqrt(m.layers[1].bias * 0.0))  # d/du sqrt(0) = inf

    train, val, test = _problem()
    with pytest.raises(FloatingPointError) as err:
        fit(_model(), loss, _predict, train, val, test, optimizer=optax.adam(1e-3), epochs=1,
            batch_size=32, key=jax.random.PRNGKey(0), out=tmp_path, progress=False)
    msg = str(err.value)
    assert ("epoch 1, step 0 (steps 0..7): the gradient `layers[1].bias`, the parameter "
            "`layers[1].bias`. " in msg)
    assert f"{tmp_path} still holds the checkpoint of epoch 0" in msg


class _Counted(eqx.Module):
    mlp: eqx.nn.MLP
    steps: jax.Array  # an int: carried along, not trained

    def __call__(self, x):
        return self.mlp(x)


def test_nonfinite_parameter_after_post_update_names_the_leaf():
    train, _, _ = _problem()  # 8 steps per epoch

    def post_update(m):  # the 11th step (epoch 2, step 2) makes mlp.layers[0].bias NaN
        m = eqx.tree_at(lambda m: m.steps, m, m.steps + 1)
        bad = jnp.where(m.steps == 11, jnp.nan, 0.0)
        return eqx.tree_at(lambda m: m.mlp.layers[0].bias, m, m.mlp.layers[0].bias + bad)

    model = _Counted(_model(), jnp.zeros((), jnp.int32))
    with pytest.raises(FloatingPointError) as err:
        fit(model, _loss, _predict, train, optimizer=optax.adam(1e-3), epochs=3,
            batch_size=32, key=jax.random.PRNGKey(0), progress=False, post_update=post_update)
    msg = str(err.value)
    assert "epoch 2, step 2 (steps 0..7): the parameter `mlp.layers[0].bias`. " in msg
    assert "still holds" not in msg  # no out folder
    # check_finite=False: only the loss is checked (it turns NaN one step later)
    with pytest.raises(FloatingPointError, match=r"epoch 2, step 3 \(steps 0..7\): the loss\."):
        fit(model, _loss, _predict, train, optimizer=optax.adam(1e-3), epochs=3,
            batch_size=32, key=jax.random.PRNGKey(0), progress=False, post_update=post_update,
            check_finite=False)
