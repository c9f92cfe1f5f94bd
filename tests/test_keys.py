"""The one key scheme (`train.keys`): every role gets its own key, so no two roles draw the same
bits. With JAX's partitionable threefry ``fold_in(k, 1) == split(k)[1]``, which made the initial
delays of the event task a copy of the output weights' draw and the step keys of `fit` the
subkey `permutation` shuffles with."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsnn_eqx import train
from jaxsnn_eqx.tasks import recipe, yinyang_event
from jaxsnn_eqx.train.compiled import CompiledEpoch


def bits(k) -> tuple:
    k = jnp.asarray(k)
    if jax.dtypes.issubdtype(k.dtype, jax.dtypes.prng_key):
        k = jax.random.key_data(k)
    return tuple(np.asarray(k).ravel().tolist())


def test_named_keys_are_one_split_and_distinct():
    key = jax.random.PRNGKey(3)
    keys = train.named_keys(key, ("a", "b", "c"))
    assert [bits(k) for k in keys.values()] == [bits(k) for k in jax.random.split(key, 3)]
    assert len({bits(k) for k in keys.values()}) == 3
    with pytest.raises(ValueError, match="distinct"):
        train.named_keys(key, ("a", "a"))


def test_run_keys_differ_from_each_other_and_from_the_data_keys():
    keys = recipe.run_keys(0)
    data_keys = {bits(k) for k in jax.random.split(jax.random.PRNGKey(0), 3)}  # yinyang_splits
    assert len({bits(k) for k in keys.values()}) == len(recipe.RUN_KEYS)
    assert bits(keys["model"]) not in data_keys and bits(keys["fit"]) not in data_keys
    roles = train.fit_keys(keys["fit"])
    assert len({bits(k) for k in roles.values()} | {bits(keys["fit"])}) == 4


def _spearman(a, b) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


@pytest.mark.parametrize("layered", [True, False])
def test_initial_delays_are_independent_of_the_weights(layered):
    """The smallest reproduction: ``--delays --delay-init 5e-3``; the delays were drawn with the
    output weights' key (rank correlation 1.0 over the elements they share)."""
    argv = ["--delays", "--delay-init", "5e-3", "--hidden", "40"] + (["--layered"] if layered
                                                                     else [])
    args = yinyang_event._resolve(yinyang_event.parse(argv))
    model = yinyang_event.build_model(jax.random.PRNGKey(0), args)
    if layered:
        delay = np.asarray(model.layers[0].delay).ravel()
        weights = [model.layers[0].weight, model.layers[1].weight]
    else:
        h = args.hidden
        delay = np.asarray(model.delay).ravel()
        weights = [model.weight_in, model.weight_rec[:h, h:]]
    for w in weights:
        w = np.asarray(w).ravel()
        n = min(len(w), len(delay))
        assert abs(_spearman(delay[:n], w[:n])) < 0.5


def test_fit_step_keys_differ_from_the_shuffle_keys():
    """Epoch ``e``'s step key was ``fold_in(k_epoch, 1)``: the subkey `permutation(k_epoch)`
    shuffles with."""
    x, y = jnp.zeros((8, 2)), jnp.zeros(8, jnp.int32)
    calls = []
    ep = CompiledEpoch.__new__(CompiledEpoch)
    ep.n, ep.key, ep.mesh, ep.out, ep.names = 8, jax.random.PRNGKey(1), None, None, []
    ep.keys = train.fit_keys(ep.key)
    ep.x, ep.y = x, y

    def compiled(dyn, opt_state, x, y, perm, key):
        calls.append((perm, key))
        return dyn, opt_state, jnp.zeros(2), np.ones((2, 0), bool)

    ep.compiled = compiled
    for e in range(3):
        ep(e, None, None)
    shuffle = {bits(k) for e in range(3) for k in (
        train.indexed_key(ep.keys["shuffle"], e),
        *jax.random.split(train.indexed_key(ep.keys["shuffle"], e)))}
    steps = [bits(k) for _, k in calls]
    assert len(set(steps)) == 3 and not set(steps) & shuffle
    # what the permutation used: the shuffle family, not the step keys
    for e, (perm, _) in enumerate(calls):
        want = jax.random.permutation(train.indexed_key(ep.keys["shuffle"], e), 8)
        assert np.array_equal(perm, want)
