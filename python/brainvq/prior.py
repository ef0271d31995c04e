"""Generating slices: a gated PixelCNN prior over a VQ-VAE's code grid (:class:`Prior`, :class:`PriorTrainer`).

A trained :class:`~brainvq.Model` describes every image as an ``h × w`` grid of code indices (``h = S/4``).
The prior (``docs/model.md``, "The prior") learns the distribution of those grids, optionally conditioned on
the axial slice level that OASIS file names carry (``case_NNN_slice_K.nii.png``: level K). Sampling a grid from
it and decoding the grid with the same VQ-VAE generates a new slice; keeping part of a real slice's grid and
sampling the rest completes it.

Shapes: code grids ``[N, h, w]`` (int64 out, any integer dtype in); images ``[N, S, S]`` float32 in [0, 1];
uniforms ``[N, h, w]`` float64.

Training runs in Go, one epoch at a time in the background; :meth:`PriorTrainer.fit` waits on it in short
calls, drawing a progress bar. Ctrl-C (or Jupyter's "interrupt kernel") stops the running epoch between two
optimiser steps and raises ``KeyboardInterrupt``; the trainer is then back at its last finished epoch (the
interrupted one is dropped, not half-kept) and :attr:`PriorTrainer.prior` is that epoch's prior.

Every draw is a fixed function of the logits and one uniform number per position, and sample ``i`` of a
seed always uses the same numbers (:meth:`Prior.uniforms`), whatever ``n``: the same seed gives the same
samples, and onnxruntime over :meth:`Prior.export_onnx`'s ``prior.onnx`` fed those numbers draws the same
codes (``docs/onnx.md``).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from brainvq import _binding
from brainvq._args import float_arg, int_arg
from brainvq.arrays import bytes_to_float64, bytes_to_int32, int32_to_bytes
from brainvq.data import Dataset
from brainvq.handles import Handle
from brainvq.images import ImageArray, as_images
from brainvq.model import Model
from brainvq.training import _DeferSigint

__all__ = [
    "Prior",
    "PriorTrainer",
    "PriorHistory",
    "PriorEpochStats",
    "PriorScore",
    "UnigramScore",
    "load_prior",
    "prior_defaults",
]

_pb = _binding._pb

PathLike = Union[str, "os.PathLike[str]"]

#: A slice level: None (no level), an int (the same for every image; -1 means none) or one int per image.
Level = Union[None, int, Sequence[int], npt.NDArray[np.integer[Any]]]

#: Images or code grids the prior can score: a Dataset, images, or integer code grids ``[N, h, w]``.
Scorable = Union[Dataset, ImageArray, npt.NDArray[np.integer[Any]]]


def prior_defaults() -> Dict[str, Any]:
    """The defaults of a new prior and its training (``channels``, ``layers``, ``kernel``,
    ``head_channels``, ``batch_size``, ``learning_rate``, ``seed``, ``steps_per_epoch``,
    ``null_fraction``) and limits (``max_levels``, ``max_samples`` per Go call), from the Go side:
    the values ``brainvq prior train`` uses. A new dict."""
    d: Dict[str, Any] = _binding.call_json(_pb.PriorDefaults)
    return dict(d)


@dataclass(frozen=True)
class PriorEpochStats:
    """One epoch of prior training. ``*_bits_per_code`` is the mean negative log-likelihood of the true
    codes in bits; ``*_accuracy`` the next-code accuracy (the most likely code is the true one). The
    ``train_*`` values are means over the epoch's steps; ``val_*`` are measured after it (NaN without a
    validation set)."""

    epoch: int
    steps: int
    train_bits_per_code: float
    train_accuracy: float
    val_bits_per_code: float
    val_accuracy: float
    seconds: float
    images_per_second: float

    @classmethod
    def from_dict(cls, d: Dict[str, Any], validated: bool = True) -> "PriorEpochStats":
        """Build from Go's JSON keys; ``validated=False`` turns the ``val_*`` values into NaN."""
        kw: Dict[str, Any] = {}
        for f in fields(cls):
            v = d.get(f.name, math.nan)
            if f.type in ("int", int):
                kw[f.name] = int(v)
            else:
                kw[f.name] = math.nan if not validated and f.name.startswith("val_") else float(v)
        return cls(**kw)

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a plain dict."""
        return asdict(self)


class PriorHistory(List[PriorEpochStats]):
    """The prior's completed epochs, oldest first; ``column(name)`` gives one field as an array."""

    def column(self, name: str) -> npt.NDArray[np.float64]:
        """Field ``name`` of every epoch, ``[epochs]`` float64."""
        names = [f.name for f in fields(PriorEpochStats)]
        if name not in names:
            raise KeyError("no history field %r (fields: %s)" % (name, ", ".join(names)))
        return np.array([getattr(e, name) for e in self], dtype=np.float64)

    def to_dicts(self) -> List[Dict[str, Any]]:
        """Each epoch as a dict."""
        return [e.to_dict() for e in self]


@dataclass(frozen=True)
class PriorScore:
    """How well a prior predicts a set of code grids (:meth:`Prior.nll`).

    Attributes:
        bits_per_code: mean −log2 p(code | codes before it, level) over every position.
        accuracy: the fraction of positions whose most likely code is the true one.
        positions: how many codes were scored (N·h·w).
        image_bits_per_code, image_accuracy: the same per image, ``[N]`` float64.
    """

    bits_per_code: float
    accuracy: float
    positions: int
    image_bits_per_code: npt.NDArray[np.float64]
    image_accuracy: npt.NDArray[np.float64]


