"""The compiled programs of training: one epoch as a ``lax.scan`` of optimizer steps, and the
accuracy of a predictor on a data set (`evaluate`), both compiled ahead of time.

Data are pairs ``(X, y)``: ``X`` any pytree whose leaves share a leading sample axis (an array,
or a batched `Spikes`), ``y`` the integer labels, shape ``(n,)``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import optax
from jax.sharding import Mesh
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray, Scalar

from .arguments import FitArgumentError
from .keys import indexed_key, named_keys
from .sharding import batch_splitter, data_mesh, place, replicated

__all__ = ["LossFn", "PredictFn", "evaluate", "make_evaluator", "n_samples", "CompiledEpoch",
           "EVALUATOR_CACHE_SIZE", "FIT_KEYS", "fit_keys", "ModelCheckError", "check_message",
           "surface_checks"]

LossFn = Callable[[Any, Any, Int[Array, " batch"]], Scalar]
PredictFn = Callable[[Any, Any], Int[Array, " batch"]]

#: How many compiled evaluators `make_evaluator` keeps (least recently used dropped first).
EVALUATOR_CACHE_SIZE = 16
_evaluators: OrderedDict[Hashable, Callable] = OrderedDict()


def n_samples(data: tuple[Any, Array], name: str) -> int:
    """The number of samples of ``data = (X, y)``, after checking that it is a pair, that ``y``
    has shape ``(n,)`` with ``n > 0`` and that every leaf of ``X`` has ``n`` rows; ``name``
    names the argument in the errors.

    Raises:
        TypeError: not a pair.
        ValueError: labels not one-dimensional, no samples, or a leaf of ``X`` of another
            length.
    """
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise TypeError(f"fit: `{name}` must be a pair (X, y), got {type(data).__name__}.")
    x, y = data
    y = jnp.asarray(y)
    if y.ndim != 1:
        raise FitArgumentError(f"fit: labels of `{name}` must have shape (n,), got {y.shape}.")
    n = y.shape[0]
    if n == 0:
        raise FitArgumentError(f"fit: `{name}` is empty.")
    for leaf in jtu.tree_leaves(x):
        if jnp.shape(leaf)[:1] != (n,):
            raise FitArgumentError(
                f"fit: every leaf of X in `{name}` needs a leading axis of {n} samples (the number "
                f"of labels), got a leaf of shape {jnp.shape(leaf)}."
            )
    return n


# ----------------------------------------------------------------------------- model checks


class ModelCheckError(RuntimeError):
    """A check inside the model (`equinox.error_if`, e.g. a spike buffer ``max_spikes`` too
    small for the spikes that occur) failed while `fit` trained or evaluated. The message is
    the check's own, one line, without JAX's and Equinox's runtime boilerplate (set
    ``JAXSNN_EQX_TRACEBACK=1`` in the console script for the whole chain)."""


_CHECK = re.compile(r"EquinoxRuntimeError: (.+?)(?:\n\s*\n|\Z)", re.DOTALL)


def check_message(err: BaseException) -> str | None:
    """The message of the failed `equinox.error_if` check that ``err`` carries (one line), or
    None when ``err`` is not such a failure."""
    text = str(err)
    match = _CHECK.search(text)
    if match is None and type(err).__name__.endswith("EquinoxRuntimeError"):
        match = re.match(r"(.+?)(?:\n\s*\n|\Z)", text, re.DOTALL)
    if match is None:
        return None
    return " ".join(match.group(1).split())


class _DropCheckLog(logging.Filter):
    """Drops JAX's log record of a failed host callback that is a failed Equinox check (its
    message reaches the caller as a `ModelCheckError`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return exc is None or check_message(exc) is None


def _forget_failed_effects() -> None:
    """After a failed check: wait for the computations with side effects and drop their
    runtime tokens, which hold the failure (else JAX raises it again at interpreter exit, a
    traceback after the one-line error). Uses JAX internals where they are; else nothing."""
    try:
        jax.effects_barrier()
    except Exception:  # noqa: BLE001 - the failure already reported
        try:
            from jax._src import dispatch

            dispatch.runtime_tokens.clear()
        except (ImportError, AttributeError):
            pass


@contextlib.contextmanager
def surface_checks():
    """Run compiled code so that a failed `equinox.error_if` check raises a `ModelCheckError`
    with the check's message alone (and JAX does not log the callback's traceback)."""
    log = logging.getLogger("jax._src.callback")
    drop = _DropCheckLog()
    log.addFilter(drop)
    try:
        yield
    except ModelCheckError:
        raise
    except Exception as err:
        message = check_message(err)
        if message is None:
            raise
        _forget_failed_effects()
        new = ModelCheckError(message)
        new.original = err  # the whole chain, for debugging
        raise new from None
    finally:
        log.removeFilter(drop)


