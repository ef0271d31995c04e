"""Fixtures for the Ray pipeline tests: a tiny cohort, a tiny trained model, the cluster's address.

tests/ray/run.sh starts the cluster (``ray start --head --num-cpus 2``) and names it in
BRAINVQ_RAY_ADDRESS; the tests run against the installed wheel, never the source tree.
"""

from __future__ import annotations

import gzip
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

REPO = Path(os.environ.get("BRAINVQ_REPO", Path(__file__).resolve().parents[2]))


def write_png(path: Path, pixels: np.ndarray) -> None:
    """A minimal 8-bit grey PNG writer (so odd-sized test images need no imaging library)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    h, w = pixels.shape
    raw = b"".join(b"\x00" + pixels[r].astype(np.uint8).tobytes() for r in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="session")
def address() -> str:
    addr = os.environ.get("BRAINVQ_RAY_ADDRESS")
    if not addr:
        pytest.fail("BRAINVQ_RAY_ADDRESS is not set: run these tests with tests/ray/run.sh")
    return addr


@pytest.fixture(scope="session")
def brainvq():
    import brainvq as pkg

    assert (
        not Path(pkg.__file__).resolve().is_relative_to((REPO / "python").resolve())
    ), pkg.__file__
    return pkg


@pytest.fixture(scope="session")
def template() -> Path:
    p = REPO / "testdata" / "data" / "mni_icbm152_t1_3mm.nii.gz"
    assert p.is_file(), p
    return p


@pytest.fixture(scope="session")
def cohort(brainvq, template, tmp_path_factory) -> dict:
    """A cohort folder: the stand-in dataset (4 + 1 + 1 subjects × 6 slices of 32×32), one NIfTI volume
    in a BIDS folder, and a ``messy`` folder with a truncated PNG, an odd-sized PNG and a corrupt
    ``.nii.gz``."""
    root = tmp_path_factory.mktemp("cohort")
    data = brainvq.make_standin(
        root / "standin",
        template,
        train_subjects=4,
        validate_subjects=1,
        test_subjects=1,
        slices=6,
        size=32,
        seed=5,
    )
    anat = root / "sub-01" / "anat"
    anat.mkdir(parents=True)
    nifti = anat / "sub-01_T1w.nii.gz"
    shutil.copyfile(template, nifti)
    messy = root / "messy"
    messy.mkdir()
    good = sorted((Path(data) / "keras_png_slices_test").glob("*.png"))[0].read_bytes()
    (messy / "case_900_slice_0.nii.png").write_bytes(good[: len(good) // 2])  # truncated
    write_png(messy / "case_901_slice_0.nii.png", np.full((40, 40), 100, np.uint8))  # odd size
    (messy / "broken.nii.gz").write_bytes(gzip.compress(b"not a nifti header" * 10))
    return {
        "root": root,
        "data": Path(data),
        "splits": [Path(data) / ("keras_png_slices_" + s) for s in ("train", "validate", "test")],
        "nifti": nifti,
        "bad": {
            str(messy / "case_900_slice_0.nii.png"): "truncated",
            str(messy / "case_901_slice_0.nii.png"): "40×40",
            str(messy / "broken.nii.gz"): "",
        },
    }


@pytest.fixture(scope="session")
def model_dir(brainvq, cohort, tmp_path_factory) -> Path:
    """A tiny seed-preset model (K=32) trained for 2 short epochs, saved as model.bvq and exported as
    ONNX in one folder."""
    train = brainvq.Dataset.from_oasis(cohort["data"], "train")
    val = brainvq.Dataset.from_oasis(cohort["data"], "validate")
    trainer = brainvq.Trainer(
        train,
        val,
        preset="seed",
        num_codes=32,
        batch_size=4,
        learning_rate=2e-3,
        steps_per_epoch=6,
        seed=3,
    )
    trainer.fit(2, progress=False)
    out = tmp_path_factory.mktemp("model")
    model = trainer.model
    model.save(out / "model.bvq")
    model.export_onnx(out)
    return out
