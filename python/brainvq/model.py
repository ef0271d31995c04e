"""A trained VQ-VAE held in Go: encode, quantise, decode, reconstruct, evaluate, save, export.

Shapes (S: the image side, ``h = w = S/4`` the latent side, K codes of dimension D; see
``docs/model.md``):

* images ``[N, S, S]``, ``[N, 1, S, S]`` or one ``[S, S]`` — float in [0, 1], uint8 (÷255) or bool
  (see :mod:`brainvq.images`);
* encoder output ``z_e`` ``[N, D, h, w]`` float32;
* code indices ``[N, h, w]`` int32 in [0, K);
* codebook ``[K, D]`` float32, row k is code k.

Models pickle by value (their checkpoint bytes, :meth:`Model.to_bytes`), so they pass to
``multiprocessing`` workers (``spawn`` start method) and ``concurrent.futures`` process pools.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from brainvq import _binding
from brainvq._args import int_arg
from brainvq.arrays import (
    bytes_to_float32,
    bytes_to_int32,
    float32_to_bytes,
    int32_to_bytes,
)
from brainvq.data import Dataset
from brainvq.handles import Handle
from brainvq.images import ImageArray, ImageBatch, as_images

__all__ = ["Model", "Evaluation", "load"]

_pb = _binding._pb

PathLike = Union[str, "os.PathLike[str]"]

# Images per Go call: bounds the bytes held at once and lets Ctrl-C in between.
_BATCH = 32


@dataclass(frozen=True)
class Evaluation:
    """How well a model reconstructs a set of images (:meth:`Model.evaluate`).

    Attributes:
        recon_loss: mean((v − u)²)/σ², the training reconstruction loss.
        vq_loss: β·commitment (+ codebook) loss, as in training.
        mse: mean squared error of x̂ against x in [0, 1].
        psnr: mean PSNR in dB over the images with a finite PSNR (inf if all are exact).
        ssim: mean SSIM (Wang et al. 2004; equal to scikit-image's ``structural_similarity`` with
            ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1``).
        perplexity: exp(entropy) of the code histogram over all images.
        head_perplexity: the same over the latent positions whose image patch is not all black
            (where the head is; the background, one code in a good model, bounds ``perplexity``).
        codes_used: fraction of the K codes that occur.
        files: the image files, in order (names like ``array[3]`` for in-memory images).
        image_ssim, image_psnr, image_mse: per-image scores ``[N]`` float64.
    """

    recon_loss: float
    vq_loss: float
    mse: float
    psnr: float
    ssim: float
    perplexity: float
    head_perplexity: float
    codes_used: float
    files: List[str] = field(repr=False)
    image_ssim: npt.NDArray[np.float64] = field(repr=False)
    image_psnr: npt.NDArray[np.float64] = field(repr=False)
    image_mse: npt.NDArray[np.float64] = field(repr=False)


class Model(Handle):
    """A VQ-VAE (configuration, weights, preprocessing constants) held in Go.

    Get one from :func:`load`, :meth:`Model.load`, :meth:`Model.from_bytes` or
    :attr:`brainvq.Trainer.model`. Its weights never change; inference methods may be called from
    several threads at once. A model pickles as its checkpoint bytes.
    """

    def __init__(self, handle: int) -> None:
        """Wrap a Go model handle (use :func:`load` or :attr:`Trainer.model` instead)."""
        super().__init__(handle)
        self._info: Dict[str, Any] = _binding.call_json(_pb.ModelInfo, handle)

    # -- construction and files -------------------------------------------------------------------

    @classmethod
    def load(cls, path: PathLike) -> "Model":
        """Read a checkpoint (``.bvq``) written by ``brainvq train``, :meth:`Trainer.save` or
        :meth:`save`.

        Raises:
            FileNotFoundError: no file at ``path``. IsADirectoryError: ``path`` is a folder.
            ValueError: a truncated or corrupt file, or not a brainvq checkpoint.
        """
        return cls(_binding.call(_pb.LoadModel, os.fspath(path)))

    @classmethod
    def from_bytes(cls, data: bytes) -> "Model":
        """Read a model from checkpoint bytes (:meth:`to_bytes`, or a ``.bvq`` file's content).

        Raises:
            TypeError: ``data`` is not bytes. ValueError: not a complete brainvq checkpoint.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("data must be bytes, got %s" % type(data).__name__)
        return cls(_binding.call_bytes(_pb.ModelFromBytes, bytes(data)))

    def to_bytes(self) -> bytes:
        """The model's checkpoint, byte for byte what :meth:`save` writes."""
        return bytes(_binding.call_bytes(_pb.ModelBytes, self.handle))

    def __reduce__(self) -> Tuple[Callable[[bytes], "Model"], Tuple[bytes]]:
        return (_model_from_bytes, (self.to_bytes(),))

    def save(self, path: PathLike) -> Path:
        """Write the model as a checkpoint file, atomically; returns ``path``.

        The file is read by :func:`load` and by the ``brainvq`` command (``eval``, ``export``,
        ``reconstruct``). A model loaded from a trainer checkpoint keeps its training state; a
        :attr:`Trainer.model` snapshot has none (save the trainer to resume training).

        Raises:
            FileNotFoundError: the folder of ``path`` does not exist. PermissionError: it is not
                writable.
        """
        _binding.call(_pb.ModelSave, self.handle, os.fspath(path))
        return Path(path)

    def export_onnx(self, folder: PathLike, indices_output: bool = True) -> List[Path]:
        """Export as ONNX (opset 17): ``encoder.onnx``, ``quantizer.onnx``, ``decoder.onnx``,
        ``vqvae.onnx`` and ``codebook.npy`` in ``folder`` (created if missing).

        The graphs take raw pixels ``[N, 1, S, S]`` float32 in [0, 1] (the mean is subtracted inside)
        and carry the model's settings as metadata (see ``docs/onnx.md``).

        Args:
            folder: output folder.
            indices_output: give ``vqvae.onnx`` its second output ``indices`` ``[N, h, w]`` int64.

        Returns:
            The five paths written.
        """
        paths = _binding.call_json(
            _pb.ModelExportONNX, self.handle, os.fspath(folder), not indices_output
        )
        return [Path(p) for p in paths]

    # -- description --------------------------------------------------------------------------------

    @property
    def config(self) -> Dict[str, Any]:
        """The model configuration (``preset``, ``image_size``, ``num_codes``, ``code_dim``, ``hidden``,
        ``res_hidden``, ``num_res``, ``beta``, ``ema``, ...), as a new dict."""
        return dict(self._info["config"])

    @property
    def preset(self) -> str:
        """``"residual"`` or ``"seed"``."""
        return str(self._info["config"]["preset"])

    @property
    def image_size(self) -> int:
        """S: the model takes S×S images."""
        return int(self._info["config"]["image_size"])

    @property
    def latent_size(self) -> int:
        """h = w = S/4: the side of the grid of codes."""
        return self.image_size // 4

    @property
    def num_codes(self) -> int:
        """K: codebook size."""
        return int(self._info["config"]["num_codes"])

    @property
    def code_dim(self) -> int:
        """D: dimension of each code."""
        return int(self._info["config"]["code_dim"])

    @property
    def preprocess(self) -> Dict[str, float]:
        """``{"mean": μ, "variance": σ²}``: the training split's pixel mean (subtracted before the
        encoder, added back after the decoder) and variance (scales the reconstruction loss)."""
        p = self._info["preprocess"]
        return {"mean": float(p["mean"]), "variance": float(p["variance"])}

    @property
    def epoch(self) -> int:
        """Training epochs completed when this model was saved or snapshotted."""
        return int(self._info["epoch"])

    @property
    def step(self) -> int:
        """Optimiser steps taken when this model was saved or snapshotted."""
        return int(self._info["step"])

    @property
    def num_params(self) -> int:
        """Number of float32 parameters (codebook included)."""
        return int(self._info["num_params"])

    @property
    def test_ssim(self) -> Optional[float]:
        """The recorded mean test SSIM (saved with the model and written into ONNX metadata), or None.
        Assign a float to record one (e.g. ``model.evaluate(test).ssim``), None to clear it."""
        v = self._info["test_ssim"]
        return None if v is None else float(v)

    @test_ssim.setter
    def test_ssim(self, value: Optional[float]) -> None:
        v = math.nan if value is None else float(value)
        _binding.call(_pb.ModelSetTestSSIM, self.handle, v)
        self._info = _binding.call_json(_pb.ModelInfo, self.handle)

    @property
    def codebook(self) -> npt.NDArray[np.float32]:
        """A copy of the codebook ``[K, D]`` float32; row k is code k."""
        raw = _binding.call_bytes(_pb.ModelCodebook, self.handle)
        return bytes_to_float32(raw, (self.num_codes, self.code_dim), name="codebook")

    # -- inference ----------------------------------------------------------------------------------

    def _images(self, x: ImageArray, name: str = "images") -> ImageBatch:
        s = self.image_size
        return as_images(x, name, size=(s, s))

    def _run_images(
        self,
        fn: Any,
        pixels: npt.NDArray[np.float32],
        out_shape: Tuple[int, ...],
        out: npt.NDArray[Any],
        decode: Callable[[bytes, Tuple[int, ...]], npt.NDArray[Any]],
    ) -> None:
        """Run ``fn`` on ``pixels`` [N,S,S] in batches into ``out`` [N, *out_shape]; ``decode(raw,
        shape)`` turns one batch's bytes into an array of that shape."""
        n = pixels.shape[0]
        for lo in range(0, n, _BATCH):
            k = min(_BATCH, n - lo)
            data, _ = float32_to_bytes(pixels[lo : lo + k])
            out[lo : lo + k] = decode(
                _binding.call_bytes(fn, self.handle, data, k), (k,) + out_shape
            )

    def reconstruct(self, x: ImageArray) -> npt.NDArray[np.float32]:
        """Encode, quantise and decode images: x̂ = clip(decoder(E[argmin]) + μ, 0, 1).

        Args:
            x: ``[N, S, S]``, ``[N, 1, S, S]`` or ``[S, S]`` images (see :mod:`brainvq.images`).

        Returns:
            Reconstructions as float32 in [0, 1], in the layout of ``x``.
        """
        b = self._images(x)
        s = self.image_size
        out = np.empty((b.n, s, s), dtype=np.float32)
        self._run_images(_pb.ModelReconstruct, b.pixels, (s, s), out, _f32)
        return b.restore(out)

    def encode(self, x: ImageArray) -> npt.NDArray[np.int32]:
        """Code indices of images: the nearest code (ties to the lowest index) at each latent position.

        Args:
            x: ``[N, S, S]``, ``[N, 1, S, S]`` or ``[S, S]`` images.

        Returns:
            int32 indices in [0, K): ``[N, h, w]`` (``[h, w]`` for one image).
        """
        b = self._images(x)
        h = self.latent_size
        out = np.empty((b.n, h, h), dtype=np.int32)
        self._run_images(_pb.ModelEncodeIndices, b.pixels, (h, h), out, _i32)
        return out[0] if b.layout == "HW" else out

    def encoder_output(self, x: ImageArray) -> npt.NDArray[np.float32]:
        """The encoder's continuous output z_e (before quantisation).

        Args:
            x: ``[N, S, S]``, ``[N, 1, S, S]`` or ``[S, S]`` images.

        Returns:
            float32 ``[N, D, h, w]`` (``[D, h, w]`` for one image).
        """
        b = self._images(x)
        h = self.latent_size
        out = np.empty((b.n, self.code_dim, h, h), dtype=np.float32)
        self._run_images(_pb.ModelEncode, b.pixels, (self.code_dim, h, h), out, _f32)
        return out[0] if b.layout == "HW" else out

    def quantize(self, z_e: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.int32]:
        """Nearest-code indices of encoder outputs.

        Args:
            z_e: float ``[N, D, h, w]`` or ``[D, h, w]``.

        Returns:
            int32 ``[N, h, w]`` (``[h, w]`` for a single ``[D, h, w]``).
        """
        z = np.asarray(z_e)
        single = z.ndim == 3
        if single:
            z = z[None]
        h, d = self.latent_size, self.code_dim
        data, shape = float32_to_bytes(z, (None, d, h, h), name="z_e")
        n = shape[0]
        if n == 0:
            raise ValueError("z_e: the batch is empty")
        raw = _binding.call_bytes(_pb.ModelQuantize, self.handle, data, n)
        out = bytes_to_int32(raw, (n, h, h), name="indices")
        return out[0] if single else out

    def decode(self, indices: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.float32]:
        """Decode a grid of code indices into images.

        Args:
            indices: integers in [0, K), ``[N, h, w]`` or one ``[h, w]`` grid.

        Returns:
            float32 images in [0, 1]: ``[N, S, S]`` (``[S, S]`` for one grid).

        Raises:
            TypeError: a non-integer array. ValueError: an index outside [0, K).
        """
        idx = np.asarray(indices)
        single = idx.ndim == 2
        if single:
            idx = idx[None]
        h, s = self.latent_size, self.image_size
        data, shape = int32_to_bytes(idx, (None, h, h), name="indices")
        n = shape[0]
        if n == 0:
            raise ValueError("indices: the batch is empty")
        out = np.empty((n, s, s), dtype=np.float32)
        row = 4 * h * h
        for lo in range(0, n, _BATCH):
            k = min(_BATCH, n - lo)
            raw = _binding.call_bytes(
                _pb.ModelDecode, self.handle, data[lo * row : (lo + k) * row], k
            )
            out[lo : lo + k] = bytes_to_float32(raw, (k, 1, s, s), name="images")[:, 0]
        return out[0] if single else out

    def decode_code(self, k: int) -> npt.NDArray[np.float32]:
        """The image ``[S, S]`` that a grid filled with code ``k`` alone decodes to."""
        h = self.latent_size
        return self.decode(np.full((h, h), int_arg(k, "k"), dtype=np.int32))

    def code_usage(self, x: Union[ImageArray, Dataset]) -> npt.NDArray[np.int64]:
        """How often each code is chosen over a set of images.

        Args:
            x: a :class:`Dataset` or images ``[N, S, S]`` / ``[N, 1, S, S]`` / ``[S, S]``.

        Returns:
            int64 counts ``[K]`` (they sum to N·h·w).
        """
        counts = np.zeros(self.num_codes, dtype=np.int64)
        if isinstance(x, Dataset):
            for lo in range(0, len(x), _BATCH):
                idx = self.encode(x[lo : lo + _BATCH])
                counts += np.bincount(idx.ravel(), minlength=self.num_codes)
        else:
            idx = self.encode(x)
            counts += np.bincount(idx.ravel(), minlength=self.num_codes)
        return counts

    def evaluate(self, x: Union[Dataset, ImageArray]) -> Evaluation:
        """Reconstruct a set of images and measure the reconstructions (as ``brainvq eval`` does).

        Args:
            x: a :class:`Dataset` (e.g. the test split), or images ``[N, S, S]`` / ``[N, 1, S, S]``.

        Returns:
            An :class:`Evaluation`.
        """
        owned = None
        if isinstance(x, Dataset):
            ds = x
        else:
            owned = ds = Dataset.from_array(self._images(x).pixels, name="array")
        try:
            ev: Any = _binding.call_json(_pb.ModelEvaluate, self.handle, ds.handle)
        finally:
            if owned is not None:
                owned.close()
        return Evaluation(
            recon_loss=float(ev["recon_loss"]),
            vq_loss=float(ev["vq_loss"]),
            mse=float(ev["mse"]),
            psnr=float(ev["psnr"]),
            ssim=float(ev["ssim"]),
            perplexity=float(ev["perplexity"]),
            head_perplexity=float(ev["head_perplexity"]),
            codes_used=float(ev["codes_used"]),
            files=list(ev["files"]),
            image_ssim=np.array([float(v) for v in ev["image_ssim"]], dtype=np.float64),
            image_psnr=np.array([float(v) for v in ev["image_psnr"]], dtype=np.float64),
            image_mse=np.array([float(v) for v in ev["image_mse"]], dtype=np.float64),
        )

    def __repr__(self) -> str:
        if self.closed:
            return "<Model closed>"
        return "<Model %s %d×%d, K=%d, D=%d, epoch %d>" % (
            self.preset,
            self.image_size,
            self.image_size,
            self.num_codes,
            self.code_dim,
            self.epoch,
        )


def _f32(raw: bytes, shape: Tuple[int, ...]) -> npt.NDArray[np.float32]:
    return bytes_to_float32(raw, shape, name="result")


def _i32(raw: bytes, shape: Tuple[int, ...]) -> npt.NDArray[np.int32]:
    return bytes_to_int32(raw, shape, name="indices")


def _model_from_bytes(data: bytes) -> Model:
    """Unpickle a :class:`Model` (see :meth:`Model.__reduce__`)."""
    return Model.from_bytes(data)


def load(path: PathLike) -> Model:
    """Read a checkpoint file as a :class:`Model` (same as :meth:`Model.load`)."""
    return Model.load(path)
