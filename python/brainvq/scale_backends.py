"""The two ways :mod:`brainvq.scale` runs a trained model: the exported ONNX graph in onnxruntime, or the
brainvq wheel's Go model. Both take images ``[N, S, S]`` and give code indices and reconstructions.

A model travels to the workers as bytes (read once by the driver), so the workers of a multi-node
cluster need no shared copy of the model folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Tuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["ModelFiles", "Backend", "find_model", "make_backend", "image_size_of", "BACKENDS"]

#: The backend names: ``onnx`` runs ``vqvae.onnx`` in onnxruntime, ``wheel`` a ``.bvq`` checkpoint in Go.
BACKENDS = ("onnx", "wheel")


@dataclass(frozen=True)
class ModelFiles:
    """A model as the workers receive it: the backend, the file's bytes and its name, and a short
    sha256 of the bytes (written into every output row)."""

    backend: str
    name: str
    data: bytes
    digest: str


def find_model(model: str, backend: str = "auto") -> ModelFiles:
    """Find and read the model file a backend needs.

    Args:
        model: a folder (holding ``vqvae.onnx`` from ``brainvq export`` / ``Model.export_onnx`` and/or a
            ``.bvq`` checkpoint) or one of those files.
        backend: ``"onnx"``, ``"wheel"`` or ``"auto"`` (``onnx`` when ``vqvae.onnx`` is there, else
            ``wheel``).

    Raises:
        FileNotFoundError: the file the backend needs is not there (the message says which).
        ValueError: an unknown backend, or several ``.bvq`` files to choose from.
    """
    if backend not in BACKENDS + ("auto",):
        raise ValueError("backend must be onnx, wheel or auto, got %r" % backend)
    p = Path(model).expanduser()
    if p.is_file():
        kind = "onnx" if p.suffix == ".onnx" else "wheel"
        if backend not in ("auto", kind):
            raise ValueError(
                "--model %s is a %s file, but backend %s was asked for" % (p, kind, backend)
            )
        path = p
    elif p.is_dir():
        onnx = p / "vqvae.onnx"
        bvqs = sorted(p.glob("*.bvq"))
        if backend == "auto":
            backend = "onnx" if onnx.is_file() else "wheel"
        if backend == "onnx":
            if not onnx.is_file():
                raise FileNotFoundError(
                    "--model %s has no vqvae.onnx; write it with 'brainvq export --checkpoint C --out %s' "
                    "or Model.export_onnx" % (p, p)
                )
            path = onnx
        else:
            if not bvqs:
                raise FileNotFoundError(
                    "--model %s holds no .bvq checkpoint for the wheel backend" % p
                )
            if len(bvqs) > 1:
                raise ValueError(
                    "--model %s holds %d .bvq files (%s); pass the one to use"
                    % (p, len(bvqs), ", ".join(b.name for b in bvqs))
                )
            path = bvqs[0]
        kind = backend
    else:
        raise FileNotFoundError("--model %s: no such file or folder" % p)
    data = path.read_bytes()
    return ModelFiles(kind, path.name, data, hashlib.sha256(data).hexdigest()[:16])


class Backend(Protocol):
    """What :func:`make_backend` returns."""

    image_size: int

    def run(self, x: NDArray[Any]) -> Tuple[NDArray[Any], NDArray[Any]]:
        """Images ``[N, S, S]`` float32 in [0, 1] → (code indices ``[N, h, w]`` int32,
        reconstructions ``[N, S, S]`` float32)."""
        ...


class _WheelBackend:
    """The Go model of the brainvq wheel, on ``threads`` threads."""

    def __init__(self, files: ModelFiles, threads: int) -> None:
        import brainvq

        brainvq.set_threads(max(1, threads))
        fd, tmp = tempfile.mkstemp(suffix=".bvq", prefix="brainvq-scale-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(files.data)
            self.model = brainvq.load(tmp)
        finally:
            os.unlink(tmp)
        self.image_size: int = self.model.image_size

    def run(self, x: NDArray[Any]) -> Tuple[NDArray[Any], NDArray[Any]]:
        codes = self.model.encode(x)
        return codes.astype(np.int32), self.model.decode(codes)


class _OnnxBackend:
    """``vqvae.onnx`` in onnxruntime (CPU), on ``threads`` intra-op threads."""

    def __init__(self, files: ModelFiles, threads: int) -> None:
        import onnxruntime as ort  # type: ignore[import-not-found, import-untyped, unused-ignore]

        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, threads)
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(files.data, so, providers=["CPUExecutionProvider"])
        meta = self.sess.get_modelmeta().custom_metadata_map
        outs = [o.name for o in self.sess.get_outputs()]
        if "indices" not in outs:
            raise ValueError(
                "%s has no 'indices' output (exported with --no-indices-output); export it again "
                "without that flag" % files.name
            )
        self.image_size: int = int(meta["image_size"])

    def run(self, x: NDArray[Any]) -> Tuple[NDArray[Any], NDArray[Any]]:
        x = np.ascontiguousarray(x, dtype=np.float32)[:, None]
        recon, idx = self.sess.run(["reconstruction", "indices"], {"image": x})
        return idx.astype(np.int32), recon[:, 0]


def make_backend(files: ModelFiles, threads: int = 1) -> Backend:
    """A backend object with ``image_size`` and ``run(x [N,S,S] float32) -> (codes [N,h,w] int32,
    reconstructions [N,S,S] float32)``."""
    if files.backend == "onnx":
        return _OnnxBackend(files, threads)
    return _WheelBackend(files, threads)


def image_size_of(files: ModelFiles) -> int:
    """S of a model: loads it once in this process."""
    return make_backend(files, 1).image_size
