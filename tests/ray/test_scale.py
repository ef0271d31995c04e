"""brainvq.scale on a running Ray cluster: rows equal the single-process Python API, errors are recorded,
a job resumes, a killed worker loses and duplicates nothing, and the command runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest


def read_slices(out: Path):
    import pyarrow.parquet as pq

    t = pq.read_table(out / "slices")
    rows = {}
    codes = t["codes"].combine_chunks().to_numpy_ndarray()
    recon = None
    if "reconstruction" in t.column_names:
        recon = t["reconstruction"].combine_chunks().to_numpy_ndarray()
    for i, r in enumerate(
        t.drop_columns([c for c in ("codes", "reconstruction") if c in t.column_names]).to_pylist()
    ):
        key = (os.path.realpath(r["source"]), r["slice"])
        assert key not in rows, "row %s written twice" % (key,)
        r["codes"] = codes[i]
        r["reconstruction"] = None if recon is None else recon[i]
        rows[key] = r
    return rows


@pytest.fixture(scope="session")
def reference(brainvq, cohort, model_dir):
    """Every good slice through the single-process Python API: {(source, slice): x, codes, recon,
    ssim, psnr, mse, subject, volume}, with the wheel's model and with vqvae.onnx in onnxruntime."""
    import onnxruntime as ort
    from brainvq.scale_inputs import SliceOptions, volume_slices

    model = brainvq.load(model_dir / "model.bvq")
    sess = ort.InferenceSession(str(model_dir / "vqvae.onnx"), providers=["CPUExecutionProvider"])
    keys, xs, meta = [], [], []
    for split in cohort["splits"]:
        ds = brainvq.Dataset.from_folder(split)
        for f in ds.files:
            name = Path(f).name
            keys.append((os.path.realpath(f), int(name.split("_slice_")[1].split(".")[0])))
            meta.append((name.split("_slice_")[0],) * 2)
        xs.append(ds.images)
    vol, planes = volume_slices(str(cohort["nifti"]), SliceOptions(size=model.image_size))
    keys += [(os.path.realpath(cohort["nifti"]), z) for z in planes]
    meta += [("sub-01", "sub-01_T1w")] * len(planes)
    xs.append(brainvq.images.as_images(vol).pixels)
    x = np.concatenate(xs)
    wheel_codes = model.encode(x)
    wheel_recon = model.reconstruct(x)
    onnx_recon, onnx_idx = sess.run(["reconstruction", "indices"], {"image": x[:, None]})
    onnx_recon = onnx_recon[:, 0]
    ref = {}
    for backend, codes, recon in (
        ("wheel", wheel_codes, wheel_recon),
        ("onnx", onnx_idx.astype(np.int32), onnx_recon),
    ):
        ssim, psnr, mse = brainvq.ssim(x, recon), brainvq.psnr(x, recon), brainvq.mse(x, recon)
        ref[backend] = {
            k: dict(
                codes=codes[i],
                recon=recon[i],
                ssim=ssim[i],
                psnr=psnr[i],
                mse=mse[i],
                subject=meta[i][0],
                volume=meta[i][1],
            )
            for i, k in enumerate(keys)
        }
    assert len(planes) > 10 and len(keys) == 36 + len(planes)
    return ref


def check_rows(rows, ref, recon=False):
    assert set(rows) == set(ref), "missing %s, extra %s" % (
        set(ref) - set(rows),
        set(rows) - set(ref),
    )
    worst = 0.0
    for k, want in ref.items():
        got = rows[k]
        np.testing.assert_array_equal(got["codes"], want["codes"], err_msg=str(k))
        worst = max(worst, abs(got["ssim"] - want["ssim"]))
        assert got["psnr"] == pytest.approx(want["psnr"], rel=1e-12), k
        assert got["mse"] == pytest.approx(want["mse"], rel=1e-12), k
        assert (got["subject"], got["volume"]) == (want["subject"], want["volume"]), k
        if recon:
            np.testing.assert_allclose(got["reconstruction"], want["recon"], rtol=0, atol=1e-6)
    assert worst <= 1e-6, "SSIM differs by %g" % worst


@pytest.fixture(scope="session")
def wheel_run(address, cohort, model_dir, tmp_path_factory):
    from brainvq.scale import encode

    out = tmp_path_factory.mktemp("runs") / "wheel.parquet"
    s = encode(
        str(model_dir),
        [str(cohort["root"])],
        str(out),
        backend="wheel",
        address=address,
        workers=2,
        block_size=8,
        reconstructions=True,
    )
    return out, s


def test_wheel_backend_rows_equal_python_api(wheel_run, reference):
    out, s = wheel_run
    rows = read_slices(out)
    check_rows(rows, reference["wheel"], recon=True)
    assert (s.done, s.skipped, s.failed) == (len(reference["wheel"]), 0, 3)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["done"] == s.done and summary["failed"] == 3


def test_errors_table_and_subjects(wheel_run, cohort, reference):
    import pyarrow.parquet as pq

    out, s = wheel_run
    errors = {r["source"]: r["reason"] for r in pq.read_table(out / "errors").to_pylist()}
    assert set(errors) == set(cohort["bad"])
    for path, hint in cohort["bad"].items():
        assert hint in errors[path], errors[path]
    subjects = {r["subject"]: r for r in pq.read_table(out / "subjects.parquet").to_pylist()}
    want = {}
    for v in reference["wheel"].values():
        want.setdefault(v["subject"], []).append(v["ssim"])
    for subj, ssims in want.items():
        assert subjects[subj]["slices"] == len(ssims)
        assert subjects[subj]["ssim_mean"] == pytest.approx(np.mean(ssims), abs=1e-12)
        assert subjects[subj]["ssim_min"] == pytest.approx(min(ssims), abs=0)
    assert subjects["sub-01"]["volumes"] == 1
    assert subjects["case_900"]["errors"] == 1 and subjects["case_900"]["slices"] == 0
    assert s.subjects == len(subjects)


