import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxsnn_eqx import data
from jaxsnn_eqx.train import evaluate, fit, load_model, load_results, make_optimizer


def _problem(n=600):
    d = data.yinyang_splits(0, n_train=n, n_val=200, n_test=200)
    feat = lambda x: jnp.concatenate([x, 1 - x], -1)  # noqa: E731
    return tuple((feat(d[k][0]), d[k][1]) for k in ("train", "val", "test"))


def _loss(m, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(jax.vmap(m)(x), y).mean()


def _predict(m, x):
    return jnp.argmax(jax.vmap(m)(x), -1)


def _model():
    return eqx.nn.MLP(4, 3, 32, 1, key=jax.random.PRNGKey(0))


def test_fit_learns_and_writes_results(tmp_path):
    train, val, test = _problem()
    opt = make_optimizer(1e-2, 15, 600 // 32)
    model, res = fit(_model(), _loss, _predict, train, val, test, optimizer=opt, epochs=15,
                     batch_size=32, key=jax.random.PRNGKey(1), out=tmp_path,
                     config={"note": "x"}, progress=False)
    assert res["test_accuracy"] > 0.6  # chance is 1/3
    assert res["epochs"][-1]["train_loss"] < res["epochs"][0]["train_loss"]
    saved = load_results(tmp_path)
    assert saved["config"] == {"note": "x"}
    assert len(saved["epochs"]) == 15
    assert {"train_loss", "seconds", "val_accuracy", "epoch"} <= set(saved["epochs"][0])
    assert 0.0 <= saved["test_accuracy"] <= 1.0
    loaded = load_model(tmp_path, _model())
    assert evaluate(loaded, _predict, test) == pytest.approx(res["test_accuracy"])
    json.dumps(saved)


def test_evaluate_compiles_once_per_shape():
    """A second `evaluate` with the same static model, predictor, shapes and batch size reuses
    the compiled program (the predictor is not traced again); another batch size compiles."""
    _, _, (x, y) = _problem(64)
    traces = []

    def predict(m, x):
        traces.append(x.shape)  # runs only while tracing
        return _predict(m, x)

    model = _model()
    first = evaluate(model, predict, (x, y), batch_size=100)
    n = len(traces)
    assert n >= 1
    # other weights and other samples of the same shapes and dtypes: no new trace
    other = jax.tree.map(lambda w: 0.5 * w if eqx.is_inexact_array(w) else w, model)
    again = evaluate(other, predict, (x[::-1], y[::-1]), batch_size=100)
    assert len(traces) == n
    assert again == pytest.approx(evaluate(other, _predict, (x[::-1], y[::-1]), batch_size=100))
    assert evaluate(model, predict, (x, y), batch_size=100) == first
    assert len(traces) == n
    evaluate(model, predict, (x, y), batch_size=50)  # another batch shape: compiled anew
    assert len(traces) > n


def test_resume_continues_exactly(tmp_path):
    train, val, test = _problem(256)
    opt = make_optimizer(1e-2, 4, 256 // 32)
    kw = dict(optimizer=opt, batch_size=32, key=jax.random.PRNGKey(1), progress=False)
    straight, _ = fit(_model(), _loss, _predict, train, val, test, epochs=4, **kw)
    # the same optimizer (schedule over 4 epochs) both times, so extending 2 -> 4 is exact
    fit(_model(), _loss, _predict, train, val, test, epochs=2, out=tmp_path, **kw)
    resumed, res = fit(_model(), _loss, _predict, train, val, test, epochs=4, out=tmp_path,
                       resume=True, extend=True, **kw)
    assert [e["epoch"] for e in res["epochs"]] == [1, 2, 3, 4]
    leaves = lambda m: jax.tree.leaves(eqx.filter(m, eqx.is_array))  # noqa: E731
    for a, b in zip(leaves(straight), leaves(resumed), strict=True):
        assert np.array_equal(a, b)


def test_bad_inputs(tmp_path):
    train, val, test = _problem(64)
    opt = optax.adam(1e-3)
    kw = dict(optimizer=opt, key=jax.random.PRNGKey(0), progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        fit(_model(), _loss, _predict, train, epochs=1, batch_size=1000, **kw)
    with pytest.raises(ValueError, match="empty"):
        fit(_model(), _loss, _predict, (train[0][:0], train[1][:0]), epochs=1, batch_size=1, **kw)
    with pytest.raises(ValueError, match="leading axis"):
        fit(_model(), _loss, _predict, (train[0][:10], train[1]), epochs=1, batch_size=4, **kw)
    with pytest.raises(ValueError, match="resume"):
        fit(_model(), _loss, _predict, train, epochs=1, batch_size=4, resume=True, **kw)
    with pytest.raises(ValueError, match="lr"):
        make_optimizer(-1.0, 1, 1)


def test_select_best_val_returns_and_saves_the_best_epoch(tmp_path):
    train, val, test = _problem(256)
    opt = make_optimizer(5e-2, 6, 256 // 32, schedule="constant")
    kw = dict(optimizer=opt, batch_size=32, key=jax.random.PRNGKey(1), progress=False)
    model, res = fit(_model(), _loss, _predict, train, val, test, epochs=6, out=tmp_path,
                     select="best_val", **kw)
    accs = [e["val_accuracy"] for e in res["epochs"]]
    best = int(np.argmax(accs))  # first maximum
    assert res["selected_epoch"] == best + 1
    assert res["val_accuracy"] == accs[best]
    assert evaluate(model, _predict, val) == pytest.approx(accs[best])
    saved = load_model(tmp_path, _model())
    assert evaluate(saved, _predict, test) == pytest.approx(res["test_accuracy"])
    # resuming continues from the last epoch, not from the selected one
    _, res2 = fit(_model(), _loss, _predict, train, val, test, epochs=7, out=tmp_path,
                  select="best_val", resume=True, extend=True, **kw)
    assert len(res2["epochs"]) == 7
    assert res2["val_accuracy"] == max(e["val_accuracy"] for e in res2["epochs"])
    with pytest.raises(ValueError, match="select"):
        fit(_model(), _loss, _predict, train, epochs=1, select="best", **kw)
    with pytest.raises(ValueError, match="val"):
        fit(_model(), _loss, _predict, train, epochs=1, select="best_val", **kw)


def test_task_flags_have_help_and_defaults_and_are_checked(capsys):
    from jaxsnn_eqx.tasks import yinyang_discrete
    from jaxsnn_eqx.tasks.common import base_parser

    p = base_parser("task", epochs=3)
    flags = [a for a in p._actions if a.option_strings and a.dest != "help"]
    assert {"overwrite", "extend", "resume", "progress", "n_val"} <= {a.dest for a in flags}
    text = " ".join(p.format_help().split())
    for a in flags:
        assert a.help, a.option_strings
    assert text.count("(default: ") == len(flags)
    assert "--progress, --no-progress" in text and "--no-progress (default" not in text
    assert p.parse_args([]).progress and not p.parse_args(["--no-progress"]).progress
    for argv, expected in (
        (["--n-train", "16", "--batch-size", "32"],
         "--n-train 16 is smaller than --batch-size 32"),
        (["--resume", "--overwrite"], "--resume and --overwrite exclude each other"),
        (["--extend"], "--extend lengthens a saved run: use it with --resume"),
    ):
        with pytest.raises(SystemExit) as err:
            yinyang_discrete.main(argv)
        assert err.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert expected in lines[-1] and lines[-1].count("error:") == 1


def test_a_failed_model_check_is_one_line(capfd):
    """A spike buffer too small (``max_spikes=2`` for strongly driven neurons) inside `fit`:
    a `ModelCheckError` whose message is the layer's, one line, and no logged callback
    traceback."""
    from jaxsnn_eqx import event
    from jaxsnn_eqx.containers import Sequential
    from jaxsnn_eqx.train import ModelCheckError

    k = jax.random.PRNGKey(0)
    p = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0)
    net = Sequential([event.LIF(5, 50, params=p, t_max=2e-2, max_spikes=2, key=k,
                                init_mean=10.0, init_std=1.0)])
    x, y = data.yinyang(k, 32)
    s = data.encode_latency(x, t_early=0.0, t_late=1e-2, bias_time=0.0)

    def loss(m, x, y):
        t = jax.vmap(lambda s: m(s).time)(x)
        return jnp.mean(jnp.where(jnp.isfinite(t), t, 0.0))

    with pytest.raises(ModelCheckError) as info:
        fit(net, loss, lambda m, x: jnp.zeros(x.time.shape[0], jnp.int32), (s, y),
            optimizer=optax.adam(1e-3), epochs=1, batch_size=16, key=k, progress=False)
    message = str(info.value)
    assert message.startswith("LIF(5->50): a neuron emitted more than 2 spikes")
    assert "\n" not in message and "increase max_spikes" in message
    assert "pure_callback" not in capfd.readouterr().err


def test_fit_argument_errors_are_user_errors_of_one_line(capsys):
    """Every argument error of `fit` is a `FitArgumentError` (a ValueError) that the console
    script and the tasks print as one line with exit status 2."""
    from jaxsnn_eqx.tasks.entry import guarded
    from jaxsnn_eqx.train import FitArgumentError

    train, _, _ = _problem(40)
    opt = make_optimizer(1e-2, 1, 1)
    kw = dict(optimizer=opt, key=jax.random.PRNGKey(0), progress=False)
    bad = [dict(epochs=1, batch_size=64), dict(epochs=-1, batch_size=8),
           dict(epochs=1, batch_size=8, select="best"), dict(epochs=1, batch_size=8, devices=99),
           dict(epochs=1, batch_size=8, resume=True)]
    for extra in bad:
        with pytest.raises(FitArgumentError):
            fit(_model(), _loss, _predict, train, **kw, **extra)
        assert guarded(fit, _model(), _loss, _predict, train, **kw, **extra) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("jaxsnn-eqx: error: fit:"), err
    with pytest.raises(FitArgumentError):
        make_optimizer(0.0, 1, 1)
