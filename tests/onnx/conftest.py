"""Fixtures for the ONNX export tests.

The Go side writes, per preset, a checkpoint, the exported ONNX files, test images and the Go model's
outputs, and small priors with their prior.onnx, Go's logits and Go's samples
(``go run ./onnxexport/internal/fixtures``). ``run.sh`` makes them once and passes the folder in
``BRAINVQ_ONNX_FIXTURES``; without that variable the session makes its own in a temporary folder.
"""

import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
PRESETS = ["residual", "seed"]
PRIORS = ["prior_k3", "prior_k5", "prior_dilated"]


@pytest.fixture(scope="session")
def fixture_root(tmp_path_factory):
    given = os.environ.get("BRAINVQ_ONNX_FIXTURES")
    if given:
        root = pathlib.Path(given)
        missing = [p for p in PRESETS + PRIORS if not (root / p / "expected.json").is_file()]
        assert not missing, f"BRAINVQ_ONNX_FIXTURES={given} lacks fixtures for {missing}"
        return root
    root = tmp_path_factory.mktemp("onnx_fixtures")
    subprocess.run(
        ["go", "run", "./onnxexport/internal/fixtures", "-out", str(root)],
        cwd=REPO,
        check=True,
    )
    return root


class Fixture:
    """One preset's fixture folder: expected values, arrays and exported files."""

    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.expected = json.loads((folder / "expected.json").read_text())
        self.onnx = folder / "onnx"

    def array(self, name: str) -> np.ndarray:
        return np.load(self.folder / f"{name}.npy")

    def model_path(self, name: str) -> pathlib.Path:
        return self.onnx / name


@pytest.fixture(scope="session", params=PRESETS)
def fx(request, fixture_root):
    return Fixture(fixture_root / request.param)


class PriorFixture:
    """One prior's fixture folder: the config, prior.onnx, Go's logits and samples."""

    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.expected = json.loads((folder / "expected.json").read_text())
        self.config = self.expected["config"]
        self.model_path = folder / "onnx" / "prior.onnx"

    def array(self, name: str) -> np.ndarray:
        return np.load(self.folder / f"{name}.npy")


@pytest.fixture(scope="session", params=PRIORS)
def pfx(request, fixture_root):
    return PriorFixture(fixture_root / request.param)
