"""Throughput of brainvq.scale: slices per second with 1 and 2 Ray workers, and the overhead against the
Python API called directly in one process.

Run it with the Ray venv that tests/ray/run.sh makes (it holds the wheel, Ray and onnxruntime)::

    bash tests/ray/run.sh -k names         # once: builds build/ray-venv
    build/ray-venv/bin/python bench/ray_bench.py --slices 384 --size 128

What is timed, for each backend (onnx, wheel):

* ``direct``: one process, no Ray, one model thread: the same work per block as a pipeline worker
  (read the PNGs with brainvq's loader, encode, decode, SSIM/PSNR/MSE, write a Parquet part);
* ``ray 1`` / ``ray 2``: :func:`brainvq.scale.encode` with 1 and 2 workers (one CPU each) on a local Ray
  runtime started once beforehand (its start-up time is reported apart); each run starts its actors
  (model load) and writes into a fresh output folder.

slices/s = slices / wall seconds of the run; scaling = rate(ray 2) / rate(ray 1); overhead = 1 −
rate(ray 1) / rate(direct). A second table leaves out the actors' start-up (model load, imports): the
slices after the first finished block over the time after it. Prints Markdown tables and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--slices", type=int, default=384, help="PNG slices in the cohort (default 384)"
    )
    ap.add_argument("--size", type=int, default=128, help="image side (default 128)")
    ap.add_argument("--preset", default="seed", help="model preset (default seed)")
    ap.add_argument("--block-size", type=int, default=32, help="PNG files per block (default 32)")
    ap.add_argument(
        "--rounds", type=int, default=1, help="timed runs of each configuration (best kept)"
    )
    ap.add_argument("--backends", default="onnx,wheel")
    ap.add_argument(
        "--template",
        default=str(
            Path(__file__).resolve().parents[1] / "testdata" / "data" / "mni_icbm152_t1_3mm.nii.gz"
        ),
        help="T1 volume the stand-in cohort is made from",
    )
    args = ap.parse_args()

    # Ray's token auth with a token of this run's own, not one saved in ~/.ray (a shared machine).
    os.environ.setdefault("RAY_AUTH_MODE", "token")
    os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(16))
    import brainvq
    import ray
    from brainvq.scale import encode, encode_block
    from brainvq.scale_backends import find_model, make_backend
    from brainvq.scale_inputs import SliceOptions, list_blocks

    work = Path(tempfile.mkdtemp(prefix="brainvq-raybench-"))
    try:
        per_subject = 32
        subjects = max(1, args.slices // per_subject)
        root = brainvq.make_standin(
            work / "data",
            args.template,
            train_subjects=subjects,
            validate_subjects=1,
            test_subjects=1,
            slices=per_subject,
            size=args.size,
            seed=1,
        )
        train = brainvq.Dataset.from_oasis(root, "train")
        val = brainvq.Dataset.from_oasis(root, "validate")
        trainer = brainvq.Trainer(train, val, preset=args.preset, batch_size=8, steps_per_epoch=4)
        trainer.fit(1, progress=False)
        model_dir = work / "model"
        model_dir.mkdir()
        trainer.model.save(model_dir / "model.bvq")
        trainer.model.export_onnx(model_dir)
        cohort = [str(Path(root) / "keras_png_slices_train")]
        n = len(train)

        t = time.monotonic()
        ray.init(
            num_cpus=2,
            object_store_memory=200 * 1024 * 1024,
            include_dashboard=False,
            log_to_driver=False,
        )
        ray_start = time.monotonic() - t

        results = {
            "cpu": cpu_name(),
            "slices": n,
            "size": args.size,
            "preset": args.preset,
            "block_size": args.block_size,
            "ray_start_s": round(ray_start, 2),
            "runs": {},
        }
        steady = {}
        for backend in args.backends.split(","):
            files = find_model(str(model_dir), backend)
            slicing = SliceOptions(size=args.size)
            blocks, _ = list_blocks(cohort, args.block_size, slicing)

            def direct() -> float:
                out = work / "direct"
                shutil.rmtree(out, ignore_errors=True)
                for sub in ("slices", "errors"):
                    (out / sub).mkdir(parents=True)
                t0 = time.monotonic()
                b = make_backend(files, 1)
                for blk in blocks:
                    encode_block(b, blk, slicing, str(out))
                return time.monotonic() - t0

            def on_ray(workers: int) -> float:
                out = work / ("ray%d" % workers)
                shutil.rmtree(out, ignore_errors=True)
                stamps = []
                t0 = time.monotonic()
                s = encode(
                    str(model_dir),
                    cohort,
                    str(out),
                    backend=backend,
                    workers=workers,
                    block_size=args.block_size,
                    log=lambda line: stamps.append((time.monotonic(), line)),
                )
                wall = time.monotonic() - t0
                assert s.done == n, (s.done, n)
                # The first block's result marks the end of the actors' start-up (model load).
                first = next(t for t, line in stamps if line.startswith("block "))
                steady[(backend, workers)] = (first - t0, time.monotonic() - first)
                return wall

            runs = {"direct": direct, "ray 1": lambda: on_ray(1), "ray 2": lambda: on_ray(2)}
            on_ray(1)  # warm-up: worker processes' imports, file cache
            for name, fn in runs.items():
                best = min(fn() for _ in range(args.rounds))
                r = {"seconds": round(best, 2), "slices_per_s": round(n / best, 1)}
                if name != "direct":
                    first, rest = steady[(backend, int(name[-1]))]
                    r["until_first_block_s"] = round(first, 2)
                    r["after_first_block_s"] = round(rest, 2)
                results["runs"]["%s %s" % (backend, name)] = r
        ray.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(
        "CPU: %s; %d slices of %d×%d, preset %s, blocks of %d; Ray start-up %.1f s (not in the runs)"
        % (results["cpu"], n, args.size, args.size, args.preset, args.block_size, ray_start)
    )
    print()
    print(
        "| backend | direct (1 process) | Ray, 1 worker | Ray, 2 workers | scaling 2/1 | Ray overhead (1 worker) |"
    )
    print("|---|---|---|---|---|---|")
    for backend in args.backends.split(","):
        r = {
            k: results["runs"]["%s %s" % (backend, k)]["slices_per_s"]
            for k in ("direct", "ray 1", "ray 2")
        }
        results["runs"][backend + " scaling"] = round(r["ray 2"] / r["ray 1"], 2)
        results["runs"][backend + " overhead"] = round(1 - r["ray 1"] / r["direct"], 3)
        print(
            "| %s | %.1f slices/s | %.1f slices/s | %.1f slices/s | %.2f× | %.0f %% |"
            % (
                backend,
                r["direct"],
                r["ray 1"],
                r["ray 2"],
                r["ray 2"] / r["ray 1"],
                100 * (1 - r["ray 1"] / r["direct"]),
            )
        )
    print()
    print(
        "Without the actors' start-up (slices after the first finished block / the time after it):"
    )
    print()
    print("| backend | Ray, 1 worker | Ray, 2 workers | scaling 2/1 | start-up (1 / 2 workers) |")
    print("|---|---|---|---|---|")
    for backend in args.backends.split(","):
        rate, first = {}, {}
        for w in (1, 2):
            r = results["runs"]["%s ray %d" % (backend, w)]
            rate[w] = (n - args.block_size) / r["after_first_block_s"]
            first[w] = r["until_first_block_s"]
        results["runs"][backend + " steady scaling"] = round(rate[2] / rate[1], 2)
        print(
            "| %s | %.1f slices/s | %.1f slices/s | %.2f× | %.1f s / %.1f s |"
            % (backend, rate[1], rate[2], rate[2] / rate[1], first[1], first[2])
        )
    print()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
