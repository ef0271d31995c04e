"""Fixtures for the wheel tests: they run against an installed brainvq, never the source tree."""

from __future__ import annotations

import os
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
    """The installed brainvq package; fails if it would come from the source tree."""
    assert not _under(Path.cwd(), REPO), (
        "run the wheel tests from outside the repository (tests/wheel/run.sh does), cwd=%s"
        % Path.cwd()
    )
    import brainvq as pkg

    assert not _under(Path(pkg.__file__), REPO), "brainvq imported from the source tree: %s" % (
        pkg.__file__
    )
    return pkg


def rss_bytes() -> int:
    """Current resident set size of this process, from /proc/self/status (VmRSS)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


os.environ.setdefault("PYTHONFAULTHANDLER", "1")
