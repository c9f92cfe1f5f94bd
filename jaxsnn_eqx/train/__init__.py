"""The one training loop: optax, a whole epoch per compiled call, evaluation, results, checkpoints.

`fit` knows nothing about neurons: it takes a model (any Equinox module), a batched loss and a
batched predictor, and ``(X, y)`` data whose ``X`` is any pytree with a leading sample axis (an
array, or a batched `Spikes`). Every epoch is one ``lax.scan`` over minibatches compiled ahead of
time, so the printed seconds per epoch are pure run time (compilation is reported separately) and
are measured after the device finished. Each step also checks that the gradients and the updated
parameters are finite (one reduction per leaf); `fit` stops with a ``FloatingPointError`` naming
the leaf, the epoch and the step.

The package, one concern per module:

* `optim`: `make_optimizer`, Adam(W) with a learning-rate schedule.
* `compiled`: the compiled epoch and `evaluate` (compiled once per shape and reused); a failed
  model check inside them (`equinox.error_if`) surfaces as a one-line `ModelCheckError`.
* `sharding`: the device mesh, placement, `init_distributed` (several devices and hosts).
* `run_folder`: the run folder (`RunFolder`: manifest, atomic checkpoints, resume, crash
  recovery), `write_results`, `load_results`, `load_model`.
* `progress`: what `fit` reports while it trains (`ProgressPrinter`).
* `keys`: the one key scheme (`named_keys`: split once, name the parts; `indexed_key`).
* `arguments`: `FitArgumentError`, the error of every argument check (a `ValueError`).
* `loop`: `fit`, the pipeline over the others.
"""

from .arguments import FitArgumentError
from .compiled import (
    FIT_KEYS,
    LossFn,
    ModelCheckError,
    PredictFn,
    check_message,
    evaluate,
    fit_keys,
    surface_checks,
)
from .keys import indexed_key, named_keys
from .loop import fit
from .optim import make_optimizer
from .progress import FitCallback, ProgressPrinter
from .run_folder import (
    CHECKPOINTS,
    IGNORED_ON_RESUME,
    MANIFEST,
    MANIFEST_FORMAT,
    RUN_FILES,
    RunFolder,
    RunFolderError,
    load_model,
    load_results,
    write_results,
)
from .sharding import init_distributed

__all__ = [
    "fit", "evaluate", "make_optimizer", "load_results", "load_model", "write_results",
    "init_distributed", "RunFolderError", "IGNORED_ON_RESUME", "MANIFEST_FORMAT", "MANIFEST",
    "CHECKPOINTS", "RUN_FILES", "RunFolder", "FitCallback", "ProgressPrinter", "LossFn",
    "PredictFn", "named_keys", "indexed_key", "fit_keys", "FIT_KEYS",
    "ModelCheckError", "surface_checks", "FitArgumentError",
    "check_message",
]