@dataclass(frozen=True)
class UnigramScore:
    """The baseline a prior must beat: every code drawn independently from the code frequencies of the
    training set (add-one smoothing). ``bits_per_code``: mean −log2 frequency of the true codes;
    ``accuracy``: how often the most frequent code is the true one."""

    bits_per_code: float
    accuracy: float


class _Codes(Handle):
    """The code grids of a set of images under one VQ-VAE, with each image's slice level (held in Go)."""

    @classmethod
    def encode(cls, model: Model, x: Union[Dataset, ImageArray], param: str) -> "_Codes":
        """Encode a Dataset (levels from its file names) or images (no levels) with ``model``."""
        if isinstance(x, Dataset):
            return cls(_binding.call(_pb.PriorEncode, model.handle, x.handle, param))
        s = model.image_size
        pixels = as_images(x, param, size=(s, s)).pixels
        with Dataset.from_array(pixels, name=param) as ds:
            return cls(_binding.call(_pb.PriorEncode, model.handle, ds.handle, param))

    @classmethod
    def from_arrays(
        cls, codes: npt.NDArray[Any], levels: npt.NDArray[np.int32], num_codes: int
    ) -> "_Codes":
        data, (n, h, _) = int32_to_bytes(codes, (None, codes.shape[1], codes.shape[1]), name="x")
        lv, _ = int32_to_bytes(levels, (n,), name="levels")
        return cls(_binding.call_bytes(_pb.PriorCodesFromArrays, data, lv, n, h, num_codes, ""))

    def with_levels(self, levels: npt.NDArray[np.int32]) -> "_Codes":
        lv, _ = int32_to_bytes(levels, (len(self),), name="levels")
        return _Codes(_binding.call_bytes(_pb.PriorCodesWithLevels, self.handle, lv))

    def info(self) -> Dict[str, Any]:
        d: Dict[str, Any] = _binding.call_json(_pb.PriorCodesInfo, self.handle)
        return d

    def __len__(self) -> int:
        return int(self.info()["n"])

    def levels(self) -> npt.NDArray[np.int32]:
        return np.array(self.info()["levels"], dtype=np.int32)

    def array(self) -> npt.NDArray[np.int32]:
        info = self.info()
        g = int(info["grid"])
        raw = _binding.call_bytes(_pb.PriorCodesArray, self.handle)
        return bytes_to_int32(raw, (int(info["n"]), g, g), name="codes")


