"""Training a VQ-VAE from Python: :class:`Trainer`, its :class:`History` and :class:`EpochStats`.

The Go trainer runs a few optimiser steps per call (a *chunk*, about ``chunk_seconds`` long); between
chunks Python updates the progress bar and checks for Ctrl-C. Go never calls back into Python.

Where batches come from:

* a :class:`~brainvq.Dataset` or an image array: Go draws the batches itself (shuffled per epoch from
  the seed) without copying images through Python;
* any iterable of numpy image batches (a list, a generator, a PyTorch ``DataLoader`` yielding numpy
  arrays, ...): Python takes the batches from it and hands them to Go, ``batch_size`` images per
  optimiser step (see :class:`Trainer`);
* with ``transform=`` (a callable applied to every batch in Python, e.g. a random flip), batches of a
  dataset or array are drawn in Python too, so that the transform sees them.

Ctrl-C (SIGINT, also Jupyter's "interrupt kernel") during :meth:`Trainer.fit` lets the running chunk
finish, then raises ``KeyboardInterrupt``. Nothing is lost or half-applied: every step taken stays
applied, and the trainer and its model stay usable. The interrupted epoch is *not* recorded in the
history yet: it stays open, and the next :meth:`Trainer.fit` continues it where it stopped (its steps
count towards that epoch, which then counts as the first of the new call's epochs). To close it early
instead, call :meth:`Trainer.end_epoch`. :meth:`Trainer.save` needs a closed epoch.

Divergence: when the loss of a step grows to :data:`DIVERGENCE_FACTOR` times the lowest step loss seen,
:meth:`Trainer.steps` (and so :meth:`Trainer.fit`) warns once with a :class:`DivergenceWarning` that
advises a lower learning rate; a loss that becomes NaN or infinite stops training with
``FloatingPointError``.

Defaults: every training setting left out (``preset``, ``batch_size``, ``learning_rate``, ``seed``,
``steps_per_epoch`` and the model settings) takes the value of the Go side's one table of defaults,
which :func:`defaults` returns; ``brainvq train`` uses the same table.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Tuple,
    Union,
)

import numpy as np
import numpy.typing as npt

from brainvq import _binding
from brainvq._args import float_arg, int_arg
from brainvq.arrays import float32_to_bytes
from brainvq.data import Dataset
from brainvq.handles import Handle
from brainvq.images import ImageArray, as_images
from brainvq.model import Model

__all__ = [
    "Trainer",
    "History",
    "EpochStats",
    "CONFIG_KEYS",
    "DivergenceWarning",
    "DIVERGENCE_FACTOR",
    "Transform",
    "defaults",
    "set_threads",
    "get_threads",
]

_pb = _binding._pb

PathLike = Union[str, "os.PathLike[str]"]

#: A per-batch transform: takes a batch ``[B, S, S]`` float32 in [0, 1] and returns images of the
#: same size (any layout and dtype :mod:`brainvq.images` accepts; the batch may change length).
Transform = Callable[[npt.NDArray[np.float32]], ImageArray]

#: What a :class:`Trainer` trains on: a dataset, an image array, or an iterable of image batches.
TrainSource = Union[Dataset, ImageArray, Iterable[ImageArray]]

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

#: Training options a Trainer accepts as keyword arguments.
OPTION_KEYS = (
    "batch_size",
    "learning_rate",
    "seed",
    "steps_per_epoch",
    "recon_loss",
    "lr_schedule",
    "warmup_steps",
    "decay_steps",
    "ssim_weight",
)

#: A step loss this many times the lowest one seen means training diverges (two orders of magnitude).
DIVERGENCE_FACTOR = 100.0


class DivergenceWarning(RuntimeWarning):
    """The training loss grew by orders of magnitude: the learning rate is probably too high."""


def defaults() -> Dict[str, Any]:
    """The training defaults, from the Go side's single table (``TrainDefaults``): the values a
    :class:`Trainer` and ``brainvq train`` use for every setting not given (``preset``,
    ``batch_size``, ``learning_rate``, ``seed``, ``steps_per_epoch``, ``ema``, ...). A new dict."""
    d: Dict[str, Any] = _binding.call_json(_pb.TrainDefaults)
    return dict(d)


@dataclass(frozen=True)
class EpochStats:
    """One epoch of training (one row of :class:`History`).

    Losses: ``recon`` is the reconstruction loss trained with (``recon_loss``: clipped or plain
    mean((v − u)²)/σ²); ``vq`` is β·commitment (+ codebook loss without EMA). The
    ``train_*`` values are means over the epoch's steps (perplexity: of its last batch); the ``val_*``
    values are measured on the validation set after the epoch, and NaN when there was none.
    ``val_head_perplexity`` is the perplexity over the latent positions whose image patch is not all
    black (where the head is): the overall perplexity of a slice that is half background is bounded
    near 24 for K = 512, whatever the head uses.
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
    val_head_perplexity: float
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

    def column(self, name: str) -> npt.NDArray[np.float64]:
        """Field ``name`` of every epoch, ``[epochs]`` float64."""
        if name not in _FIELDS:
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


