"""Execute brainvq's notebooks with nbclient and fail if a cell fails.

Usage: python run_notebooks.py NOTEBOOK_DIR WORK_DIR

Run by tests/notebooks/run.sh with the shared test venv's python (brainvq installed from the wheel) and
BRAINVQ_NOTEBOOK_SIZE=tiny. It first checks that every committed notebook is stripped (no outputs, no
execution counts), then runs them all in order in one work folder, as a user would (02 and 03 reuse the
model 01 saved), and then runs 02 and 03 again each in a fresh folder, where they make their own data and
train their own model. Executed copies are written to WORK_DIR/executed/ for inspection.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def check_stripped(path: Path) -> list[str]:
    """Problems that make a committed notebook not clean: outputs or execution counts."""
    nb = nbformat.read(path, as_version=4)
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append("%s: code cell %d has outputs" % (path.name, i))
        if cell.get("execution_count") is not None:
            problems.append("%s: code cell %d has an execution count" % (path.name, i))
    return problems


def execute(path: Path, workdir: Path, save_as: Path) -> bool:
    """Run every cell of the notebook at path with workdir as its current folder; True if all passed."""
    workdir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    start = time.monotonic()
    ok = True
    try:
        client.execute()
    except CellExecutionError as exc:
        ok = False
        print("FAILED %s (in %s):\n%s" % (path.name, workdir, exc), file=sys.stderr)
    save_as.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, save_as)
    print(
        "%s %s in %s (%.1f s)"
        % ("ok    " if ok else "FAILED", path.name, workdir, time.monotonic() - start),
        flush=True,
    )
    return ok


def main() -> int:
    nb_dir, work = Path(sys.argv[1]), Path(sys.argv[2])
    notebooks = sorted(nb_dir.glob("*.ipynb"))
    if len(notebooks) < 3:
        print(
            "expected at least three notebooks in %s, found %d" % (nb_dir, len(notebooks)),
            file=sys.stderr,
        )
        return 1
    problems = [p for nb in notebooks for p in check_stripped(nb)]
    for p in problems:
        print("not stripped: " + p, file=sys.stderr)
    results = []
    for nb in notebooks:
        results.append(execute(nb, work / "shared", work / "executed" / nb.name))
    for nb in notebooks[1:]:
        fresh = work / ("alone-" + nb.stem)
        results.append(execute(nb, fresh, work / "executed" / ("alone-" + nb.name)))
    passed, failed = sum(results), len(results) - sum(results) + len(problems)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