class Prior(Handle):
    """A trained prior over the code grids of one VQ-VAE, held in Go (its weights never change).

    Get one from :meth:`fit`, :attr:`PriorTrainer.prior`, :func:`load_prior` (a ``.bvqp`` file of
    ``brainvq prior train``, :meth:`save` or :meth:`PriorTrainer.save`) or :meth:`from_bytes`. Sampling
    and scoring need only the prior; decoding samples into images (and encoding images to complete or
    score) needs its VQ-VAE, :attr:`model`: set it, pass ``model=`` to :func:`load_prior`, or pass
    ``model=`` to the call. A VQ-VAE other than the one the prior was trained on is refused
    (``ValueError`` naming ``model``). Priors pickle (their checkpoint bytes, and their model's).
    """

    def __init__(self, handle: int, model: Optional[Model] = None) -> None:
        """Wrap a Go prior handle (use :func:`load_prior` or :meth:`fit` instead)."""
        super().__init__(handle)
        self._info: Dict[str, Any] = _binding.call_json(_pb.PriorInfo, handle)
        self._model: Optional[Model] = None
        #: The training history, when this prior came from :meth:`fit` (else empty).
        self.history = PriorHistory()
        if model is not None:
            self.model = model

    # -- construction and files -------------------------------------------------------------------

    @classmethod
    def load(cls, path: PathLike, model: Optional[Model] = None) -> "Prior":
        """Read a prior checkpoint (``.bvqp``); ``model`` is its VQ-VAE (checked).

        Raises:
            FileNotFoundError: no file at ``path``. ValueError: not a prior checkpoint, or ``model`` is
                not the VQ-VAE the prior was trained on.
        """
        return cls(_binding.call(_pb.LoadPrior, os.fspath(path)), model)

    @classmethod
    def from_bytes(cls, data: bytes, model: Optional[Model] = None) -> "Prior":
        """Read a prior from checkpoint bytes (:meth:`to_bytes`, or a ``.bvqp`` file's content)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("data must be bytes, got %s" % type(data).__name__)
        return cls(_binding.call_bytes(_pb.PriorFromBytes, bytes(data)), model)

    def to_bytes(self) -> bytes:
        """The prior's checkpoint, byte for byte what :meth:`save` writes."""
        return bytes(_binding.call_bytes(_pb.PriorBytes, self.handle))

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_prior_from_bytes, (self.to_bytes(), self._model))

    def save(self, path: PathLike) -> Path:
        """Write the prior's checkpoint atomically; returns ``path``. A prior from a trainer keeps the
        training state, so ``brainvq prior train --resume`` and :meth:`PriorTrainer.resume` continue it.
        """
        _binding.call(_pb.PriorSave, self.handle, os.fspath(path))
        return Path(path)

    def export_onnx(self, folder: PathLike) -> Path:
        """Write ``prior.onnx`` (code grid ``[N, h, w]`` int64 + level ``[N]`` int64 → logits
        ``[N, K, h, w]``, opset 17, the sampling rules in its metadata) into ``folder``; returns its path.
        Export the VQ-VAE beside it with :meth:`Model.export_onnx`; see ``docs/onnx.md``."""
        return Path(_binding.call(_pb.PriorExportONNX, self.handle, os.fspath(folder)))

    # -- description --------------------------------------------------------------------------------

    @property
    def model(self) -> Optional[Model]:
        """The VQ-VAE whose codes the prior models (None until set). Setting checks that it is the
        one the prior was trained on (``ValueError`` otherwise)."""
        return self._model

    @model.setter
    def model(self, model: Optional[Model]) -> None:
        if model is not None:
            self._check_model(model, "model")
        self._model = model

    def _check_model(self, model: Model, param: str) -> None:
        if not isinstance(model, Model):
            raise TypeError("%s must be a brainvq.Model, got %s" % (param, type(model).__name__))
        _binding.call(_pb.PriorCheckModel, self.handle, model.handle, param)

    def _vqvae(self, model: Optional[Model]) -> Model:
        """The VQ-VAE to decode/encode with: ``model`` (checked) or :attr:`model`."""
        if model is not None:
            self._check_model(model, "model")
            return model
        if self._model is None:
            raise ValueError(
                "model: this prior has no VQ-VAE attached to decode or encode with; pass model=, set "
                "prior.model, or load it with brainvq.load_prior(path, model=...)"
            )
        return self._model

    @property
    def config(self) -> Dict[str, Any]:
        """The prior's configuration (``num_codes``, ``code_dim``, ``grid``, ``channels``, ``layers``,
        ``kernel``, ``head_channels``, ``levels``, ``dilations``), as a new dict."""
        return dict(self._info["config"])

    @property
    def num_codes(self) -> int:
        """K: the VQ-VAE's codebook size."""
        return int(self._info["config"]["num_codes"])

    @property
    def grid(self) -> int:
        """h = w: the side of the code grid."""
        return int(self._info["config"]["grid"])

    @property
    def levels(self) -> int:
        """L: the prior knows slice levels 0 … L−1 (0: it was trained without levels)."""
        return int(self._info["config"]["levels"])

    @property
    def vqvae_fingerprint(self) -> str:
        """The identity of the VQ-VAE the prior was trained on."""
        return str(self._info["vqvae_fingerprint"])

    @property
    def epoch(self) -> int:
        """Training epochs behind this prior."""
        return int(self._info["epoch"])

    @property
    def num_params(self) -> int:
        """Number of float32 parameters (the frozen code embedding included)."""
        return int(self._info["num_params"])

    @property
    def test_score(self) -> Optional[Dict[str, float]]:
        """The test score ``brainvq prior train`` recorded (``bits_per_code``, ``accuracy``,
        ``unigram_bits_per_code``, ``unigram_accuracy``), or None."""
        t = self._info["test"]
        return None if t is None else {k: float(v) for k, v in t.items()}

    # -- sampling -----------------------------------------------------------------------------------

    def _levels(self, level: Level, n: int, param: str = "level") -> npt.NDArray[np.int32]:
        """``level`` as int32 ``[n]`` (−1: none); range checks happen in Go (they name ``param``)."""
        if level is None:
            return np.full(n, -1, dtype=np.int32)
        if isinstance(level, (Sequence, np.ndarray)):
            arr = np.asarray(level)
            if arr.dtype.kind not in "iu" or arr.shape != (n,):
                raise ValueError(
                    "%s: give one int, None, or %d ints (one per image); got %s of shape %s"
                    % (param, n, arr.dtype, arr.shape)
                )
            vals = arr.astype(np.int64)
        else:
            vals = np.full(n, int_arg(level, param), dtype=np.int64)
        if vals.size and (vals.min() < -1 or vals.max() >= 2**31):
            raise ValueError(
                "%s: levels must be -1 (none) or 0 … %d, got %d"
                % (param, self.levels - 1, vals.min() if vals.min() < -1 else vals.max())
            )
        return vals.astype(np.int32)

    def _options(self, temperature: float, top_k: int, top_p: float, seed: int) -> Tuple[Any, ...]:
        return (
            float_arg(temperature, "temperature"),
            int_arg(top_k, "top_k"),
            float_arg(top_p, "top_p"),
            int_arg(seed, "seed", minimum=0),
        )

    def sample_codes(
        self,
        n: int = 16,
        level: Level = None,
        *,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int = 1,
        first: int = 0,
        naive: bool = False,
    ) -> npt.NDArray[np.int64]:
        """Draw ``n`` code grids (no VQ-VAE needed); see :meth:`sample` for the arguments.

        Returns:
            int64 ``[n, h, w]`` in [0, K).
        """
        n = int_arg(n, "n", minimum=1)
        first = int_arg(first, "first", minimum=0)
        levels = self._levels(level, n)
        opts = self._options(temperature, top_k, top_p, seed)
        g = self.grid
        chunk = int(prior_defaults()["max_samples"])
        out = np.empty((n, g, g), dtype=np.int64)
        for lo in range(0, n, chunk):
            k = min(chunk, n - lo)
            lv, _ = int32_to_bytes(levels[lo : lo + k])
            raw = _binding.call_bytes(
                _pb.PriorSample, self.handle, lv, k, *opts, first + lo, bool(naive)
            )
            out[lo : lo + k] = bytes_to_int32(raw, (k, g, g), name="codes")
        return out

    def sample(
        self,
        n: int = 16,
        level: Level = None,
        *,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int = 1,
        first: int = 0,
        naive: bool = False,
        model: Optional[Model] = None,
    ) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Generate ``n`` slices: draw code grids from the prior (ancestral sampling, raster order) and
        decode them with the VQ-VAE.

        Args:
            n: how many (≥ 1).
            level: the axial slice level to generate (0 … :attr:`levels` − 1), None or -1 for no level,
                or one level per sample.
            temperature: divides the logits (> 0; < 1 safer, > 1 more varied).
            top_k: draw only among the k most likely codes (0: all).
            top_p: draw only among the most likely codes whose probabilities add up to p (1: all).
            seed: the random seed (≥ 0). Sample i of a seed is the same whatever ``n``.
            first: number the samples from ``first`` (samples first … first+n−1 of the seed).
            naive: use the reference sampler (one full pass of the prior per position: slow; it draws
                the same codes).
            model: the VQ-VAE to decode with (default :attr:`model`).

        Returns:
            ``(codes, images)``: int64 ``[n, h, w]`` and float32 ``[n, S, S]`` in [0, 1].

        Raises:
            TypeError: a non-integer ``n``, ``top_k``, ``seed`` or level. ValueError: ``n`` < 1, a level
                the prior does not know, ``temperature`` ≤ 0, ``top_k`` outside [0, K], ``top_p`` outside
                (0, 1], a negative ``seed``, no VQ-VAE, or a VQ-VAE of another prior (the message names
                the parameter).
        """
        vq = self._vqvae(model)
        codes = self.sample_codes(
            n,
            level,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
            first=first,
            naive=naive,
        )
        return codes, vq.decode(codes)

    def uniforms(self, n: int, seed: int = 1, first: int = 0) -> npt.NDArray[np.float64]:
        """The uniform numbers samples ``first`` … ``first+n−1`` of ``seed`` are drawn with, float64
        ``[n, h, w]`` (one per position, used in raster order). Fed to another sampler over
        ``prior.onnx`` (``docs/onnx.md``), they reproduce this prior's codes."""
        n = int_arg(n, "n", minimum=1)
        seed = int_arg(seed, "seed", minimum=0)
        first = int_arg(first, "first", minimum=0)
        g = self.grid
        raw = _binding.call_bytes(_pb.PriorUniforms, self.handle, seed, first, n)
        return bytes_to_float64(raw, (n, g, g), name="uniforms")

    def _grid_mask(
        self, s: int, m: int, keep_rows: Optional[int], mask: Optional[npt.ArrayLike]
    ) -> npt.NDArray[np.bool_]:
        """Which latent cells keep their code, ``[m, h, w]`` bool: rows of cells that lie wholly above
        image row ``keep_rows`` (default: the top half), or the cells none of whose pixels ``mask``
        marks (as ``brainvq complete`` does)."""
        g = self.grid
        f = s // g
        if keep_rows is not None and mask is not None:
            raise ValueError("keep_rows, mask: give one of them, not both")
        if mask is None:
            rows = s // 2 if keep_rows is None else int_arg(keep_rows, "keep_rows")
            if not 0 <= rows <= s:
                raise ValueError("keep_rows: %d outside [0, %d]" % (rows, s))
            cell_rows = (np.arange(g) + 1) * f <= rows
            return np.broadcast_to(cell_rows[None, :, None], (m, g, g)).copy()
        mk = np.asarray(mask)
        if mk.dtype.kind not in "biuf":
            raise TypeError("mask must be a numeric or boolean array, got dtype %s" % mk.dtype)
        if mk.shape == (s, s):
            mk = np.broadcast_to(mk, (m, s, s))
        if mk.shape != (m, s, s):
            raise ValueError(
                "mask: want [%d, %d] (one for all images) or [%d, %d, %d], got %s"
                % (s, s, m, s, s, mk.shape)
            )
        resample = (mk > 0.5).reshape(m, g, f, g, f).any(axis=(2, 4))
        if not resample.any(axis=(1, 2)).all():
            raise ValueError("mask: marks no pixel of some image: nothing to complete")
        return np.asarray(~resample)

    def complete(
        self,
        images: Union[Dataset, ImageArray],
        keep_rows: Optional[int] = None,
        mask: Optional[npt.ArrayLike] = None,
        n: int = 4,
        level: Level = None,
        *,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int = 1,
        naive: bool = False,
        model: Optional[Model] = None,
    ) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Complete real slices: encode each image, keep its codes in one region and sample the rest
        from the prior (each code given every code before it), ``n`` times; decode.

        Args:
            images: a :class:`Dataset`, images ``[M, S, S]`` / ``[M, 1, S, S]``, or one ``[S, S]``.
            keep_rows: keep the latent rows that lie wholly above this image row (default: the top
                half).
            mask: instead of ``keep_rows``: ``[S, S]`` (for every image) or ``[M, S, S]``, true (> 0.5)
                where the image is to be resampled; a latent cell keeps its code when none of its pixels
                is marked.
            n: completions per image.
            level: the slice level to condition on: None takes a Dataset's levels from its file names
                (levels the prior does not know, and arrays, get none); an int (-1: none) or one per
                image.
            temperature, top_k, top_p, seed, naive, model: as for :meth:`sample`. Image k's
                completions are samples ``k·n`` … ``k·n+n−1`` of the seed, as in ``brainvq complete``.

        Returns:
            ``(codes, images)``: int64 ``[M, n, h, w]`` and float32 ``[M, n, S, S]`` (``[n, h, w]`` and
            ``[n, S, S]`` for one ``[S, S]`` image). The kept cells hold the image's own codes.
        """
        vq = self._vqvae(model)
        n = int_arg(n, "n", minimum=1)
        opts = self._options(temperature, top_k, top_p, seed)
        s, g = vq.image_size, self.grid
        single = False
        if isinstance(images, Dataset):
            with _Codes.encode(vq, images, "images") as cs:
                codes, file_levels = cs.array(), cs.levels()
            file_levels[file_levels >= self.levels] = -1
        else:
            b = as_images(images, "images", size=(s, s))
            single = b.layout == "HW"
            codes = vq.encode(b.pixels)
            file_levels = np.full(len(codes), -1, dtype=np.int32)
        m = len(codes)
        levels = file_levels if level is None else self._levels(level, m)
        keep = self._grid_mask(s, m, keep_rows, mask)
        out = np.empty((m, n, g, g), dtype=np.int64)
        for k in range(m):
            known, _ = int32_to_bytes(np.broadcast_to(codes[k], (n, g, g)))
            keep_b = np.ascontiguousarray(np.broadcast_to(keep[k], (n, g, g)), dtype=np.uint8)
            lv, _ = int32_to_bytes(np.full(n, levels[k], dtype=np.int32))
            raw = _binding.call_bytes(
                _pb.PriorComplete,
                self.handle,
                known,
                keep_b.tobytes(),
                lv,
                n,
                *opts,
                k * n,
                bool(naive),
            )
            out[k] = bytes_to_int32(raw, (n, g, g), name="codes")
        decoded = vq.decode(out.reshape(m * n, g, g)).reshape(m, n, s, s)
        if single:
            return out[0], decoded[0]
        return out, decoded

    # -- scoring ------------------------------------------------------------------------------------

    def _codes(self, x: Scorable, levels: Level, model: Optional[Model]) -> _Codes:
        """A code set for ``x``: a Dataset or images (encoded with the VQ-VAE), or code grids."""
        g = self.grid
        if isinstance(x, Dataset):
            cs = _Codes.encode(self._vqvae(model), x, "x")
        else:
            arr = np.asarray(x)
            if arr.dtype.kind in "iu" and arr.ndim in (2, 3) and arr.shape[-2:] == (g, g):
                grids = arr[None] if arr.ndim == 2 else arr
                lv = self._levels(levels, len(grids), "levels")
                return _Codes.from_arrays(grids, lv, self.num_codes)
            cs = _Codes.encode(self._vqvae(model), x, "x")  # type: ignore[arg-type]
        if levels is None:
            return cs
        with cs:
            return cs.with_levels(self._levels(levels, len(cs), "levels"))

    def nll(
        self, x: Scorable, levels: Level = None, *, model: Optional[Model] = None
    ) -> PriorScore:
        """Score images or code grids under the prior: bits per code and next-code accuracy.

        Args:
            x: a :class:`Dataset` (levels from its file names), images ``[N, S, S]`` (encoded with the
                VQ-VAE), or integer code grids ``[N, h, w]`` / ``[h, w]`` (an integer array shaped like
                the grid is taken as codes).
            levels: the slice level of each image (None: a Dataset's file names, else none; an int for
                all; one per image). Levels the prior does not know are scored without a level.
            model: the VQ-VAE to encode with (default :attr:`model`).

        Returns:
            A :class:`PriorScore`. Compare it with :meth:`PriorTrainer.unigram`.
        """
        with self._codes(x, levels, model) as cs:
            d: Dict[str, Any] = _binding.call_json(_pb.PriorScore, self.handle, cs.handle)
        return PriorScore(
            bits_per_code=float(d["bits_per_code"]),
            accuracy=float(d["accuracy"]),
            positions=int(d["positions"]),
            image_bits_per_code=np.array(
                [float(v) for v in d["image_bits_per_code"]], dtype=np.float64
            ),
            image_accuracy=np.array([float(v) for v in d["image_accuracy"]], dtype=np.float64),
        )

    def __repr__(self) -> str:
        if self.closed:
            return "<Prior closed>"
        c = self._info["config"]
        return "<Prior K=%d on %d×%d, %d layers of %d channels, %d levels, epoch %d>" % (
            c["num_codes"],
            c["grid"],
            c["grid"],
            c["layers"],
            c["channels"],
            c["levels"],
            self.epoch,
        )

    # -- training -----------------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        model: Model,
        train: Union[Dataset, ImageArray],
        val: Union[Dataset, ImageArray, None] = None,
        epochs: int = 10,
        *,
        levels: bool = True,
        channels: Optional[int] = None,
        layers: Optional[int] = None,
        kernel: Optional[int] = None,
        head_channels: Optional[int] = None,
        dilations: Optional[Sequence[int]] = None,
        batch_size: Optional[int] = None,
        learning_rate: Optional[float] = None,
        seed: Optional[int] = None,
        steps_per_epoch: Optional[int] = None,
        null_fraction: Optional[float] = None,
        progress: Union[bool, Callable[[Dict[str, Any]], None]] = True,
    ) -> "Prior":
        """Train a prior on ``model``'s codes of ``train`` for ``epochs`` epochs and return it (with
        :attr:`model` set and :attr:`history` filled). The arguments are :class:`PriorTrainer`'s and
        :meth:`PriorTrainer.fit`'s.

        Ctrl-C stops training between two steps and returns the prior of the last finished epoch (with
        a warning), or raises ``KeyboardInterrupt`` when no epoch had finished.
        """
        trainer = PriorTrainer(
            model,
            train,
            val,
            levels=levels,
            channels=channels,
            layers=layers,
            kernel=kernel,
            head_channels=head_channels,
            dilations=dilations,
            batch_size=batch_size,
            learning_rate=learning_rate,
            seed=seed,
            steps_per_epoch=steps_per_epoch,
            null_fraction=null_fraction,
        )
        with trainer:
            try:
                trainer.fit(epochs, progress=progress)
            except KeyboardInterrupt:
                if trainer.epochs_completed == 0:
                    raise
                import warnings

                warnings.warn(
                    "interrupted: returning the prior of epoch %d" % trainer.epochs_completed,
                    RuntimeWarning,
                    stacklevel=2,
                )
            p = trainer.prior
            p.history = trainer.history
        return p


def _prior_from_bytes(data: bytes, model: Optional[Model]) -> Prior:
    """Unpickle a :class:`Prior` (see :meth:`Prior.__reduce__`)."""
    return Prior.from_bytes(data, model)


def load_prior(path: PathLike, model: Optional[Model] = None) -> Prior:
    """Read a prior checkpoint (``.bvqp``) as a :class:`Prior`; ``model`` is its VQ-VAE (checked)."""
    return Prior.load(path, model)


class PriorTrainer(Handle):
    """Trains a prior over the codes a VQ-VAE gives a training set, validating after every epoch.

    Example::

        model = brainvq.load("model.bvq")
        trainer = brainvq.PriorTrainer(model, train, val, channels=64, layers=12)
        history = trainer.fit(epochs=10)
        prior = trainer.prior                      # the last finished epoch, model attached
        codes, images = prior.sample(8, level=20)
        print(trainer.unigram(), prior.nll(test))  # the baseline, and the prior's score
    """

    def __init__(
        self,
        model: Model,
        train: Union[Dataset, ImageArray],
        val: Union[Dataset, ImageArray, None] = None,
        *,
        levels: bool = True,
        channels: Optional[int] = None,
        layers: Optional[int] = None,
        kernel: Optional[int] = None,
        head_channels: Optional[int] = None,
        dilations: Optional[Sequence[int]] = None,
        batch_size: Optional[int] = None,
        learning_rate: Optional[float] = None,
        seed: Optional[int] = None,
        steps_per_epoch: Optional[int] = None,
        null_fraction: Optional[float] = None,
    ) -> None:
        """Encode the images with ``model`` (once) and start training a fresh prior.

        Settings left as None take :func:`prior_defaults` (those of ``brainvq prior train``).

        Args:
            model: the trained VQ-VAE whose codes the prior learns.
            train, val: a :class:`Dataset` (slice levels from the file names, ``…slice_K…``) or images
                ``[N, S, S]`` (no levels); ``val`` is scored after every epoch.
            levels: condition on slice levels (the prior knows levels 0 … the largest in ``train``);
                False trains an unconditional prior.
            channels, layers, kernel, head_channels: the prior's size (``docs/model.md``).
            dilations: each layer's dilation (one int per layer); None: 1, 2, 4, 8, 16, 1, 2, … capped
                by the grid, which lets the default prior see 38 rows up on a 64×64 grid.
            batch_size, learning_rate, seed, steps_per_epoch: as for :class:`~brainvq.Trainer`
                (``steps_per_epoch`` 0: one pass over ``train``).
            null_fraction: the fraction of training images shown without their level, so that the
                prior also samples without one.

        Raises:
            TypeError: ``model`` is not a Model, or a setting of the wrong type. ValueError: a setting
                out of range, or images of another size than the model's (the message names it).
        """
        if not isinstance(model, Model):
            raise TypeError("model must be a brainvq.Model, got %s" % type(model).__name__)
        if not isinstance(levels, bool):
            raise TypeError("levels must be True or False, got %s" % type(levels).__name__)
        config: Dict[str, Any] = {}
        for key, value in (
            ("channels", channels),
            ("layers", layers),
            ("kernel", kernel),
            ("head_channels", head_channels),
        ):
            if value is not None:
                config[key] = int_arg(value, key)
        if dilations is not None:
            if isinstance(dilations, (str, bytes)) or not hasattr(dilations, "__iter__"):
                raise TypeError(
                    "dilations must be a sequence of ints, got %s" % type(dilations).__name__
                )
            config["dilations"] = [int_arg(d, "dilations") for d in dilations]
        options: Dict[str, Any] = {}
        if batch_size is not None:
            options["batch_size"] = int_arg(batch_size, "batch_size")
        if learning_rate is not None:
            options["learning_rate"] = float_arg(learning_rate, "learning_rate")
        if seed is not None:
            options["seed"] = int_arg(seed, "seed", minimum=0)
        if steps_per_epoch is not None:
            options["steps_per_epoch"] = int_arg(steps_per_epoch, "steps_per_epoch")
        if null_fraction is not None:
            options["null_fraction"] = float_arg(null_fraction, "null_fraction")
        self._model = model
        self._train = self._encode(train, "train", levels)
        self._val = None if val is None else self._encode(val, "val", levels)
        if not levels:
            config["levels"] = 0
        h = _binding.call(
            _pb.NewPriorTrainer,
            model.handle,
            self._train.handle,
            json.dumps(config),
            json.dumps(options),
        )
        super().__init__(h)
        self._validated: List[bool] = []

    def _encode(self, x: Union[Dataset, ImageArray], param: str, levels: bool) -> _Codes:
        cs = _Codes.encode(self._model, x, param)
        if levels:
            return cs
        with cs:
            return cs.with_levels(np.full(len(cs), -1, dtype=np.int32))

    @classmethod
    def resume(
        cls,
        path: PathLike,
        model: Model,
        train: Union[Dataset, ImageArray],
        val: Union[Dataset, ImageArray, None] = None,
        *,
        levels: bool = True,
    ) -> "PriorTrainer":
        """Continue a prior checkpoint (:meth:`save`, :meth:`Prior.save` of a trainer's prior, or
        ``brainvq prior train``) exactly where it stopped, on the same data.

        Raises:
            FileNotFoundError: no file at ``path``. ValueError: not a resumable prior checkpoint, or
                ``model`` is not its VQ-VAE.
        """
        if not isinstance(model, Model):
            raise TypeError("model must be a brainvq.Model, got %s" % type(model).__name__)
        self = cls.__new__(cls)
        self._model = model
        h = _binding.call(_pb.ResumePriorTrainer, os.fspath(path), model.handle)
        Handle.__init__(self, h)
        self._validated = []
        try:
            self._train = self._encode(train, "train", levels)
            self._val = None if val is None else self._encode(val, "val", levels)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop a running epoch (if any) and release the trainer and its code sets. Idempotent."""
        h = getattr(self, "_h", None)
        if h is not None:
            try:
                _binding.call(_pb.PriorTrainerCancel, h)
            except Exception:
                pass
        for cs in (getattr(self, "_train", None), getattr(self, "_val", None)):
            if cs is not None:
                cs.close()
        super().close()

    # -- description --------------------------------------------------------------------------------

    def _info(self) -> Dict[str, Any]:
        d: Dict[str, Any] = _binding.call_json(_pb.PriorTrainerInfo, self.handle)
        return d

    @property
    def model(self) -> Model:
        """The VQ-VAE whose codes the prior learns."""
        return self._model

    @property
    def config(self) -> Dict[str, Any]:
        """The prior's configuration (see :attr:`Prior.config`)."""
        return dict(self._info()["config"])

    @property
    def options(self) -> Dict[str, Any]:
        """The training options (``batch_size``, ``learning_rate``, ``seed``, ``steps_per_epoch``,
        ``null_fraction``)."""
        return dict(self._info()["options"])

    @property
    def epochs_completed(self) -> int:
        """Epochs finished (recorded in :attr:`history`)."""
        return int(self._info()["epochs"])

    @property
    def history(self) -> PriorHistory:
        """The completed epochs (a new :class:`PriorHistory`)."""
        rows: List[Dict[str, Any]] = _binding.call_json(_pb.PriorTrainerHistory, self.handle)
        offset = len(rows) - len(self._validated)
        out = PriorHistory()
        for i, r in enumerate(rows):
            validated = (
                self._validated[i - offset] if i >= offset else float(r["val_bits_per_code"]) != 0
            )
            out.append(PriorEpochStats.from_dict(r, validated))
        return out

    @property
    def prior(self) -> Prior:
        """The prior after the last finished epoch (a new :class:`Prior` with :attr:`model` set; later
        training does not change it)."""
        return Prior(_binding.call(_pb.PriorTrainerPrior, self.handle), self._model)

    def unigram(self, x: Union[Dataset, ImageArray, None] = None) -> UnigramScore:
        """The unigram baseline: the training codes' frequencies scored on ``x`` (default: the
        validation set; the training set when there is none)."""
        k = self._model.num_codes
        if x is None:
            ev = self._val if self._val is not None else self._train
            d: Dict[str, Any] = _binding.call_json(
                _pb.PriorUnigram, self._train.handle, ev.handle, k
            )
        else:
            with _Codes.encode(self._model, x, "x") as cs:
                d = _binding.call_json(_pb.PriorUnigram, self._train.handle, cs.handle, k)
        return UnigramScore(bits_per_code=float(d["bits_per_code"]), accuracy=float(d["accuracy"]))

    # -- training -----------------------------------------------------------------------------------

    def fit(
        self,
        epochs: int = 1,
        progress: Union[bool, Callable[[Dict[str, Any]], None]] = True,
        chunk_seconds: float = 0.5,
    ) -> PriorHistory:
        """Train ``epochs`` more epochs, validating after each; return the whole :attr:`history`.

        Args:
            epochs: an int ≥ 0 (``2.7`` is refused, not rounded).
            progress: True shows a tqdm bar per epoch (a line per epoch without tqdm); False nothing; a
                callable gets the state dict (``epoch``, ``step``, ``steps``, ``bits_per_code``,
                ``accuracy``, ...) every ``chunk_seconds`` and ``{"event": "epoch_end", "stats":
                PriorEpochStats}`` after every epoch.
            chunk_seconds: how often progress is reported (and so how long Ctrl-C may wait for Python).

        Raises:
            TypeError: ``epochs`` is not an int. ValueError: ``epochs`` < 0.
            KeyboardInterrupt: Ctrl-C; the running epoch stops before its next step and is dropped:
                the trainer (and :attr:`prior`) is at its last finished epoch.
            FloatingPointError: the loss became NaN or infinite (lower the learning rate); the trainer
                is at its last finished epoch.
        """
        epochs = int_arg(epochs, "epochs", minimum=0)
        chunk_seconds = float_arg(chunk_seconds, "chunk_seconds")
        if chunk_seconds <= 0:
            raise ValueError("chunk_seconds must be positive, got %r" % chunk_seconds)
        report = _PriorReporter(progress)
        val = self._val.handle if self._val is not None else 0
        with _DeferSigint() as sig:
            try:
                for _ in range(epochs):
                    sig.raise_if_pending()
                    _binding.call(_pb.PriorTrainerStart, self.handle, self._train.handle, val)
                    report.start(self.epochs_completed + 1)
                    while True:
                        st: Dict[str, Any] = _binding.call_json(
                            _pb.PriorTrainerWait, self.handle, chunk_seconds
                        )
                        if sig.pending:
                            self._stop()
                            sig.raise_if_pending()
                        if not st["running"]:
                            break
                        report.update(st)
                    if st["interrupted"] or st["finished"] is None:
                        raise KeyboardInterrupt
                    self._validated.append(self._val is not None)
                    report.end(PriorEpochStats.from_dict(st["finished"], self._val is not None))
            finally:
                self._stop()
                report.close()
        return self.history

    def _stop(self) -> None:
        """Cancel a running epoch and wait until the trainer has rolled back to its last epoch."""
        if self.closed or not _binding.call(_pb.PriorTrainerCancel, self.handle):
            return
        while _binding.call_json(_pb.PriorTrainerWait, self.handle, 1.0)["running"]:
            pass

    def save(self, path: PathLike) -> Path:
        """Write the last finished epoch as a prior checkpoint that :meth:`resume` (and ``brainvq prior
        train --resume``) continues exactly, and that :func:`load_prior` reads; returns ``path``."""
        _binding.call(_pb.PriorTrainerSave, self.handle, os.fspath(path))
        return Path(path)

    def __repr__(self) -> str:
        if self.closed:
            return "<PriorTrainer closed>"
        c = self.config
        return (
            "<PriorTrainer K=%d on %d×%d, %d layers of %d channels, %d levels, %d epochs done>"
            % (
                c["num_codes"],
                c["grid"],
                c["grid"],
                c["layers"],
                c["channels"],
                c["levels"],
                self.epochs_completed,
            )
        )


