"""Training a VQ-VAE from Python: :class:`Trainer`, its :class:`History` and :class:`EpochStats`.

The Go trainer runs a few optimiser steps per call (a *chunk*, about ``chunk_seconds`` long); between
chunks Python updates the progress bar and checks for Ctrl-C. Go never calls back into Python.

Ctrl-C (SIGINT, also Jupyter's "interrupt kernel") during :meth:`Trainer.fit` lets the running chunk
finish, then raises ``KeyboardInterrupt``. Nothing is lost or half-applied: every step taken stays
applied, and the trainer and its model stay usable. The interrupted epoch is *not* recorded in the
history yet: it stays open, and the next :meth:`Trainer.fit` continues it where it stopped (its steps
count towards that epoch, which then counts as the first of the new call's epochs). To close it early
instead, call :meth:`Trainer.end_epoch`. :meth:`Trainer.save` needs a closed epoch.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

import numpy as np

from brainvq import _binding
from brainvq.data import Dataset
from brainvq.handles import Handle
from brainvq.model import Model

__all__ = ["Trainer", "History", "EpochStats", "CONFIG_KEYS"]

_pb = _binding._pb

PathLike = Union[str, "os.PathLike[str]"]

#: Model settings a Trainer accepts as keyword arguments (beside ``preset``); see docs/model.md.
CONFIG_KEYS = (
    "hidden",
    "res_hidden",
    "num_res",
    "num_codes",
    "code_dim",
    "beta",
    "ema",
    "ema_decay",
    "ema_epsilon",
    "dead_code_min",
)


@dataclass(frozen=True)
class EpochStats:
    """One epoch of training (one row of :class:`History`).

    Losses: ``recon`` is mean((v − u)²)/σ²; ``vq`` is β·commitment (+ codebook loss without EMA). The
    ``train_*`` values are means over the epoch's steps (perplexity: of its last batch); the ``val_*``
    values are measured on the validation set after the epoch, and NaN when there was none.
    """

    epoch: int
    steps: int
    train_recon_loss: float
    train_vq_loss: float
    train_perplexity: float
    val_recon_loss: float
    val_vq_loss: float
    val_perplexity: float
    val_codes_used: float
    val_ssim: float
    codes_restarted: int
    seconds: float
    images_per_second: float

    @classmethod
    def from_dict(cls, d: Dict[str, Any], validated: bool = True) -> "EpochStats":
        """Build from Go's JSON keys; ``validated=False`` turns the ``val_*`` values into NaN."""
        kw: Dict[str, Any] = {}
        for f in fields(cls):
            v = d.get(f.name, math.nan)
            if f.type in ("int", int):
                kw[f.name] = int(v)
            else:
                kw[f.name] = float(v)
                if not validated and f.name.startswith("val_"):
                    kw[f.name] = math.nan
        return cls(**kw)

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a plain dict."""
        return asdict(self)


class History(List[EpochStats]):
    """The epochs trained so far, oldest first: a list of :class:`EpochStats`.

    ``history.column("val_ssim")`` gives one field as a numpy array; ``history.to_dicts()`` a list of
    dicts (``pandas.DataFrame(history.to_dicts())`` makes a table).
    """

    def column(self, name: str) -> np.ndarray:
        """Field ``name`` of every epoch, ``[epochs]`` float64."""
        if name not in {f.name for f in fields(EpochStats)}:
            raise KeyError("no history field %r (fields: %s)" % (name, ", ".join(_FIELDS)))
        return np.array([getattr(e, name) for e in self], dtype=np.float64)

    def to_dicts(self) -> List[Dict[str, Any]]:
        """Each epoch as a dict."""
        return [e.to_dict() for e in self]


_FIELDS = [f.name for f in fields(EpochStats)]


class _DeferSigint:
    """While active in the main thread, SIGINT is recorded instead of raising at once.

    ``pending`` tells whether one arrived; on exit the previous handler is restored. In other threads
    (where Python cannot install handlers) it does nothing and Ctrl-C behaves as usual.
    """

    def __init__(self) -> None:
        self.pending = False
        self._old: Any = None
        self._active = False

    def _handler(self, signum: int, frame: Any) -> None:
        self.pending = True

    def __enter__(self) -> "_DeferSigint":
        if threading.current_thread() is threading.main_thread():
            old = signal.getsignal(signal.SIGINT)
            if callable(old):
                self._old = old
                signal.signal(signal.SIGINT, self._handler)
                self._active = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._active:
            signal.signal(signal.SIGINT, self._old)
            self._active = False

    def raise_if_pending(self) -> None:
        """Restore the previous handler and deliver a pending SIGINT to it (normally: raise
        ``KeyboardInterrupt``)."""
        if self.pending:
            old = self._old
            self.__exit__()
            self.pending = False
            if callable(old) and old is not signal.default_int_handler:
                old(signal.SIGINT, None)
            raise KeyboardInterrupt


def _as_dataset(x: Union[Dataset, object, None], name: str) -> Optional[Dataset]:
    if x is None or isinstance(x, Dataset):
        return x
    return Dataset.from_array(x, name=name)


class Trainer(Handle):
    """Trains one VQ-VAE on a training set, validating after every epoch.

    Example::

        train = brainvq.Dataset.from_oasis("data", "train")
        val = brainvq.Dataset.from_oasis("data", "validate")
        trainer = brainvq.Trainer(train, val, preset="seed", learning_rate=1e-3)
        history = trainer.fit(epochs=5)
        model = trainer.model
    """

    def __init__(
        self,
        train: Union[Dataset, object],
        val: Union[Dataset, object, None] = None,
        *,
        preset: str = "residual",
        batch_size: int = 16,
        learning_rate: float = 2e-4,
        seed: int = 1,
        steps_per_epoch: int = 0,
        threads: Optional[int] = None,
        **config: Any,
    ) -> None:
        """Start training a fresh model.

        Args:
            train: training images — a :class:`Dataset` or an array ``[N, S, S]`` / ``[N, 1, S, S]``
                (uint8 or floats in [0, 1]). S, a multiple of 4, is the model's image size; the pixel
                mean μ and variance σ² of this set become the model's preprocessing constants.
            val: validation images (same forms), measured after every epoch; None skips validation.
            preset: ``"residual"`` (van den Oord et al.: K 512, D 64, 128 channels, 2 residual
                blocks) or ``"seed"`` (small three-layer model: K 128, D 16).
            batch_size: images per optimiser step.
            learning_rate: Adam's step size.
            seed: seeds the weights, the shuffling and code restarts (same seed, same run).
            steps_per_epoch: optimiser steps per epoch; 0 means one pass (⌊N / batch_size⌋ steps).
            threads: CPU threads for the Go kernels (process-wide); None leaves the setting alone
                (default: all cores).
            **config: model settings overriding the preset's, among :data:`CONFIG_KEYS`: ``hidden``,
                ``res_hidden``, ``num_res``, ``num_codes`` (K), ``code_dim`` (D), ``beta``, ``ema``
                (default True), ``ema_decay``, ``ema_epsilon``, ``dead_code_min`` (default 1).

        Raises:
            TypeError: an unknown keyword. GoError: an invalid setting (the message says which).
        """
        unknown = sorted(set(config) - set(CONFIG_KEYS))
        if unknown:
            raise TypeError(
                "unknown model setting(s) %s; choose among %s"
                % (", ".join(unknown), ", ".join(CONFIG_KEYS))
            )
        if threads is not None:
            set_threads(threads)
        self._train = _as_dataset(train, "train")
        self._val = _as_dataset(val, "validate")
        options = {
            "batch_size": int(batch_size),
            "learning_rate": float(learning_rate),
            "seed": int(seed),
            "steps_per_epoch": int(steps_per_epoch),
        }
        h = _binding.call(
            _pb.NewTrainer,
            str(preset),
            json.dumps(config),
            json.dumps(options),
            self._train.handle,
        )
        self._init(h)

    def _init(self, handle: int) -> None:
        super().__init__(handle)
        self._validated: List[bool] = []
        self._chunk_steps = 1

    @classmethod
    def resume(
        cls,
        path: PathLike,
        train: Union[Dataset, object],
        val: Union[Dataset, object, None] = None,
    ) -> "Trainer":
        """Continue a run from a checkpoint written by :meth:`save` or ``brainvq train``.

        Training continues exactly (weights, optimiser and codebook state, random state, history) with
        the saved settings; pass the same training set (its preprocessing constants are in the file).

        Raises:
            GoError: a missing or corrupt file, or one without training state (a :meth:`Model.save`).
        """
        self = cls.__new__(cls)
        self._train = _as_dataset(train, "train")
        self._val = _as_dataset(val, "validate")
        self._init(_binding.call(_pb.ResumeTrainer, os.fspath(path)))
        size = int(self.config["image_size"])
        if self._train.shape[1:] != (size, size):
            raise ValueError(
                "the checkpoint's model takes %d×%d images, the training set holds %d×%d"
                % (size, size, self._train.shape[1], self._train.shape[2])
            )
        return self

    # -- description --------------------------------------------------------------------------------

    @property
    def train_set(self) -> Dataset:
        """The training :class:`Dataset`."""
        return self._train

    @property
    def val_set(self) -> Optional[Dataset]:
        """The validation :class:`Dataset`, or None."""
        return self._val

    def _info(self) -> Dict[str, Any]:
        return _binding.call_json(_pb.TrainerInfo, self.handle)

    @property
    def config(self) -> Dict[str, Any]:
        """The model configuration (preset, image_size, num_codes, code_dim, ...)."""
        return self._info()["config"]

    @property
    def options(self) -> Dict[str, Any]:
        """The training options (batch_size, learning_rate, seed, steps_per_epoch)."""
        return self._info()["options"]

    @property
    def preprocess(self) -> Dict[str, float]:
        """``{"mean": μ, "variance": σ²}`` of the training set."""
        p = self._info()["preprocess"]
        return {"mean": float(p["mean"]), "variance": float(p["variance"])}

    @property
    def epochs_completed(self) -> int:
        """Epochs finished (recorded in :attr:`history`)."""
        return int(self._info()["epochs"])

    def state(self) -> Dict[str, Any]:
        """Where training stands: ``epochs`` (completed), ``running`` (an epoch is open), ``epoch``
        (its number), ``step``/``steps``, ``epoch_done``, running mean ``recon_loss``/``vq_loss``,
        ``perplexity`` (last batch), ``images_per_second``, ``elapsed_seconds``."""
        return _binding.call_json(_pb.TrainerState, self.handle, self._train.handle)

    @property
    def history(self) -> History:
        """The completed epochs (a new :class:`History`)."""
        rows = _binding.call_json(_pb.TrainerHistory, self.handle)
        # Epochs trained in this process know whether they were validated; resumed ones were if
        # they carry a validation SSIM.
        out = History()
        offset = len(rows) - len(self._validated)
        for i, r in enumerate(rows):
            validated = self._validated[i - offset] if i >= offset else float(r["val_ssim"]) != 0
            out.append(EpochStats.from_dict(r, validated))
        return out

    @property
    def model(self) -> Model:
        """A snapshot of the model being trained (a copy: later training does not change it)."""
        return Model(_binding.call(_pb.TrainerModel, self.handle))

    # -- training -----------------------------------------------------------------------------------

    def steps(self, n: int) -> Dict[str, Any]:
        """Run up to ``n`` optimiser steps of the current epoch (starting one if none is open).

        Returns:
            The :meth:`state` afterwards, plus ``ran``: the steps run (fewer than ``n`` when the
            epoch's steps are done; then call :meth:`end_epoch`).

        Raises:
            GoError: e.g. a loss that became NaN or infinite (lower the learning rate).
        """
        return _binding.call_json(_pb.TrainerSteps, self.handle, self._train.handle, int(n))

    def end_epoch(self) -> EpochStats:
        """Close the open epoch (even before all its steps are done), validate it and record it.

        Raises:
            GoError: no epoch is open.
        """
        val = self._val.handle if self._val is not None else 0
        row = _binding.call_json(_pb.TrainerEndEpoch, self.handle, val)
        self._validated.append(self._val is not None)
        return EpochStats.from_dict(row, self._val is not None)

    def fit(
        self,
        epochs: int = 1,
        progress: Union[bool, Callable[[Dict[str, Any]], None]] = True,
        chunk_seconds: float = 0.5,
    ) -> History:
        """Train ``epochs`` more epochs, validating after each, and return the whole :attr:`history`.

        An epoch left open by an interrupted call is finished first and counts as one of them.

        Args:
            epochs: epochs to train.
            progress: True shows a tqdm bar per epoch (``tqdm.auto``; without tqdm a line per
                epoch on stderr); False shows nothing; a callable receives the :meth:`state` dict
                after every chunk and ``{"event": "epoch_end", "stats": EpochStats}`` after every
                epoch.
            chunk_seconds: about how long each Go call runs (at least one step), which bounds how
                long Ctrl-C waits.

        Returns:
            The history of all completed epochs.

        Raises:
            KeyboardInterrupt: Ctrl-C; raised after the running chunk ends, with the trainer usable
                and the epoch left open (see the module documentation).
            GoError: training failed (e.g. a non-finite loss).
        """
        epochs = int(epochs)
        if epochs < 0:
            raise ValueError("epochs must be ≥ 0, got %d" % epochs)
        report = _Reporter(progress)
        with _DeferSigint() as sig:
            try:
                for _ in range(epochs):
                    self._run_epoch(report, sig, chunk_seconds)
                    sig.raise_if_pending()
            finally:
                report.close()
        return self.history

    def _run_epoch(self, report: "_Reporter", sig: _DeferSigint, chunk_seconds: float) -> None:
        st = self.state()
        if not st["running"]:
            report.start(st["epoch"], st["steps"], 0)
        else:
            report.start(st["epoch"], st["steps"], st["step"])
        while not st.get("epoch_done", False):
            sig.raise_if_pending()
            t0 = time.perf_counter()
            st = self.steps(self._chunk_steps)
            dt = time.perf_counter() - t0
            if st["ran"] == 0:
                break
            per_step = dt / st["ran"]
            self._chunk_steps = int(min(10_000, max(1, chunk_seconds / max(per_step, 1e-9))))
            report.update(st)
        sig.raise_if_pending()
        stats = self.end_epoch()
        report.end(stats)

    def save(self, path: PathLike) -> Path:
        """Write a checkpoint that :meth:`resume` continues exactly; returns ``path``.

        Only between epochs (after :meth:`fit` returns, or :meth:`end_epoch`).

        Raises:
            GoError: an epoch is open (interrupted), or the file cannot be written.
        """
        _binding.call(_pb.TrainerSave, self.handle, os.fspath(path))
        return Path(path)

    def __repr__(self) -> str:
        if self.closed:
            return "<Trainer closed>"
        c = self.config
        return "<Trainer %s %d×%d, K=%d, D=%d, %d epochs done>" % (
            c["preset"],
            c["image_size"],
            c["image_size"],
            c["num_codes"],
            c["code_dim"],
            self.epochs_completed,
        )


class _Reporter:
    """Progress display for :meth:`Trainer.fit`: tqdm bars, plain lines, a callback or nothing."""

    def __init__(self, progress: Union[bool, Callable[[Dict[str, Any]], None]]) -> None:
        self._callback = progress if callable(progress) else None
        self._show = progress is True
        self._tqdm: Any = None
        self._bar: Any = None
        if self._show:
            try:
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    from tqdm.auto import tqdm

                self._tqdm = tqdm
            except ImportError:
                self._tqdm = None

    def start(self, epoch: int, steps: int, done: int) -> None:
        if self._tqdm is not None:
            self._bar = self._tqdm(
                total=steps, initial=done, desc="epoch %d" % epoch, unit="step", leave=True
            )

    def update(self, st: Dict[str, Any]) -> None:
        if self._callback is not None:
            self._callback(st)
        if self._bar is not None:
            self._bar.n = st["step"]
            self._bar.set_postfix(
                recon="%.4f" % float(st["recon_loss"]),
                vq="%.4f" % float(st["vq_loss"]),
                ppl="%.1f" % float(st["perplexity"]),
                refresh=False,
            )
            self._bar.refresh()

    def end(self, stats: EpochStats) -> None:
        if self._callback is not None:
            self._callback({"event": "epoch_end", "stats": stats})
        line = "epoch %d: train recon %.4f vq %.4f" % (
            stats.epoch,
            stats.train_recon_loss,
            stats.train_vq_loss,
        )
        if not math.isnan(stats.val_ssim):
            line += " | val recon %.4f SSIM %.4f perplexity %.1f" % (
                stats.val_recon_loss,
                stats.val_ssim,
                stats.val_perplexity,
            )
        if self._bar is not None:
            self._bar.set_postfix_str(line.split(": ", 1)[1], refresh=True)
            self._bar.close()
            self._bar = None
        elif self._show:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def set_threads(n: int) -> int:
    """Set how many CPU threads brainvq's Go kernels use (0: all cores); returns the number in effect.

    The setting is process-wide and applies to training and inference alike.
    """
    return int(_binding.call(_pb.SetThreads, int(n)))


def get_threads() -> int:
    """How many CPU threads brainvq's Go kernels use."""
    return int(_binding.call(_pb.Threads))