# ----------------------------------------------------------------------------- evaluation


def evaluate(
    model: Any, predict_fn: PredictFn, data: tuple[Any, Array], batch_size: int = 1000,
    *, key: PRNGKeyArray | None = None, devices: int | None = 1,
) -> float:
    """Accuracy (a fraction in [0, 1]) of ``predict_fn`` on ``data = (X, y)``, in batches of
    ``batch_size``; with ``key``, ``predict_fn(model, X, key)`` gets a key per batch (noisy
    forward passes). ``devices``: split each batch over that many devices as `fit` does
    (``None`` / 0: all; the batch is rounded up to a multiple of it, the padding does not
    count). The compiled program is reused by later calls with the same static model part,
    ``predict_fn``, shapes and dtypes, ``batch_size``, ``key`` and devices (see
    `make_evaluator`)."""
    mesh = data_mesh(devices, None, "evaluate")
    return make_evaluator(model, predict_fn, data, batch_size, key, mesh)(model)


def _leaf_signature(a: Any) -> Hashable:
    """What a compiled program depends on of one argument leaf: shape, dtype, weak type and
    placement of an array, the type and value of anything else."""
    if isinstance(a, jax.Array):
        return ("array", a.shape, a.dtype, a.weak_type, a.sharding)
    if isinstance(a, np.ndarray | np.generic):
        return ("numpy", a.shape, a.dtype)
    return (type(a), a.hex() if isinstance(a, float) else a)


def _signature(tree: Any) -> Hashable:
    leaves, treedef = jtu.tree_flatten(tree)
    return treedef, tuple(_leaf_signature(a) for a in leaves)


def _key_signature(key: PRNGKeyArray | None) -> Hashable:
    if key is None:
        return None
    key = jnp.asarray(key)
    raw = jax.random.key_data(key) if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) \
        else key
    return str(key.dtype), np.asarray(raw).tobytes()


def _cached(signature: Hashable, build: Callable[[], Callable]) -> Callable:
    """The compiled program for ``signature`` from the cache, or ``build()`` (and keep it).
    A signature that cannot be hashed or compared is built afresh every time."""
    try:
        hit = _evaluators.get(signature)
    except (TypeError, ValueError):  # an unhashable static leaf: no caching
        return build()
    if hit is not None:
        _evaluators.move_to_end(signature)
        return hit
    compiled = _evaluators[signature] = build()
    while len(_evaluators) > EVALUATOR_CACHE_SIZE:
        _evaluators.popitem(last=False)
    return compiled


