"""Fixtures for the wheel tests: they run against an installed brainvq, never the source tree."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import pytest

#: The repository root (tests/wheel/conftest.py → ../..).
REPO = Path(__file__).resolve().parents[2]


def _under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


@pytest.fixture(scope="session")
def repo() -> Path:
    """The source checkout the wheel was built from."""
    return REPO


@pytest.fixture(scope="session")
def brainvq():
    """The installed brainvq package; fails if it would come from the source tree.

    The test venv may live inside the checkout (build/wheel-venv), so what is checked is that the
    package is not the source folder python/brainvq and that it sits in this interpreter's
    site-packages.
    """
    assert not _under(Path.cwd(), REPO), (
        "run the wheel tests from outside the repository (tests/wheel/run.sh does), cwd=%s"
        % Path.cwd()
    )
    import brainvq as pkg

    pkg_file = Path(pkg.__file__)
    assert not _under(pkg_file, REPO / "python"), "brainvq imported from the source tree: %s" % (
        pkg_file
    )
    site = Path(sysconfig.get_paths()["purelib"])
    assert _under(pkg_file, site), "brainvq at %s, not in site-packages %s" % (pkg_file, site)
    return pkg


@pytest.fixture(scope="session")
def template(repo) -> Path:
    """A small T1 volume for stand-in datasets: the MNI template at 3 mm (a test fixture)."""
    p = repo / "testdata" / "data" / "mni_icbm152_t1_3mm.nii.gz"
    assert p.is_file(), p
    return p


@pytest.fixture(scope="session")
def standin(brainvq, template, tmp_path_factory) -> Path:
    """A tiny stand-in dataset of 32×32 slices: 32 train, 8 validate, 8 test images."""
    out = tmp_path_factory.mktemp("standin")
    return brainvq.make_standin(
        out,
        template,
        train_subjects=4,
        validate_subjects=1,
        test_subjects=1,
        slices=8,
        size=32,
        seed=5,
    )


@pytest.fixture(scope="session")
def splits(brainvq, standin):
    """The stand-in dataset's train, validate and test splits as Datasets."""
    return tuple(brainvq.Dataset.from_oasis(standin, s) for s in ("train", "validate", "test"))


@pytest.fixture(scope="session")
def trained(brainvq, splits):
    """A tiny seed-preset trainer after 3 epochs of 8 steps, and its model."""
    train, val, _ = splits
    trainer = brainvq.Trainer(
        train,
        val,
        preset="seed",
        num_codes=32,
        batch_size=4,
        learning_rate=2e-3,
        steps_per_epoch=8,
        seed=3,
        lr_schedule="constant",  # 24 steps: the default warm-up and decay are sized for real runs
        warmup_steps=0,
    )
    trainer.fit(3, progress=False)
    return trainer, trainer.model


def rss_bytes() -> int:
    """Current resident set size of this process, from /proc/self/status (VmRSS)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


os.environ.setdefault("PYTHONFAULTHANDLER", "1")