def _as_dataset(x: Union[Dataset, ImageArray, None], name: str) -> Optional[Dataset]:
    if x is None or isinstance(x, Dataset):
        return x
    return Dataset.from_array(x, name=name)


def _is_images(x: Any) -> bool:
    """Whether a training source is images held whole (a Dataset or a numpy array), not batches."""
    return isinstance(x, (Dataset, np.ndarray))


class _ShuffledBatches:
    """Batches of a :class:`Dataset` drawn in Python (when a transform must see them): every
    iteration is one epoch in a new order (numpy's generator seeded by ``(seed, epoch)``), ⌊N/B⌋
    batches of B images."""

    def __init__(self, ds: Dataset, batch_size: int, seed: int) -> None:
        self._ds, self._b, self._seed, self._epoch = ds, batch_size, seed, 0

    def __iter__(self) -> Iterator[npt.NDArray[np.float32]]:
        rng = np.random.default_rng([self._seed, self._epoch])
        self._epoch += 1
        order = rng.permutation(len(self._ds))
        for lo in range(0, len(order) - self._b + 1, self._b):
            yield self._ds[order[lo : lo + self._b]]


class _Feed:
    """Python-side batching for :class:`Trainer`: takes batches from a source, applies the transform,
    and cuts what comes out into steps of exactly ``batch_size`` images (a remainder smaller than
    that at the end of an epoch is dropped, as ``drop_last=True`` does in PyTorch)."""

    def __init__(self, source: Iterable[ImageArray], transform: Optional[Transform]) -> None:
        self.source = source
        self.transform = transform
        #: The source is an iterator (a generator: iterating it again continues it) rather than a
        #: re-iterable collection that starts over every epoch.
        self.one_shot = isinstance(source, Iterator)
        self.batch_size, self.image_size, self.steps_per_epoch = 0, 0, 0
        self._iter: Optional[Iterator[ImageArray]] = None
        self._buf: List[npt.NDArray[np.float32]] = []
        self._buffered = 0
        self._steps = 0  # steps of the open epoch
        self.done = False  # the open epoch has ended (source exhausted or steps_per_epoch reached)
        self._pending: List[ImageArray] = (
            []
        )  # a batch read ahead (the first one, for the image size)

    def configure(self, batch_size: int, image_size: int, steps_per_epoch: int) -> None:
        """Set what the trainer takes: steps of ``batch_size`` images of ``image_size``², and
        ``steps_per_epoch`` steps an epoch (0: until the source is exhausted)."""
        self.batch_size, self.image_size, self.steps_per_epoch = (
            batch_size,
            image_size,
            steps_per_epoch,
        )

    def peek(self) -> npt.NDArray[np.float32]:
        """The first batch of the source (normalised to ``[N, S, S]``), kept for the first step."""
        self._iter = iter(self.source)
        try:
            first = next(self._iter)
        except StopIteration:
            raise ValueError("train: the iterable of batches is empty") from None
        self._pending.append(first)
        return as_images(first, "train batch").pixels

    def next_batch(self) -> Optional[npt.NDArray[np.float32]]:
        """The next ``batch_size`` images ``[B, S, S]``, or None when the epoch is over."""
        if self.done:
            return None
        if self.steps_per_epoch and self._steps >= self.steps_per_epoch:
            self.done = True
            return None
        if self._iter is None:
            self._iter = iter(self.source)
        while self._buffered < self.batch_size:
            if self._pending:
                raw = self._pending.pop()
            else:
                try:
                    raw = next(self._iter)
                except StopIteration:
                    self.done = True
                    return None
            self._add(raw)
        x = np.concatenate(self._buf, axis=0)
        out, rest = x[: self.batch_size], x[self.batch_size :]
        self._buf = [rest] if len(rest) else []
        self._buffered = len(rest)
        self._steps += 1
        return np.ascontiguousarray(out)

    def _add(self, raw: ImageArray) -> None:
        s = self.image_size
        px = as_images(raw, "train batch", size=(s, s)).pixels
        if self.transform is not None:
            got = self.transform(px)
            px = as_images(got, "transform output", size=(s, s)).pixels
        self._buf.append(px)
        self._buffered += len(px)

    def end_epoch(self) -> int:
        """Close the epoch: drop the remainder, restart a re-iterable source next time; returns the
        epoch's steps."""
        steps = self._steps
        self._buf, self._buffered, self._steps, self.done = [], 0, 0, False
        if not self.one_shot:
            self._iter = None
        return steps