class _PriorReporter:
    """Progress display for :meth:`PriorTrainer.fit`: tqdm bars, plain lines, a callback or nothing."""

    def __init__(self, progress: Union[bool, Callable[[Dict[str, Any]], None]]) -> None:
        self._callback = progress if callable(progress) else None
        self._show = progress is True
        self._tqdm: Any = None
        self._bar: Any = None
        self._t0 = time.monotonic()
        if self._show:
            try:
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    from tqdm.auto import tqdm  # type: ignore[import-untyped, unused-ignore]

                self._tqdm = tqdm
            except ImportError:
                self._tqdm = None

    def start(self, epoch: int) -> None:
        self._t0 = time.monotonic()
        if self._tqdm is not None:
            self._bar = self._tqdm(
                total=None, desc="prior epoch %d" % epoch, unit="step", leave=True
            )

    def update(self, st: Dict[str, Any]) -> None:
        if self._callback is not None:
            self._callback(st)
        if self._bar is not None and st["steps"]:
            self._bar.total = st["steps"]
            self._bar.n = st["step"]
            self._bar.set_postfix(
                bits="%.3f" % float(st["bits_per_code"]),
                acc="%.3f" % float(st["accuracy"]),
                refresh=False,
            )
            self._bar.refresh()

    def end(self, stats: PriorEpochStats) -> None:
        if self._callback is not None:
            self._callback({"event": "epoch_end", "stats": stats})
        line = "prior epoch %d: train %.3f bits/code accuracy %.3f" % (
            stats.epoch,
            stats.train_bits_per_code,
            stats.train_accuracy,
        )
        if not math.isnan(stats.val_bits_per_code):
            line += " | val %.3f bits/code accuracy %.3f" % (
                stats.val_bits_per_code,
                stats.val_accuracy,
            )
        if self._bar is not None:
            self._bar.total = self._bar.n = stats.steps
            self._bar.set_postfix_str(line.split(": ", 1)[1], refresh=True)
            self._bar.close()
            self._bar = None
        elif self._show:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
