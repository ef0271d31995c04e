"""Draw generated slices beside real ones: one row per slice level, a real training slice of that level
first, then the samples ``brainvq sample`` wrote for it.

README's generation picture is made with it:

    for L in 5 15 25; do
      bin/brainvq sample --prior runs/prior/prior.bvqp --checkpoint runs/residual/checkpoint.bvq \\
          --level $L --n 8 --out runs/samples/level$L
    done
    python scripts/plot_prior_levels.py --data data --out docs/images/prior_samples_levels.png \\
        5=runs/samples/level5 15=runs/samples/level15 25=runs/samples/level25

The real slice of a level is the first training file (sorted by name) whose name carries ``slice_<level>``.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
import tempfile
from typing import List, Optional, Tuple

import numpy as np

SPLIT = os.path.join("keras_png_slices_data", "keras_png_slices_train")


def real_slice(data: str, level: int) -> Optional[str]:
    """The first training PNG (by name) of ``level``, or None."""
    root = data if os.path.isdir(os.path.join(data, SPLIT)) else os.path.dirname(data.rstrip("/"))
    pattern = re.compile(r"slice_%d\b|slice_%d\." % (level, level))
    for f in sorted(glob.glob(os.path.join(root, SPLIT, "*.png"))):
        if pattern.search(os.path.basename(f)):
            return f
    return None


def parse_rows(specs: List[str]) -> List[Tuple[int, str]]:
    rows = []
    for s in specs:
        level, sep, folder = s.partition("=")
        if not sep or not level.strip().lstrip("-").isdigit():
            raise SystemExit(
                "%r: want LEVEL=FOLDER (a folder `brainvq sample --level LEVEL` wrote)" % s
            )
        if not glob.glob(os.path.join(folder, "sample_*.png")):
            raise SystemExit(
                "%s: no sample_*.png (is it a `brainvq sample --out` folder?)" % folder
            )
        rows.append((int(level), folder))
    return rows


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--data", required=True, help="OASIS-layout dataset (for a real slice per level)"
    )
    ap.add_argument("--out", required=True, help="PNG to write (atomically)")
    ap.add_argument("--n", type=int, default=8, help="samples per row (default 8)")
    ap.add_argument("rows", nargs="+", metavar="LEVEL=FOLDER")
    a = ap.parse_args(argv)
    rows = parse_rows(a.rows)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = a.n + 1
    fig, axes = plt.subplots(
        len(rows), cols, figsize=(1.45 * cols, 1.55 * len(rows)), squeeze=False
    )
    for r, (level, folder) in enumerate(rows):
        files = sorted(glob.glob(os.path.join(folder, "sample_*.png")))[: a.n]
        real = real_slice(a.data, level)
        panels = [real] + files
        for c in range(cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
            if c >= len(panels) or panels[c] is None:
                continue
            img = plt.imread(panels[c])
            if img.ndim == 3:
                img = img[..., 0]
            ax.imshow(np.asarray(img), cmap="gray", vmin=0, vmax=1)
            if c == 0:
                ax.set_ylabel("level %d" % level, fontsize=8)
            if r == 0:
                ax.set_title("real slice" if c == 0 else "sample %d" % (c - 1), fontsize=7)
    fig.tight_layout(pad=0.3)
    out_dir = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=out_dir)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a picture is for sharing
        os.replace(tmp, a.out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print("wrote %s (%d levels × %d samples)" % (a.out, len(rows), a.n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
