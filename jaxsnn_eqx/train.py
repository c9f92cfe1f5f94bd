"""The one training loop: optax, a whole epoch per compiled call, evaluation, results, checkpoints.

`fit` knows nothing about neurons: it takes a model (any Equinox module), a batched loss and a
batched predictor, and ``(X, y)`` data whose ``X`` is any pytree with a leading sample axis (an
array, or a batched `Spikes`). Every epoch is one ``lax.scan`` over minibatches compiled ahead of
time, so the printed seconds per epoch are pure run time (compilation is reported separately) and
are measured after the device finished.

Output folder layout (``out``): ``results.json`` (config, per-epoch metrics, final test accuracy),
``model.eqx`` (the returned model, `eqx.tree_serialise_leaves`), ``last_model.eqx`` and
``opt_state.eqx`` (the state of the last epoch, for ``resume``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import optax
from jaxtyping import Array, Int, PRNGKeyArray, Scalar

__all__ = ["fit", "evaluate", "make_optimizer", "load_results", "load_model", "write_results"]

LossFn = Callable[[Any, Any, Int[Array, " batch"]], Scalar]
PredictFn = Callable[[Any, Any], Int[Array, " batch"]]


def make_optimizer(
    lr: float,
    epochs: int,
    steps_per_epoch: int,
    *,
    schedule: str = "cosine",
    final_lr_fraction: float = 0.05,
    weight_decay: float = 0.0,
    clip_norm: float | None = None,
) -> optax.GradientTransformation:
    """Adam(W) with a learning-rate schedule over ``epochs * steps_per_epoch`` steps.

    ``schedule``: ``"cosine"`` (decay to ``final_lr_fraction * lr``), ``"exponential"`` (same end
    point, geometric) or ``"constant"``.
    """
    if lr <= 0:
        raise ValueError(f"make_optimizer: `lr` must be positive, got {lr}.")
    total = max(1, epochs * steps_per_epoch)
    if schedule == "cosine":
        sched = optax.cosine_decay_schedule(lr, total, alpha=final_lr_fraction)
    elif schedule == "exponential":
        sched = optax.exponential_decay(lr, total, final_lr_fraction)
    elif schedule == "constant":
        sched = optax.constant_schedule(lr)
    else:
        raise ValueError(f"make_optimizer: unknown `schedule` {schedule!r}.")
    opt = optax.adamw(sched, weight_decay=weight_decay) if weight_decay else optax.adam(sched)
    if clip_norm is not None:
        opt = optax.chain(optax.clip_by_global_norm(clip_norm), opt)
    return opt


def _n_samples(data: tuple[Any, Array], name: str) -> int:
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise TypeError(f"fit: `{name}` must be a pair (X, y), got {type(data).__name__}.")
    x, y = data
    y = jnp.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"fit: labels of `{name}` must have shape (n,), got {y.shape}.")
    n = y.shape[0]
    if n == 0:
        raise ValueError(f"fit: `{name}` is empty.")
    for leaf in jtu.tree_leaves(x):
        if jnp.shape(leaf)[:1] != (n,):
            raise ValueError(
                f"fit: every leaf of X in `{name}` needs a leading axis of {n} samples (the number "
                f"of labels), got a leaf of shape {jnp.shape(leaf)}."
            )
    return n


def evaluate(
    model: Any, predict_fn: PredictFn, data: tuple[Any, Array], batch_size: int = 1000,
    *, key: PRNGKeyArray | None = None,
) -> float:
    """Accuracy of ``predict_fn`` on ``data = (X, y)``, in batches of ``batch_size``; with
    ``key``, ``predict_fn(model, X, key)`` gets a key per batch (noisy forward passes)."""
    return _make_evaluator(model, predict_fn, data, batch_size, key)(model)


def _make_evaluator(model, predict_fn, data, batch_size, key=None) -> Callable[[Any], float]:
    x, y = data
    n = _n_samples(data, "data")
    batch_size = min(batch_size, n)
    nb = -(-n // batch_size)
    pad = nb * batch_size - n
    # Pad by repeating the first samples, then mask them out of the count.
    idx = jnp.concatenate([jnp.arange(n), jnp.zeros(pad, jnp.int32)]).reshape(nb, batch_size)
    weight = jnp.concatenate([jnp.ones(n), jnp.zeros(pad)]).reshape(nb, batch_size)
    dyn0, static = eqx.partition(model, eqx.is_array)
    keys = None if key is None else jax.random.split(key, nb)

    def correct(dyn, x, y):
        m = eqx.combine(dyn, static)

        def body(total, inp):
            bidx, w, k = inp
            xb = jtu.tree_map(lambda a: a[bidx], x)
            pred = predict_fn(m, xb) if k is None else predict_fn(m, xb, k)
            return total + jnp.sum(w * (pred == y[bidx])), None

        total, _ = jax.lax.scan(body, jnp.zeros(()), (idx, weight, keys))
        return total

    compiled = jax.jit(correct).lower(dyn0, x, y).compile()

    def run(model) -> float:
        dyn, _ = eqx.partition(model, eqx.is_array)
        return float(compiled(dyn, x, y)) / n

    return run


def _epoch_fn(static, loss_fn, optimizer, batch_size, post_update, with_key=False):
    """Build ``(dyn, opt_state, X, y, perm, key) -> (dyn, opt_state, losses)``: one scanned
    epoch (``key`` split into one key per step when ``with_key``)."""

    def epoch(dyn, opt_state, x, y, perm, key):
        nb = perm.shape[0] // batch_size
        idx = perm[: nb * batch_size].reshape(nb, batch_size)
        keys = jax.random.split(key, nb) if with_key else None

        def body(carry, step):
            bidx, k = step
            dyn, opt_state = carry
            model = eqx.combine(dyn, static)
            xb = jtu.tree_map(lambda a: a[bidx], x)
            args = (model, xb, y[bidx]) + ((k,) if with_key else ())
            loss, grads = eqx.filter_value_and_grad(loss_fn)(*args)
            params = eqx.filter(model, eqx.is_inexact_array)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            model = eqx.apply_updates(model, updates)
            if post_update is not None:
                model = post_update(model)
            dyn, _ = eqx.partition(model, eqx.is_array)
            return (dyn, opt_state), loss

        (dyn, opt_state), losses = jax.lax.scan(body, (dyn, opt_state), (idx, keys))
        return dyn, opt_state, losses

    return epoch


def _json_default(o):
    if isinstance(o, np.generic | jax.Array):
        return np.asarray(o).tolist()
    if isinstance(o, Path):
        return str(o)
    return repr(o)


def fit(
    model: Any,
    loss_fn: LossFn,
    predict_fn: PredictFn,
    train: tuple[Any, Array],
    val: tuple[Any, Array] | None = None,
    test: tuple[Any, Array] | None = None,
    *,
    optimizer: optax.GradientTransformation,
    epochs: int,
    batch_size: int,
    key: PRNGKeyArray,
    out: str | Path | None = None,
    config: dict | None = None,
    resume: bool = False,
    progress: bool = True,
    post_update: Callable[[Any], Any] | None = None,
    eval_batch_size: int = 1000,
    select: str = "last",
    with_key: bool = False,
) -> tuple[Any, dict]:
    """Train ``model`` with ``optimizer`` and return ``(model, results)``.

    Args:
        model: any Equinox module; its inexact arrays are trained.
        loss_fn: ``loss_fn(model, X_batch, y_batch) -> scalar`` (batched: vmap inside).
        predict_fn: ``predict_fn(model, X_batch) -> labels (batch,)``.
        train, val, test: ``(X, y)`` pairs; ``X`` a pytree with a leading sample axis.
        optimizer: an optax transformation (see `make_optimizer`).
        epochs: number of passes over ``train``; each drops the last incomplete batch.
        batch_size: samples per step.
        key: shuffling key; epoch ``e`` shuffles with ``fold_in(key, e)`` (so resuming is exact).
        out: folder for ``results.json``, ``model.eqx``, ``opt_state.eqx``, written every epoch.
        config: JSON-serialisable description of the run, saved in ``results.json``.
        resume: continue from the checkpoint in ``out`` (same model structure and optimizer).
        progress: print one line per epoch (and show a progress bar on a terminal).
        post_update: applied to the model after every step (e.g. weight clipping).
        select: which model is returned, tested and saved as ``model.eqx``: ``"last"``, or
            ``"best_val"`` (the epoch with the highest validation accuracy, earliest on ties;
            needs ``val``). Training itself always continues from the last epoch.
        with_key: call ``loss_fn(model, X, y, key)`` and ``predict_fn(model, X, key)`` with a
            fresh PRNG key per step and per evaluation batch (for noisy forward passes, e.g. an
            emulated chip). Step keys derive from ``key`` and the epoch (resuming is exact);
            evaluation uses the same keys every epoch, so accuracies stay comparable.

    Returns:
        The trained model and the results dict: ``config``, ``epochs`` (per epoch:
        ``epoch``, ``train_loss``, ``val_accuracy``, ``seconds``), ``compile_seconds``,
        ``train_seconds``, ``test_accuracy``, ``val_accuracy`` (of the returned model) and
        ``selected_epoch``.
    """
    if select not in ("last", "best_val"):
        raise ValueError(f"fit: `select` must be 'last' or 'best_val', got {select!r}.")
    if select == "best_val" and val is None:
        raise ValueError("fit: `select='best_val'` needs a validation set `val`.")
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: `epochs` must be a non-negative integer, got {epochs!r}.")
    n_train = _n_samples(train, "train")
    if not isinstance(batch_size, int) or not 0 < batch_size <= n_train:
        raise ValueError(
            f"fit: `batch_size` must be an integer in [1, {n_train}] (the training set size), "
            f"got {batch_size!r}."
        )
    if val is not None:
        _n_samples(val, "val")
    if test is not None:
        _n_samples(test, "test")
    out = Path(out) if out is not None else None
    if resume and out is None:
        raise ValueError("fit: `resume=True` needs `out`, the folder of the run to resume.")

    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    results: dict = {"config": dict(config or {}), "epochs": []}
    if resume and (out / "results.json").exists():
        model = eqx.tree_deserialise_leaves(out / "last_model.eqx", model)
        opt_state = eqx.tree_deserialise_leaves(out / "opt_state.eqx", opt_state)
        old = json.loads((out / "results.json").read_text())
        results["epochs"] = old.get("epochs", [])
    start = len(results["epochs"])

    dyn, static = eqx.partition(model, eqx.is_array)
    best = _best_so_far(results["epochs"]) if select == "best_val" else None
    if best is not None and out is not None and (out / "model.eqx").exists():
        best = (best, eqx.tree_deserialise_leaves(out / "model.eqx", model))
    else:
        best = None
    x_train, y_train = train
    y_train = jnp.asarray(y_train)
    epoch = _epoch_fn(static, loss_fn, optimizer, batch_size, post_update, with_key)
    t0 = time.perf_counter()
    perm0 = jnp.arange(n_train)
    run_epoch = jax.jit(epoch, donate_argnums=()).lower(
        dyn, opt_state, x_train, y_train, perm0, key
    ).compile()
    k_val, k_test = (jax.random.split(jax.random.fold_in(key, 0x7FFFFFFF)) if with_key
                     else (None, None))
    eval_val = _make_evaluator(model, predict_fn, val, eval_batch_size, k_val) if val else None
    eval_test = (_make_evaluator(model, predict_fn, test, eval_batch_size, k_test) if test
                 else None)
    results["compile_seconds"] = time.perf_counter() - t0

    bar = None
    if progress and epochs > start:
        from tqdm.auto import tqdm

        # disable=None: a live bar on a terminal only; the per-epoch lines are printed always.
        bar = tqdm(
            total=epochs, initial=start, desc="train", unit="epoch", dynamic_ncols=True,
            disable=None,
        )
        bar.write(f"compiled in {results['compile_seconds']:.1f} s")
    for e in range(start, epochs):
        k_epoch = jax.random.fold_in(key, e)
        perm = jax.random.permutation(k_epoch, n_train)
        t = time.perf_counter()
        dyn, opt_state, losses = run_epoch(dyn, opt_state, x_train, y_train, perm,
                                           jax.random.fold_in(k_epoch, 1))
        losses = np.asarray(jax.block_until_ready(losses))
        seconds = time.perf_counter() - t
        model = eqx.combine(dyn, static)
        if not np.all(np.isfinite(losses)):
            raise FloatingPointError(
                f"fit: non-finite training loss in epoch {e + 1} (first bad step "
                f"{int(np.argmax(~np.isfinite(losses)))}); lower the learning rate?"
            )
        row = {"epoch": e + 1, "train_loss": float(losses.mean()), "seconds": seconds}
        if eval_val is not None:
            row["val_accuracy"] = eval_val(model)
        results["epochs"].append(row)
        if select == "best_val" and (best is None or row["val_accuracy"] > best[0]["val_accuracy"]):
            best = (row, model)
        if bar is not None:
            bar.update(1)
            post = {"loss": f"{row['train_loss']:.4f}"}
            if "val_accuracy" in row:
                post["val_acc"] = f"{row['val_accuracy']:.4f}"
            bar.set_postfix(post)
            bar.write(
                f"epoch {e + 1:4d}/{epochs}  loss {row['train_loss']:.4f}"
                + (f"  val_acc {row['val_accuracy']:.4f}" if "val_accuracy" in row else "")
                + f"  {seconds:.2f} s"
            )
        if out is not None:
            _save(out, model, best[1] if best is not None else model, opt_state, results)
    if bar is not None:
        bar.close()

    last = model
    results["train_seconds"] = float(sum(r["seconds"] for r in results["epochs"]))
    if best is not None:
        row, model = best
        results["selected_epoch"] = row["epoch"]
    elif results["epochs"]:
        row = results["epochs"][-1]
        results["selected_epoch"] = row["epoch"]
    else:
        row = {}
    if "val_accuracy" in row:
        results["val_accuracy"] = row["val_accuracy"]
    if eval_test is not None:
        results["test_accuracy"] = eval_test(model)
    if out is not None:
        _save(out, last, model, opt_state, results)
    return model, results


def _best_so_far(rows: list[dict]) -> dict | None:
    best = None
    for row in rows:
        if "val_accuracy" in row and (best is None or row["val_accuracy"] > best["val_accuracy"]):
            best = row
    return best


def _save(out: Path, last, selected, opt_state, results: dict) -> None:
    """``model.eqx``: the selected model; ``last_model.eqx`` + ``opt_state.eqx``: for resuming."""
    out.mkdir(parents=True, exist_ok=True)
    eqx.tree_serialise_leaves(out / "model.eqx", selected)
    eqx.tree_serialise_leaves(out / "last_model.eqx", last)
    eqx.tree_serialise_leaves(out / "opt_state.eqx", opt_state)
    write_results(out, results)


def write_results(out: str | Path, results: dict) -> None:
    """Write ``results`` to ``out/results.json`` (atomically: a reader never sees half a file)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=2, default=_json_default))
    tmp.replace(out / "results.json")


def load_results(run_dir: str | Path) -> dict:
    """Read ``results.json`` of a run folder."""
    path = Path(run_dir) / "results.json"
    if not path.exists():
        raise FileNotFoundError(f"no results.json in {run_dir!s}")
    return json.loads(path.read_text())


def load_model(run_dir: str | Path, like: Any) -> Any:
    """Load ``model.eqx`` of a run folder into a model of the same structure as ``like``."""
    return eqx.tree_deserialise_leaves(Path(run_dir) / "model.eqx", like)
