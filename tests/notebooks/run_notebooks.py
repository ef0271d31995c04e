"""Execute brainvq's notebooks with nbclient and fail if a cell fails.

Usage: python run_notebooks.py NOTEBOOK_DIR WORK_DIR

Run by tests/notebooks/run.sh with the shared test venv's python (brainvq installed from the wheel) and
BRAINVQ_NOTEBOOK_SIZE=tiny. It first checks that every committed notebook is stripped (no outputs, no
execution counts), then runs them all in order in one work folder, as a user would (02 and 03 reuse the
model 01 saved), and then runs 02 and 03 again each in a fresh folder, where they make their own data and
train their own model. Executed copies are written to WORK_DIR/executed/ for inspection.

Last, it checks Jupyter's "interrupt kernel" during Trainer.fit: the kernel gets SIGINT while training, the
cell ends with KeyboardInterrupt after the running chunk, and the next cell finds the trainer and its
model usable with the epoch still open.
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


_FIT_CELL = """
import time
import numpy as np
import brainvq

rng = np.random.default_rng(0)
yy, xx = np.mgrid[:32, :32]
imgs = np.stack([np.exp(-((xx - c) ** 2 + (yy - 16) ** 2) / 30.0) for c in rng.uniform(8, 24, 64)])
trainer = brainvq.Trainer(imgs, preset="seed", num_codes=16, batch_size=8, steps_per_epoch=10**6)
print("training", flush=True)
t_fit = time.monotonic()
trainer.fit(1, progress=False, chunk_seconds=0.2)
"""

_AFTER_CELL = """
st = trainer.state()
assert st["running"] and st["step"] > 0 and len(trainer.history) == 0, st
assert np.isfinite(trainer.model.reconstruct(imgs[:2])).all()
assert trainer.steps(2)["step"] == st["step"] + 2
print("usable after interrupt at step", st["step"])
"""


def check_interrupt(workdir: Path) -> bool:
    """Interrupt a kernel during Trainer.fit and check it stops cleanly; True if it did."""
    from jupyter_client.manager import start_new_kernel

    workdir.mkdir(parents=True, exist_ok=True)
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(workdir))
    start = time.monotonic()
    try:
        msg_id = kc.execute(_FIT_CELL)
        # Wait until training has started, then interrupt the kernel as Jupyter's button does.
        while True:
            msg = kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream" and "training" in msg["content"]["text"]:
                break
            if msg["msg_type"] == "error":
                print("FAILED interrupt check: %s" % msg["content"]["evalue"], file=sys.stderr)
                return False
        time.sleep(1.5)
        sent = time.monotonic()
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=120)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=120)
        delay = time.monotonic() - sent
        content = reply["content"]
        if content["status"] != "error" or content.get("ename") != "KeyboardInterrupt":
            print("FAILED interrupt check: fit ended with %r" % (content,), file=sys.stderr)
            return False
        reply = kc.execute_interactive(_AFTER_CELL, timeout=120, output_hook=_print_stream)
        if reply["content"]["status"] != "ok":
            print("FAILED interrupt check: %s" % reply["content"], file=sys.stderr)
            return False
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    ok = delay < 10
    print(
        "%s kernel interrupt during fit: KeyboardInterrupt %.1f s after the interrupt (%.1f s)"
        % ("ok    " if ok else "FAILED", delay, time.monotonic() - start),
        flush=True,
    )
    return ok


def _print_stream(msg: dict) -> None:
    if msg["msg_type"] == "stream":
        print("  kernel: " + msg["content"]["text"].strip(), flush=True)


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
    results.append(check_interrupt(work / "interrupt"))
    passed, failed = sum(results), len(results) - sum(results) + len(problems)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
