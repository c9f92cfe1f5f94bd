"""Progress of `fit` as a callback object: one printed line per epoch (and a live bar on a
terminal)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["FitCallback", "ProgressPrinter"]


class FitCallback:
    """What `fit` reports while it trains; the methods do nothing here, subclasses override
    the ones they need."""

    def on_start(self, start: int, epochs: int, out: Path | None,
                 compile_seconds: float) -> None:
        """Compiled; epochs ``start + 1 .. epochs`` are to run (``start`` > 0: resumed from
        ``out``); compiling took ``compile_seconds`` seconds."""

    def on_epoch(self, row: dict, epochs: int) -> None:
        """Epoch ``row["epoch"]`` of ``epochs`` is done; ``row`` holds ``train_loss``,
        ``seconds`` and ``val_accuracy`` (with a validation set)."""

    def on_end(self) -> None:
        """Training is over (testing follows)."""


class ProgressPrinter(FitCallback):
    """Prints ``compiled in S s`` and one line per epoch (``epoch E/N  loss L  val_acc A  S s``)
    through a tqdm bar, which is shown live on a terminal only (``disable=None``). Nothing is
    printed when no epoch is left to run."""

    def __init__(self):
        self.bar = None

    def on_start(self, start, epochs, out, compile_seconds):
        if epochs <= start:
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(total=epochs, initial=start, desc="train", unit="epoch",
                        dynamic_ncols=True, disable=None)
        if start:
            self.bar.write(f"resuming {out} after epoch {start}")
        self.bar.write(f"compiled in {compile_seconds:.1f} s")

    def on_epoch(self, row, epochs):
        if self.bar is None:
            return
        self.bar.update(1)
        post = {"loss": f"{row['train_loss']:.4f}"}
        if "val_accuracy" in row:
            post["val_accuracy"] = f"{row['val_accuracy']:.4f}"
        self.bar.set_postfix(post)
        self.bar.write(
            f"epoch {row['epoch']:4d}/{epochs}  loss {row['train_loss']:.4f}"
            + (f"  val_acc {row['val_accuracy']:.4f}" if "val_accuracy" in row else "")
            + f"  {row['seconds']:.2f} s"
        )

    def on_end(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