class Trainer(Handle):
    """Trains one VQ-VAE, validating after every epoch.

    Example::

        train = brainvq.Dataset.from_oasis("data", "train")
        val = brainvq.Dataset.from_oasis("data", "validate")
        trainer = brainvq.Trainer(train, val, preset="seed", learning_rate=1e-3)
        history = trainer.fit(epochs=5)
        model = trainer.model

    Training on your own loader, with an augmentation::

        def batches():                       # any iterable of [B, S, S] / [B, 1, S, S] arrays
            for i in range(0, len(x), 16):
                yield x[i : i + 16]

        flip = lambda b: b[:, :, ::-1] if rng.random() < 0.5 else b
        trainer = brainvq.Trainer(batches(), val, steps_per_epoch=100, transform=flip)
    """

    def __init__(
        self,
        train: TrainSource,
        val: Union[Dataset, ImageArray, None] = None,
        *,
        preset: Optional[str] = None,
        batch_size: Optional[int] = None,
        learning_rate: Optional[float] = None,
        seed: Optional[int] = None,
        steps_per_epoch: Optional[int] = None,
        recon_loss: Optional[str] = None,
        lr_schedule: Optional[str] = None,
        warmup_steps: Optional[int] = None,
        decay_steps: Optional[int] = None,
        ssim_weight: Optional[float] = None,
        transform: Optional[Transform] = None,
        preprocess: Optional[Tuple[float, float]] = None,
        threads: Optional[int] = None,
        **config: Any,
    ) -> None:
        """Start training a fresh model.

        Every setting left as None takes its default from :func:`defaults` (the Go side's table).

        Args:
            train: the training images, one of:

                * a :class:`Dataset`, or an array ``[N, S, S]`` / ``[N, 1, S, S]`` (uint8 or floats in
                  [0, 1]): one epoch is ⌊N / batch_size⌋ steps over a new shuffle;
                * any other iterable of image batches (each ``[B, S, S]``, ``[B, 1, S, S]`` or one
                  ``[S, S]`` image; uint8 or floats in [0, 1]), e.g. a generator or a data loader
                  yielding numpy arrays. Its images are cut into steps of ``batch_size`` (a last
                  remainder is dropped). An epoch ends when the iterable is exhausted or after
                  ``steps_per_epoch`` steps. A collection (list, loader) is iterated anew every epoch;
                  a generator or iterator is read on across epochs, so give ``steps_per_epoch`` for one.

                S, a multiple of 4, is the model's image size. The pixel mean μ and variance σ² of a
                dataset or array become the model's preprocessing constants; for an iterable they
                are ``preprocess`` or, without it, those of its first batch.
            val: validation images (a :class:`Dataset` or an array), measured after every epoch; None
                skips validation.
            preset: ``"residual"`` (van den Oord et al.: K 512, D 64, 128 channels, 2 residual
                blocks) or ``"seed"`` (small three-layer model: K 128, D 16).
            batch_size: images per optimiser step.
            learning_rate: Adam's step size.
            seed: seeds the weights, the shuffling and code restarts (same seed, same run).
            steps_per_epoch: optimiser steps per epoch; 0 means one pass over the data.
            recon_loss: ``"clipped"`` (default: an output past black or white where the target is
                black or white costs nothing, so backgrounds come out exactly black) or ``"mse"``
                (plain mean((v − u)²)/σ²). See docs/model.md "Losses".
            lr_schedule: ``"cosine"`` (the rate falls from ``learning_rate`` to 5 % of it along half
                a cosine, ending after ``decay_steps`` steps, then stays there) or ``"constant"``.
            warmup_steps: steps over which the rate first rises linearly to ``learning_rate``.
            decay_steps: where a cosine schedule ends, in optimiser steps; None: the default number
                of epochs (``defaults()["epochs"]``) over ``train`` — give it when ``train`` is an
                iterable without ``steps_per_epoch``, or when you plan another number of epochs.
            ssim_weight: weight of a structural term ``ssim_weight · (1 − SSIM(x, x̂))`` added to
                the loss (0: none).
            transform: a callable applied in Python to every batch before it reaches Go (an
                augmentation): it gets ``[B, S, S]`` float32 in [0, 1] and returns images of the same
                size. With a dataset or array, batches are then drawn in Python (numpy's generator
                seeded by ``seed``) rather than in Go.
            preprocess: ``(mean, variance)`` of the training pixels, for an iterable ``train``.
            threads: CPU threads for the Go kernels (process-wide); None leaves the setting alone
                (default: all cores).
            **config: model settings overriding the preset's, among :data:`CONFIG_KEYS`: ``hidden``,
                ``res_hidden``, ``num_res``, ``num_codes`` (K), ``code_dim`` (D), ``beta``, ``ema``,
                ``ema_decay``, ``ema_epsilon``, ``dead_code_min``.

        Raises:
            TypeError: an unknown keyword, or a setting of the wrong type (``batch_size=2.5``).
            ValueError: a setting out of range (the message names it), or training images that are
                not square, not a multiple of 4 or all one grey.
        """
        unknown = sorted(set(config) - set(CONFIG_KEYS))
        if unknown:
            raise TypeError(
                "unknown model setting(s) %s; choose among %s"
                % (", ".join(unknown), ", ".join(CONFIG_KEYS))
            )
        if transform is not None and not callable(transform):
            raise TypeError("transform must be callable, got %s" % type(transform).__name__)
        if threads is not None:
            set_threads(threads)
        preset = "" if preset is None else preset  # "": the Go side's default preset
        if not isinstance(preset, str):
            raise TypeError("preset must be a str, got %s" % type(preset).__name__)
        options: Dict[str, Any] = {}
        if batch_size is not None:
            options["batch_size"] = int_arg(batch_size, "batch_size")
        if learning_rate is not None:
            options["learning_rate"] = float_arg(learning_rate, "learning_rate")
        if seed is not None:
            options["seed"] = int_arg(seed, "seed", minimum=0)
        if steps_per_epoch is not None:
            options["steps_per_epoch"] = int_arg(steps_per_epoch, "steps_per_epoch")
        if recon_loss is not None:
            if not isinstance(recon_loss, str):
                raise TypeError("recon_loss must be a str, got %s" % type(recon_loss).__name__)
            options["recon_loss"] = recon_loss
        if lr_schedule is not None:
            if not isinstance(lr_schedule, str):
                raise TypeError("lr_schedule must be a str, got %s" % type(lr_schedule).__name__)
            options["lr_schedule"] = lr_schedule
        if warmup_steps is not None:
            options["warmup_steps"] = int_arg(warmup_steps, "warmup_steps", minimum=0)
        if decay_steps is not None:
            options["decay_steps"] = int_arg(decay_steps, "decay_steps", minimum=0)
        if ssim_weight is not None:
            options["ssim_weight"] = float_arg(ssim_weight, "ssim_weight")
        # Settings left out are left out of the JSON too: Go fills in its defaults.
        cfg, opts = json.dumps(config), json.dumps(options)
        self._val = _as_dataset(val, "validate")
        ds: Optional[Dataset] = None
        feed: Optional[_Feed] = None
        if _is_images(train):
            ds = _as_dataset(train, "train")  # type: ignore[arg-type]
            assert ds is not None
            self._train: Optional[Dataset] = ds
            if transform is None:
                self._feed: Optional[_Feed] = None
                self._init(_binding.call(_pb.NewTrainer, preset, cfg, opts, ds.handle))
                return
            first = ds[:1]
            if preprocess is None:
                preprocess = ds.stats()
        elif isinstance(train, Iterable):
            self._train = None
            feed = _Feed(train, transform)
            first = feed.peek()
            if preprocess is None:
                f64 = first.astype(np.float64)
                preprocess = (float(f64.mean()), float(f64.var()))
        else:
            raise TypeError(
                "train must be a Dataset, an image array or an iterable of image batches, got %s"
                % type(train).__name__
            )
        size = first.shape[1]
        if first.shape[2] != size:
            raise ValueError(
                "train: training images are %d×%d; the model takes square images" % first.shape[1:]
            )
        mean, variance = preprocess
        self._init(
            _binding.call(
                _pb.NewTrainerFor,
                preset,
                cfg,
                opts,
                size,
                float_arg(mean, "preprocess mean"),
                float_arg(variance, "preprocess variance"),
            )
        )
        o = self.options
        b, spe = int(o["batch_size"]), int(o["steps_per_epoch"])
        if feed is None:
            assert ds is not None
            feed = _Feed(_ShuffledBatches(ds, b, int(o["seed"])), transform)
        feed.configure(b, size, spe)
        self._feed = feed

    def _init(self, handle: int) -> None:
        super().__init__(handle)
        self._validated: List[bool] = []
        self._chunk_steps = 1
        self._loss_floor = math.inf
        self._diverged = False

    @classmethod
    def resume(
        cls,
        path: PathLike,
        train: TrainSource,
        val: Union[Dataset, ImageArray, None] = None,
        *,
        transform: Optional[Transform] = None,
    ) -> "Trainer":
        """Continue a run from a checkpoint written by :meth:`save` or ``brainvq train``.

        Training continues exactly (weights, optimiser and codebook state, random state, history) with
        the saved settings when ``train`` is the same dataset without a transform; pass the same
        training data (its preprocessing constants are in the file). ``train`` and ``transform`` take
        the forms :class:`Trainer` accepts.

        Raises:
            FileNotFoundError: no file at ``path``.
            ValueError: a corrupt file, one without training state (a :meth:`Model.save`), or
                training images of another size than the checkpoint's model.
        """
        self = cls.__new__(cls)
        self._val = _as_dataset(val, "validate")
        self._init(_binding.call(_pb.ResumeTrainer, os.fspath(path)))
        size = int(self.config["image_size"])
        opts = self.options
        if _is_images(train) and transform is None:
            self._train = _as_dataset(train, "train")  # type: ignore[arg-type]
            self._feed = None
            assert self._train is not None
            if self._train.shape[1:] != (size, size):
                raise ValueError(
                    "train: the checkpoint's model takes %d×%d images, the training set holds %d×%d"
                    % (size, size, self._train.shape[1], self._train.shape[2])
                )
            return self
        b, spe = int(opts["batch_size"]), int(opts["steps_per_epoch"])
        if _is_images(train):
            ds = _as_dataset(train, "train")  # type: ignore[arg-type]
            assert ds is not None
            self._train = ds
            if ds.shape[1:] != (size, size):
                raise ValueError(
                    "train: the checkpoint's model takes %d×%d images, the training set holds "
                    "%d×%d" % (size, size, ds.shape[1], ds.shape[2])
                )
            self._feed = _Feed(_ShuffledBatches(ds, b, int(opts["seed"])), transform)
        elif isinstance(train, Iterable):
            self._train = None
            self._feed = _Feed(train, transform)
        else:
            raise TypeError(
                "train must be a Dataset, an image array or an iterable of image batches, got %s"
                % type(train).__name__
            )
        self._feed.configure(b, size, spe)
        return self

    # -- description --------------------------------------------------------------------------------

    @property
    def train_set(self) -> Optional[Dataset]:
        """The training :class:`Dataset` (None when training on an iterable of batches)."""
        return self._train

    @property
    def val_set(self) -> Optional[Dataset]:
        """The validation :class:`Dataset`, or None."""
        return self._val

    def _info(self) -> Dict[str, Any]:
        info: Dict[str, Any] = _binding.call_json(_pb.TrainerInfo, self.handle)
        return info

    @property
    def config(self) -> Dict[str, Any]:
        """The model configuration (preset, image_size, num_codes, code_dim, ...)."""
        return dict(self._info()["config"])

    @property
    def options(self) -> Dict[str, Any]:
        """The training options (batch_size, learning_rate, seed, steps_per_epoch)."""
        return dict(self._info()["options"])

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
        (its number), ``step``/``steps`` (``steps`` 0: unknown, an iterable without
        ``steps_per_epoch``), ``epoch_done``, running mean ``recon_loss``/``vq_loss``,
        ``perplexity`` (last batch), ``images_per_second``, ``elapsed_seconds``."""
        if self._feed is None:
            assert self._train is not None
            st: Dict[str, Any] = _binding.call_json(
                _pb.TrainerState, self.handle, self._train.handle
            )
        else:
            st = _binding.call_json(_pb.TrainerState, self.handle, 0)
            st["epoch_done"] = self._feed.done
        return st

    @property
    def history(self) -> History:
        """The completed epochs (a new :class:`History`)."""
        rows: List[Dict[str, Any]] = _binding.call_json(_pb.TrainerHistory, self.handle)
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
            epoch's steps are done, or its iterable ran out; then call :meth:`end_epoch`).

        Raises:
            TypeError: ``n`` is not an int. ValueError: ``n`` < 1, or a batch that does not fit.
            FloatingPointError: a loss that became NaN or infinite (lower the learning rate).

        Warns:
            DivergenceWarning: a step's loss grew to :data:`DIVERGENCE_FACTOR` × the lowest seen.
        """
        n = int_arg(n, "n", minimum=1)
        if self._feed is None:
            assert self._train is not None
            st: Dict[str, Any] = _binding.call_json(
                _pb.TrainerSteps, self.handle, self._train.handle, n
            )
        else:
            st = self._feed_steps(n)
        self._watch(st)
        return st

    def _feed_steps(self, n: int) -> Dict[str, Any]:
        feed = self._feed
        assert feed is not None
        ran, lo, hi = 0, math.inf, -math.inf
        st: Optional[Dict[str, Any]] = None
        while ran < n:
            x = feed.next_batch()
            if x is None:
                break
            data, _ = float32_to_bytes(x)
            st = _binding.call_json(_pb.TrainerStepBatch, self.handle, data, len(x))
            ran += 1
            lo = min(lo, float(st["step_loss_min"]))
            hi = max(hi, float(st["step_loss_max"]))
        out = self.state()
        out["ran"] = ran
        out["step_loss_min"] = lo if ran else math.nan
        out["step_loss_max"] = hi if ran else math.nan
        if feed.done and not out["running"]:
            raise ValueError(
                "train: the epoch got fewer than one batch of %d images from the iterable; "
                "%s"
                % (
                    feed.batch_size,
                    (
                        "the iterator is exhausted (a generator is read once: pass a re-iterable "
                        "collection, or a new iterator with Trainer.resume)"
                        if feed.one_shot
                        else "it yields too few images"
                    ),
                )
            )
        return out

    def _watch(self, st: Dict[str, Any]) -> None:
        """Warn once when a step loss grew by orders of magnitude over the lowest one seen."""
        lo, hi = float(st.get("step_loss_min", math.nan)), float(st.get("step_loss_max", math.nan))
        if math.isfinite(lo) and lo > 0:
            self._loss_floor = min(self._loss_floor, lo)
        floor = self._loss_floor
        if not self._diverged and math.isfinite(floor) and hi >= DIVERGENCE_FACTOR * floor:
            self._diverged = True
            lr = float(self.options["learning_rate"])
            warnings.warn(
                "training diverges: a step's loss reached %.3g, %.0f× the lowest so far (%.3g). "
                "The learning rate %g is probably too high: lower it (e.g. to %g) and start again."
                % (hi, hi / floor, floor, lr, lr / 10),
                DivergenceWarning,
                stacklevel=3,
            )

    def end_epoch(self) -> EpochStats:
        """Close the open epoch (even before all its steps are done), validate it and record it.

        Raises:
            RuntimeError: no epoch is open.
        """
        val = self._val.handle if self._val is not None else 0
        row = _binding.call_json(_pb.TrainerEndEpoch, self.handle, val)
        if self._feed is not None:
            self._feed.end_epoch()
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
            epochs: epochs to train (an int ≥ 0; ``2.7`` is refused, not rounded).
            progress: True shows a tqdm bar per epoch (``tqdm.auto``; without tqdm a line per
                epoch on stderr); False shows nothing; a callable receives the :meth:`state` dict
                after every chunk and ``{"event": "epoch_end", "stats": EpochStats}`` after every
                epoch.
            chunk_seconds: about how long each Go call runs (at least one step), which bounds how
                long Ctrl-C waits.

        Returns:
            The history of all completed epochs.

        Raises:
            TypeError: ``epochs`` is not an int. ValueError: ``epochs`` < 0.
            KeyboardInterrupt: Ctrl-C; raised after the running chunk ends, with the trainer usable
                and the epoch left open (see the module documentation).
            FloatingPointError: the loss became NaN or infinite (lower the learning rate).

        Warns:
            DivergenceWarning: the loss grew by orders of magnitude (see :meth:`steps`).
        """
        epochs = int_arg(epochs, "epochs", minimum=0)
        chunk_seconds = float_arg(chunk_seconds, "chunk_seconds")
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
        report.start(st["epoch"], st["steps"], st["step"] if st["running"] else 0)
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
            RuntimeError: an epoch is open (interrupted).
            FileNotFoundError: the folder of ``path`` does not exist.
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
                    from tqdm.auto import tqdm  # type: ignore[import-untyped, unused-ignore]

                self._tqdm = tqdm
            except ImportError:
                self._tqdm = None

    def start(self, epoch: int, steps: int, done: int) -> None:
        if self._tqdm is not None:
            self._bar = self._tqdm(
                total=steps or None, initial=done, desc="epoch %d" % epoch, unit="step", leave=True
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

    Raises:
        TypeError: ``n`` is not an int. ValueError: ``n`` is negative.
    """
    return int(_binding.call(_pb.SetThreads, int_arg(n, "n")))


def get_threads() -> int:
    """How many CPU threads brainvq's Go kernels use."""
    return int(_binding.call(_pb.Threads))