def test_onnx_backend_rows_equal_onnxruntime(address, cohort, model_dir, reference, tmp_path):
    from brainvq.scale import encode

    out = tmp_path / "onnx.parquet"
    s = encode(
        str(model_dir), [str(cohort["root"])], str(out), address=address, workers=2, block_size=8
    )
    assert (s.done, s.failed) == (len(reference["onnx"]), 3)
    rows = read_slices(out)
    check_rows(rows, reference["onnx"])
    # And against the wheel's Go model: the same codes (the quantiser agrees, docs/onnx.md) and SSIM
    # within the float32 rounding of the two runtimes' convolutions.
    same = np.mean(
        [np.array_equal(rows[k]["codes"], v["codes"]) for k, v in reference["wheel"].items()]
    )
    assert same == 1.0
    gap = max(abs(rows[k]["ssim"] - v["ssim"]) for k, v in reference["wheel"].items())
    assert gap < 1e-4, gap


def test_resume_keeps_and_skips_complete_blocks(address, wheel_run, cohort, model_dir, tmp_path):
    import pyarrow.parquet as pq
    from brainvq.scale import encode

    src, first = wheel_run
    out = tmp_path / "resumed.parquet"
    shutil.copytree(src, out)
    parts = sorted((out / "slices").glob("part-*.parquet"))
    gone = [p for p in parts if pq.ParquetFile(p).metadata.num_rows > 0][:2]
    lost = sum(pq.ParquetFile(p).metadata.num_rows for p in gone)
    for p in gone:
        p.unlink()
    (out / "slices" / (parts[0].name + ".tmp-1-abc")).write_bytes(
        b"half a file"
    )  # a crash mid-write
    s = encode(
        str(model_dir),
        [str(cohort["root"])],
        str(out),
        backend="wheel",
        address=address,
        workers=2,
        block_size=8,
        reconstructions=True,
    )
    assert (s.done, s.skipped, s.blocks_done) == (lost, first.done - lost, 2)
    assert not list((out / "slices").glob("*.tmp-*"))
    before, after = read_slices(src), read_slices(out)
    assert set(before) == set(after)
    for k in before:
        np.testing.assert_array_equal(before[k]["codes"], after[k]["codes"])
        assert before[k]["ssim"] == after[k]["ssim"]
    # A finished job run again does nothing; other settings in the same folder are refused.
    s = encode(
        str(model_dir),
        [str(cohort["root"])],
        str(out),
        backend="wheel",
        address=address,
        workers=2,
        block_size=8,
        reconstructions=True,
    )
    assert (s.done, s.skipped, s.blocks_done) == (0, first.done, 0)
    with pytest.raises(ValueError, match="other settings"):
        encode(str(model_dir), [str(cohort["root"])], str(out), backend="onnx", address=address)


def test_killed_worker_loses_and_duplicates_nothing(
    address, cohort, model_dir, reference, tmp_path
):
    from brainvq.scale import encode

    out = tmp_path / "killed.parquet"
    pids = tmp_path / "pids"
    pids.mkdir()
    killed = {}
    stop = threading.Event()

    def killer():
        # Kills the first worker seen busy: it sleeps between reading and encoding its block and
        # renaming the block's part into place, so it dies in the middle of a task.
        while not stop.is_set():
            busy = sorted(pids.glob("busy-*"))
            if busy:
                killed["pid"] = int(busy[0].name.split("-")[1])
                killed["block"] = busy[0].read_text()
                os.kill(killed["pid"], signal.SIGKILL)
                return
            time.sleep(0.05)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    try:
        s = encode(
            str(model_dir),
            [str(cohort["root"])],
            str(out),
            backend="wheel",
            address=address,
            workers=2,
            block_size=4,
            _hooks={"pid_dir": str(pids), "delay": 1.0},
        )
    finally:
        stop.set()
        t.join(10)
    assert "pid" in killed, "no worker was seen busy"
    victim, block = killed["pid"], killed["block"]
    assert (out / "slices" / ("part-%s.parquet" % block)).exists()
    rows = read_slices(out)  # fails on any row written twice
    check_rows(rows, reference["wheel"])
    assert s.done == len(reference["wheel"]) and s.failed == 3
    workers = {int(p.name.split("-")[1]) for p in pids.glob("worker-*")}
    assert victim in workers and len(workers) >= 3, (
        "the killed actor was not restarted: %s" % workers
    )


def test_command_with_local_runtime(cohort, model_dir, reference, tmp_path):
    """brainvq-ray encode without --address starts (and stops) a Ray runtime of its own."""
    exe = Path(sys.executable).parent / "brainvq-ray"
    assert exe.exists(), "the wheel installs no brainvq-ray command"
    out = tmp_path / "cli.parquet"
    test_split = str(cohort["splits"][2])
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    proc = subprocess.run(
        [
            str(exe),
            "encode",
            "--model",
            str(model_dir),
            "--in",
            test_split,
            str(cohort["nifti"]),
            "--out",
            str(out),
            "--workers",
            "1",
            "--backend",
            "wheel",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = read_slices(out)
    want = {
        k: v
        for k, v in reference["wheel"].items()
        if k[0].startswith(os.path.realpath(test_split))
        or k[0] == os.path.realpath(cohort["nifti"])
    }
    check_rows(rows, want)
    assert (s["done"], s["failed"]) == (len(want), 0)
    bad = subprocess.run(
        [
            str(exe),
            "encode",
            "--model",
            str(tmp_path / "nope"),
            "--in",
            test_split,
            "--out",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert bad.returncode == 2 and "no such file or folder" in bad.stderr
