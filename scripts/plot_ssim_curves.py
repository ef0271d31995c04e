"""Plot validation SSIM per epoch and per minute of wall time for one or more training runs.

Reads each run's history.csv (written by ``brainvq train``) and writes one PNG with two panels: validation
SSIM against the epoch, and against the cumulative wall time of training (the ``seconds`` column, which
counts training and validation of each epoch). README's "Results" picture is made with it:

    python scripts/plot_ssim_curves.py --out docs/images/ssim_curves.png \\
        "new defaults=runs/r12/history.csv" "old defaults=runs/demo/history.csv"
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from typing import List, Tuple


def read_history(path: str) -> Tuple[List[int], List[float], List[float]]:
    """Epochs, validation SSIM and cumulative minutes from a history.csv."""
    epochs, ssim, minutes = [], [], []
    total = 0.0
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                total += float(row["seconds"])
                epochs.append(int(row["epoch"]))
                ssim.append(float(row["val_ssim"]))
            except (KeyError, ValueError) as e:
                raise SystemExit("%s: not a brainvq history.csv (%s)" % (path, e))
            minutes.append(total / 60)
    if not epochs:
        raise SystemExit("%s: no epochs" % path)
    return epochs, ssim, minutes


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="LABEL=PATH/history.csv")
    ap.add_argument("--out", required=True, help="PNG to write (atomically)")
    ap.add_argument("--title", default="validation SSIM")
    args = ap.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for spec in args.runs:
        label, sep, path = spec.partition("=")
        if not sep:
            raise SystemExit("%r: want LABEL=PATH" % spec)
        epochs, ssim, minutes = read_history(path)
        a.plot(epochs, ssim, marker="o", label=label)
        b.plot(minutes, ssim, marker="o", label=label)
    from matplotlib.ticker import MaxNLocator

    a.xaxis.set_major_locator(MaxNLocator(integer=True))
    a.set_xlabel("epoch")
    b.set_xlabel("minutes of wall time")
    a.set_ylabel("validation SSIM")
    for ax in (a, b):
        ax.grid(alpha=0.3)
    a.legend(loc="lower right")
    fig.suptitle(args.title)
    fig.tight_layout()
    d = os.path.dirname(os.path.abspath(args.out))
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=d)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, args.out)
    except BaseException:
        os.unlink(tmp)
        raise
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