def make_evaluator(model: Any, predict_fn: PredictFn, data: tuple[Any, Array],
                   batch_size: int, key: PRNGKeyArray | None = None,
                   mesh: Mesh | None = None) -> Callable[[Any], float]:
    """``model -> accuracy`` on ``data`` (see `evaluate`); for ``mesh``, each batch is split
    over its devices and everything else replicated.

    The program is compiled once per signature: the static part of ``model`` (everything but
    its arrays), ``predict_fn`` (by identity), the shapes, dtypes and placement of the model's
    arrays and of ``data``, ``batch_size``, ``key`` (its bits) and ``mesh``; the last
    `EVALUATOR_CACHE_SIZE` programs are kept. Returned callables take any model with the same
    static part and array shapes as ``model``."""
    x, y = data
    n = n_samples(data, "data")
    batch_size = min(batch_size, n)
    if mesh is not None:  # equal shares: round up, the padding is masked below
        batch_size = -(-batch_size // mesh.size) * mesh.size
    nb = -(-n // batch_size)
    pad = nb * batch_size - n
    # Pad by repeating the first samples, then mask them out of the count.
    idx = jnp.concatenate([jnp.arange(n), jnp.zeros(pad, jnp.int32)]).reshape(nb, batch_size)
    weight = jnp.concatenate([jnp.ones(n), jnp.zeros(pad)]).reshape(nb, batch_size)
    dyn0, static = eqx.partition(model, eqx.is_array)
    keys = None if key is None else jax.random.split(key, nb)
    if mesh is None:
        args = (x, y)
    else:
        dyn0, *args = place((dyn0, x, y, idx, weight, keys), replicated(mesh))
    signature = ("evaluate", _signature(static), predict_fn, _signature((dyn0, *args)),
                 n, batch_size, _key_signature(key), mesh)

    def build() -> Callable:
        correct = _correct_fn(static, predict_fn, mesh)
        if mesh is None:
            return jax.jit(lambda dyn, x, y: correct(dyn, x, y, idx, weight, keys)).lower(
                dyn0, *args).compile()
        rep = replicated(mesh)
        return jax.jit(correct, in_shardings=rep, out_shardings=rep).lower(
            dyn0, *args).compile()

    compiled = _cached(signature, build)

    def run(model) -> float:
        dyn, _ = eqx.partition(model, eqx.is_array)
        if mesh is not None:
            dyn = place(dyn, replicated(mesh))
        with surface_checks():
            return float(compiled(dyn, *args)) / n

    return run


def _correct_fn(static: Any, predict_fn: PredictFn, mesh: Mesh | None) -> Callable:
    """``(dyn, X, y, idx, weight, keys) -> `` the weighted count of correct predictions over
    the batches ``idx`` ``(batches, batch_size)`` (``weight`` 0 for padding)."""
    split = batch_splitter(mesh)

    def correct(dyn, x, y, idx, weight, keys):
        m = eqx.combine(dyn, static)

        def body(total, inp):
            bidx, w, k = inp
            xb = split(jtu.tree_map(lambda a: a[bidx], x))
            pred = predict_fn(m, xb) if k is None else predict_fn(m, xb, k)
            return total + jnp.sum(w * (pred == y[bidx])), None

        total, _ = jax.lax.scan(body, jnp.zeros(()), (idx, weight, keys))
        return total

    return correct


# ----------------------------------------------------------------------------- one epoch


def leaf_name(path) -> str:
    """``layers[0].weight`` for the path of a leaf (``<model>`` for the model itself)."""
    return jtu.keystr(path).lstrip(".") or "<model>"


def finite_flags(tree) -> tuple[list[str], Bool[Array, " leaves"]]:
    """Names of the inexact array leaves of ``tree`` and, per leaf, whether it is all finite."""
    leaves = [(leaf_name(p), x) for p, x in jtu.tree_flatten_with_path(tree)[0]
              if eqx.is_inexact_array(x)]
    flags = [jnp.all(jnp.isfinite(x)) for _, x in leaves]
    return [n for n, _ in leaves], (jnp.stack(flags) if flags else jnp.zeros((0,), bool))


def epoch_fn(static, loss_fn, optimizer, batch_size, post_update, with_key=False,
             check_finite=True, mesh: Mesh | None = None):
    """Build ``(dyn, opt_state, X, y, perm, key) -> (dyn, opt_state, losses, finite)``: one
    scanned epoch (``key`` split into one key per step when ``with_key``). ``finite`` is
    ``(steps, leaves)`` bool: per step, whether each gradient leaf and then each updated
    parameter leaf is finite; their names (``("gradient" | "parameter", path)``) fill the
    returned list when the epoch is traced. With ``mesh``, every minibatch (``X`` and ``y``)
    is split along its sample axis over the mesh's ``"batch"`` axis."""
    names: list[tuple[str, str]] = []
    split = batch_splitter(mesh)

    def epoch(dyn, opt_state, x, y, perm, key):
        nb = perm.shape[0] // batch_size
        idx = perm[: nb * batch_size].reshape(nb, batch_size)
        keys = jax.random.split(key, nb) if with_key else None

        def body(carry, step):
            bidx, k = step
            dyn, opt_state = carry
            model = eqx.combine(dyn, static)
            xb, yb = split((jtu.tree_map(lambda a: a[bidx], x), y[bidx]))
            args = (model, xb, yb) + ((k,) if with_key else ())
            loss, grads = eqx.filter_value_and_grad(loss_fn)(*args)
            params = eqx.filter(model, eqx.is_inexact_array)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            model = eqx.apply_updates(model, updates)
            if post_update is not None:
                model = post_update(model)
            dyn, _ = eqx.partition(model, eqx.is_array)
            if check_finite:
                g_names, g_ok = finite_flags(grads)
                p_names, p_ok = finite_flags(model)
                names[:] = ([("gradient", n) for n in g_names]
                            + [("parameter", n) for n in p_names])
                finite = jnp.concatenate([g_ok, p_ok])
            else:
                finite = jnp.zeros((0,), bool)
            return (dyn, opt_state), (loss, finite)

        (dyn, opt_state), (losses, finite) = jax.lax.scan(body, (dyn, opt_state), (idx, keys))
        return dyn, opt_state, losses, finite

    return epoch, names


def check_finite_epoch(losses: Float[np.ndarray, " steps"], finite: Bool[np.ndarray, "steps n"],
                       names: list[tuple[str, str]], epoch: int, out: Path | None) -> None:
    """Raise a ``FloatingPointError`` naming the first step of ``epoch`` (1-based) with a
    non-finite loss, gradient or parameter, and every such leaf at that step."""
    bad = np.concatenate([~np.isfinite(losses)[:, None], ~finite], axis=1)
    if not bad.any():
        return
    step = int(np.argmax(bad.any(axis=1)))
    what = (["the loss"] if bad[step, 0] else []) + [
        f"the {kind} `{name}`" for (kind, name), b in zip(names, bad[step, 1:], strict=True) if b
    ]
    if len(what) > 6:
        what = what[:6] + [f"{len(what) - 6} more"]
    saved = (f" {out} still holds the checkpoint of epoch {epoch - 1}." if out is not None
             else "")
    raise FloatingPointError(
        f"fit: non-finite values in epoch {epoch}, step {step} (steps 0..{len(losses) - 1}): "
        f"{', '.join(what)}. Lower the learning rate, clip the gradients "
        f"(`make_optimizer(..., clip_norm=...)`) or look for log(0), 0/0 or overflow in the "
        f"loss and in `post_update`.{saved}"
    )


#: The roles of `fit`'s ``key`` (`named_keys`): shuffling, per-step keys (``with_key``) and
#: the evaluation keys (``with_key``; split again into ``val`` and ``test``).
FIT_KEYS = ("shuffle", "steps", "eval")


def fit_keys(key: PRNGKeyArray) -> dict[str, PRNGKeyArray]:
    """`fit`'s ``key`` split into its roles, `FIT_KEYS`."""
    return named_keys(key, FIT_KEYS)


class CompiledEpoch:
    """One epoch of training compiled ahead of time for the given model, optimizer state and
    training data (`epoch_fn`; for ``mesh``: replicated in and out, each minibatch split).

    ``self.dyn`` and ``self.opt_state`` are the arrays to start from (placed on the mesh),
    ``self.static`` the rest of the model (`eqx.combine` them);
    calling ``self(e, dyn, opt_state)`` trains epoch ``e`` (0-based) and returns
    ``(dyn, opt_state, row)`` with ``row = {"epoch": e + 1, "train_loss", "seconds"}``: the
    mean loss over the steps and the run time measured after the device finished.

    Keys (`keys`): ``key`` is split once into ``shuffle`` and ``steps`` (`FIT_KEYS`); epoch
    ``e`` draws ``permutation(indexed_key(shuffle, e), n_train)`` and its step keys from
    ``indexed_key(steps, e)`` (two families with their own roots: no step key equals a key
    the permutation draws with).
    """

    def __init__(self, static, dyn, opt_state, train: tuple[Any, Array], key: PRNGKeyArray, *,
                 loss_fn: LossFn, optimizer: optax.GradientTransformation, batch_size: int,
                 post_update: Callable | None, with_key: bool, check_finite: bool,
                 mesh: Mesh | None, out: Path | None):
        x, y = train
        y = jnp.asarray(y)
        self.n, self.key, self.mesh, self.out = y.shape[0], key, mesh, out
        self.keys = fit_keys(key)
        self.static = static
        epoch, self.names = epoch_fn(static, loss_fn, optimizer, batch_size, post_update,
                                     with_key, check_finite, mesh)
        perm0 = jnp.arange(self.n)
        if mesh is None:
            self.compiled = jax.jit(epoch, donate_argnums=()).lower(
                dyn, opt_state, x, y, perm0, key).compile()
        else:  # replicated in and out; only the minibatches inside are split (see epoch_fn)
            rep = replicated(mesh)
            dyn, opt_state, x, y, perm0, key0 = place((dyn, opt_state, x, y, perm0, key), rep)
            self.compiled = jax.jit(epoch, in_shardings=rep, out_shardings=rep).lower(
                dyn, opt_state, x, y, perm0, key0).compile()
        self.dyn, self.opt_state, self.x, self.y = dyn, opt_state, x, y

    def __call__(self, e: int, dyn, opt_state) -> tuple[Any, Any, dict]:
        perm = jax.random.permutation(indexed_key(self.keys["shuffle"], e), self.n)
        k_steps = indexed_key(self.keys["steps"], e)
        if self.mesh is not None:
            perm, k_steps = place((perm, k_steps), replicated(self.mesh))
        t = time.perf_counter()
        with surface_checks():
            dyn, opt_state, losses, finite = self.compiled(dyn, opt_state, self.x, self.y,
                                                           perm, k_steps)
            losses = np.asarray(jax.block_until_ready(losses))
        seconds = time.perf_counter() - t
        check_finite_epoch(losses, np.asarray(finite), self.names, e + 1, self.out)
        return dyn, opt_state, {"epoch": e + 1, "train_loss": float(losses.mean()),
                                "seconds": seconds}
