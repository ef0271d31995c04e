"""brainvq: a VQ-VAE for 2D brain MRI slices, implemented in Go and driven from Python.

The heavy lifting runs in Go (through a gopy-built extension); this package gives it a numpy
interface::

    import brainvq
    root = brainvq.make_standin("data", train_subjects=8)        # or an OASIS folder
    train = brainvq.Dataset.from_oasis(root, "train")
    val = brainvq.Dataset.from_oasis(root, "validate")
    trainer = brainvq.Trainer(train, val, preset="seed", learning_rate=1e-3)
    history = trainer.fit(epochs=3)                               # tqdm bars; Ctrl-C stops cleanly
    model = trainer.model
    x = val.images[:8]                                            # [8, 256, 256] float32 in [0, 1]
    print(brainvq.ssim(x, model.reconstruct(x)).mean())
    model.save("model.bvq"); model.export_onnx("onnx")

Main names: :class:`Dataset`, :func:`make_standin`, :class:`Trainer` (:class:`History`,
:class:`EpochStats`, :func:`defaults`, :class:`DivergenceWarning`), :class:`Model` / :func:`load`
(:class:`Evaluation`), :class:`Prior` / :class:`PriorTrainer` / :func:`load_prior` (generation: a
PixelCNN prior over the code grid; :mod:`brainvq.prior`), :func:`ssim`, :func:`psnr`, :func:`mse`, :func:`perplexity`,
:func:`used_fraction`, :func:`code_histogram`, :mod:`brainvq.plot`, :func:`set_threads`. Image arrays may be ``[N, H, W]``, ``[N, 1, H, W]`` or ``[H, W]``; uint8 pixels are
divided by 255, floats must lie in [0, 1] (:mod:`brainvq.images`).

Errors: a missing file raises ``FileNotFoundError``; a bad argument ``ValueError`` or ``TypeError``
naming the parameter (also for values checked in Go); a diverged training loss
``FloatingPointError``; :class:`GoError` only reports internal failures (an unexpected Go error or a
recovered Go panic).

Under the hood, arrays cross into Go as little-endian bytes plus a shape (:mod:`brainvq.arrays`);
long-lived Go objects are held through handles (:class:`brainvq.handles.Handle`, released by
``close()``, a ``with`` block or garbage collection). Models pickle (as their checkpoint bytes).

The package is typed (``py.typed``): image arguments are :data:`brainvq.images.ImageArray` (numpy
arrays of floats, uint8 or bools), results ``numpy.typing.NDArray`` of a stated dtype.

Go calls release the GIL, so other Python threads keep running during long calls.

multiprocessing: the Go runtime starts when this package is imported and does not survive
``fork()``. Create worker processes with ``multiprocessing.get_context("spawn")``; a forked child
that calls into brainvq gets a ``RuntimeError`` saying so. Models can be passed to such workers.
"""

from __future__ import annotations

from brainvq import _binding
from brainvq._binding import GoError, live_handles
from brainvq.arrays import bytes_to_float32, check_shape, float32_to_bytes
from brainvq.data import Dataset, find_template, make_standin
from brainvq.handles import Handle
from brainvq.metrics import code_histogram, mse, perplexity, psnr, ssim, used_fraction
from brainvq.model import Evaluation, Model, load
from brainvq.prior import (
    Prior,
    PriorEpochStats,
    PriorHistory,
    PriorScore,
    PriorTrainer,
    UnigramScore,
    load_prior,
    prior_defaults,
)
from brainvq.images import ImageArray
from brainvq.training import (
    DivergenceWarning,
    EpochStats,
    History,
    Trainer,
    defaults,
    get_threads,
    set_threads,
)
from brainvq import plot

__all__ = [
    "__version__",
    "go_version",
    "Dataset",
    "make_standin",
    "find_template",
    "Trainer",
    "History",
    "EpochStats",
    "DivergenceWarning",
    "defaults",
    "ImageArray",
    "Model",
    "Evaluation",
    "load",
    "Prior",
    "PriorTrainer",
    "PriorHistory",
    "PriorEpochStats",
    "PriorScore",
    "UnigramScore",
    "load_prior",
    "prior_defaults",
    "ssim",
    "psnr",
    "mse",
    "perplexity",
    "used_fraction",
    "code_histogram",
    "set_threads",
    "get_threads",
    "plot",
    "GoError",
    "Handle",
    "live_handles",
    "float32_to_bytes",
    "bytes_to_float32",
    "check_shape",
]


def go_version() -> str:
    """The version of the Go code compiled into the extension (e.g. ``"0.1.0"``)."""
    return str(_binding.call(_binding._pb.Version))


#: The package version: the one compiled into the Go extension (the wheel's metadata matches it).
__version__: str = go_version()
