"""Encode, reconstruct and score whole cohorts on Ray (``pip install brainvq[ray]``).

A Ray Data pipeline over a cohort's files: every slice of every PNG folder and NIfTI volume is run
through a trained model in Ray actors, and what comes out is written as Parquet::

    import brainvq.scale
    summary = brainvq.scale.encode("model_dir", ["cohort/"], "out.parquet", workers=2)
    print(summary.done, summary.skipped, summary.failed)

or from the shell: ``brainvq-ray encode --model model_dir --in cohort/ --out out.parquet``
(``--address HOST:PORT`` joins a running Ray cluster; without it a local Ray runtime starts).

What runs where: the driver lists the cohort as blocks (:mod:`brainvq.scale_inputs`: up to
``block_size`` PNG files of one folder, or one volume), skips the blocks whose output is already there,
and hands the rest to Ray Data, which feeds them to ``workers`` actors. Each actor holds one model
(:mod:`brainvq.scale_backends`: ``vqvae.onnx`` in onnxruntime, or a ``.bvq`` checkpoint in the brainvq
wheel), reads its block, encodes and reconstructs the slices, scores each reconstruction with brainvq's
own metrics (:func:`brainvq.ssim`, :func:`brainvq.psnr`, :func:`brainvq.mse`) and writes the block's part
file itself. The model crosses to the actors as bytes; the cohort's files must be readable at the same
paths on every node (a shared file system).

The output folder ``OUT`` (``out.parquet``):

* ``OUT/slices/part-<block>.parquet``: one row per slice (columns in :data:`SLICE_COLUMNS`);
* ``OUT/errors/part-<block>.parquet`` and ``OUT/errors/part-inputs.parquet``: one row per input that
  could not be read (``source``, ``reason``, ``block``);
* ``OUT/subjects.parquet``: one row per subject (:data:`SUBJECT_COLUMNS`);
* ``OUT/job.json``: the settings (model digest, backend, slicing) a resumed job must match;
* ``OUT/summary.json``: the counts of the last run (:class:`Summary`).

``pyarrow.parquet.read_table("OUT/slices")`` (or pandas, Spark, DuckDB, ``ray.data.read_parquet``) reads
a folder as one table.

Resuming and failures: a part file is written to a temporary name and renamed into place only when
complete, so it is there whole or not at all. A block whose part is there is skipped when the job is run
again; a block whose actor died (a killed worker, a lost node) is run again by Ray (actors are restarted
and their tasks retried) and writes the same part file, so no row is lost and none is written twice. The
slices part is renamed last, after the block's errors part: it marks the block done.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from numpy.typing import NDArray

from brainvq.scale_backends import (
    BACKENDS,
    Backend,
    ModelFiles,
    find_model,
    image_size_of,
    make_backend,
)
from brainvq.scale_inputs import Block, SliceOptions, list_blocks, read_block

__all__ = ["encode", "encode_block", "Summary", "main", "SLICE_COLUMNS", "SUBJECT_COLUMNS"]

#: Version of the output layout, stored in ``job.json``.
FORMAT_VERSION = 1

#: The columns of ``slices/``: what each row holds.
SLICE_COLUMNS = {
    "source": "the PNG file or NIfTI volume the slice comes from (absolute path)",
    "subject": "subject id (see brainvq.scale_inputs)",
    "volume": "volume id: the OASIS case, or the NIfTI file name without .nii/.nii.gz",
    "slice": "slice index: OASIS slice number, or the axial plane z (RAS+) of the volume",
    "split": "train/validate/test for OASIS split folders, else empty",
    "codes": "code indices, int32 h×w grid (an arrow fixed_shape_tensor; row-major list elsewhere)",
    "ssim": "SSIM of the reconstruction (Wang 2004: 11×11 Gaussian window, σ 1.5; brainvq.ssim)",
    "psnr": "PSNR in dB of the reconstruction (inf if exact)",
    "mse": "mean squared error of the reconstruction, pixels in [0, 1]",
    "reconstruction": "only with --reconstructions: float32 S×S image in [0, 1]",
    "block": "the block (unit of work) that wrote the row",
}

#: The columns of ``subjects.parquet``.
SUBJECT_COLUMNS = {
    "subject": "subject id",
    "volumes": "number of distinct volumes",
    "slices": "number of slices",
    "ssim_mean": "mean SSIM over the subject's slices",
    "ssim_min": "lowest slice SSIM",
    "psnr_mean": "mean PSNR over the slices with a finite PSNR",
    "mse_mean": "mean MSE",
    "errors": "inputs of the subject that failed (PNG files or volumes)",
}

_CHUNK = 32  # slices per model call inside a block


@dataclass
class Summary:
    """What a run did.

    Attributes:
        done: slices encoded in this run.
        skipped: slices whose block was complete already (kept from an earlier run).
        failed: inputs (PNG files, volumes, missing paths) in the errors table.
        blocks_done, blocks_skipped: blocks run now / kept.
        subjects: subjects in ``subjects.parquet``.
        seconds: wall time of the run; ``encode_seconds``: of the Ray part alone.
        out: the output folder.
    """

    done: int
    skipped: int
    failed: int
    blocks_done: int
    blocks_skipped: int
    subjects: int
    seconds: float
    encode_seconds: float
    out: str

    def line(self) -> str:
        return "slices: %d done, %d skipped, %d failed (%d blocks run, %d kept) in %.1f s → %s" % (
            self.done,
            self.skipped,
            self.failed,
            self.blocks_done,
            self.blocks_skipped,
            self.seconds,
            self.out,
        )


# -- Parquet ------------------------------------------------------------------------------------------


def _write_atomic(table: Any, path: str) -> None:
    """Write a Parquet file under a temporary name in the same folder, fsync it, rename it into place."""
    import pyarrow.parquet as pq  # type: ignore[import-not-found, import-untyped, unused-ignore]

    tmp = "%s.tmp-%d-%s" % (path, os.getpid(), uuid.uuid4().hex[:8])
    try:
        with open(tmp, "wb") as f:
            pq.write_table(table, f, compression="zstd")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _errors_table(rows: Sequence[Tuple[str, str]], block: str) -> Any:
    import pyarrow as pa  # type: ignore[import-not-found, import-untyped, unused-ignore]

    return pa.table(
        {
            "source": pa.array([r[0] for r in rows], pa.string()),
            "reason": pa.array([r[1] for r in rows], pa.string()),
            "block": pa.array([block] * len(rows), pa.string()),
        }
    )


def _tensor_column(arr: NDArray[Any], value_type: Any) -> Any:
    """``[N, a, b]`` as an arrow fixed_shape_tensor column (a plain fixed-size list in other readers)."""
    import pyarrow as pa  # type: ignore[import-not-found, import-untyped, unused-ignore]

    n = arr.shape[0]
    ttype = pa.fixed_shape_tensor(value_type, list(arr.shape[1:]))
    flat = pa.array(np.ascontiguousarray(arr).reshape(-1), value_type)
    storage = pa.FixedSizeListArray.from_arrays(flat, int(np.prod(arr.shape[1:])))
    assert len(storage) == n
    return pa.ExtensionArray.from_storage(ttype, storage)


def _slices_table(
    meta: List[Dict[str, object]],
    codes: NDArray[Any],
    ssim: NDArray[Any],
    psnr: NDArray[Any],
    mse: NDArray[Any],
    recon: Optional[NDArray[Any]],
    block: str,
    h: int,
    s: int,
) -> Any:
    import pyarrow as pa  # type: ignore[import-not-found, import-untyped, unused-ignore]

    n = len(meta)
    cols = {
        "source": pa.array([m["source"] for m in meta], pa.string()),
        "subject": pa.array([m["subject"] for m in meta], pa.string()),
        "volume": pa.array([m["volume"] for m in meta], pa.string()),
        "slice": pa.array([m["slice"] for m in meta], pa.int32()),
        "split": pa.array([m["split"] for m in meta], pa.string()),
        "codes": _tensor_column(codes.reshape(n, h, h).astype(np.int32), pa.int32()),
        "ssim": pa.array(ssim, pa.float64()),
        "psnr": pa.array(psnr, pa.float64()),
        "mse": pa.array(mse, pa.float64()),
    }
    if recon is not None:
        cols["reconstruction"] = _tensor_column(recon.reshape(n, s, s), pa.float32())
    cols["block"] = pa.array([block] * n, pa.string())
    return pa.table(cols)


# -- one block (runs inside an actor, or in-process) ------------------------------------------------


def encode_block(
    backend: Backend,
    block: Block,
    slicing: SliceOptions,
    out: str,
    reconstructions: bool = False,
    before_commit: Optional[Callable[[Block], None]] = None,
) -> Dict[str, object]:
    """Read, encode, score and write one block: ``OUT/errors/part-<id>.parquet`` (when something failed)
    then ``OUT/slices/part-<id>.parquet``. A block whose slices part exists is not run again.

    Args:
        backend: from :func:`brainvq.scale_backends.make_backend`.
        before_commit: called after the errors part and before the slices part is renamed into place
            (tests use it to kill a worker at the worst moment).

    Returns:
        ``{"block", "slices", "failed", "seconds", "pid", "existed"}``.
    """
    import pyarrow.parquet as pq  # type: ignore[import-not-found, import-untyped, unused-ignore]

    from brainvq.images import as_images
    from brainvq.metrics import mse as mse_fn, psnr as psnr_fn, ssim as ssim_fn

    t0 = time.monotonic()
    part = os.path.join(out, "slices", "part-%s.parquet" % block.id)
    err_part = os.path.join(out, "errors", "part-%s.parquet" % block.id)
    if os.path.exists(part):  # a retried task whose first attempt finished
        n = pq.ParquetFile(part).metadata.num_rows
        nerr = pq.ParquetFile(err_part).metadata.num_rows if os.path.exists(err_part) else 0
        return {
            "block": block.id,
            "slices": n,
            "failed": nerr,
            "seconds": 0.0,
            "pid": os.getpid(),
            "existed": True,
        }

    batch = read_block(block, slicing)
    s = slicing.size
    h = s // 4
    errors = list(batch.errors)
    meta = list(batch.meta)
    if batch.images is not None and len(meta):
        x = as_images(
            batch.images, "slices"
        ).pixels  # [N, S, S] float32, as the Python API reads them
        n = x.shape[0]
        codes = np.empty((n, h, h), np.int32)
        recon = np.empty((n, s, s), np.float32)
        for lo in range(0, n, _CHUNK):
            c, r = backend.run(x[lo : lo + _CHUNK])
            codes[lo : lo + _CHUNK] = c
            recon[lo : lo + _CHUNK] = r
        ssim = np.atleast_1d(ssim_fn(x, recon))
        psnr = np.atleast_1d(psnr_fn(x, recon))
        mse = np.atleast_1d(mse_fn(x, recon))
    else:
        meta, n = [], 0
        codes = np.empty((0, h, h), np.int32)
        recon = np.empty((0, s, s), np.float32)
        ssim = psnr = mse = np.empty(0)
    table = _slices_table(
        meta, codes, ssim, psnr, mse, recon if reconstructions else None, block.id, h, s
    )
    if errors:
        _write_atomic(_errors_table(errors, block.id), err_part)
    elif os.path.exists(err_part):
        os.unlink(err_part)  # left by an earlier attempt that saw errors this one does not
    if before_commit is not None:
        before_commit(block)
    _write_atomic(table, part)
    return {
        "block": block.id,
        "slices": n,
        "failed": len(errors),
        "seconds": time.monotonic() - t0,
        "pid": os.getpid(),
        "existed": False,
    }


class _EncodeWorker:
    """The Ray Data actor: one model per actor, called with batches of block descriptions."""

    def __init__(
        self,
        files: ModelFiles,
        slicing: SliceOptions,
        out: str,
        reconstructions: bool,
        threads: int,
        hooks: Optional[Dict[str, object]] = None,
    ) -> None:
        self.backend = make_backend(files, threads)
        self.slicing = slicing
        self.out = out
        self.reconstructions = reconstructions
        self.hooks = hooks or {}
        pid_dir = self.hooks.get("pid_dir")
        if pid_dir:
            Path(str(pid_dir), "worker-%d" % os.getpid()).touch()

    def _before_commit(self, block: Block) -> None:
        pid_dir = self.hooks.get("pid_dir")
        if pid_dir:
            Path(str(pid_dir), "busy-%d" % os.getpid()).write_text(block.id)
        delay = float(str(self.hooks.get("delay", 0) or 0))
        if delay:
            time.sleep(delay)

    def __call__(self, batch: Dict[str, NDArray[Any]]) -> Dict[str, List[object]]:
        rows = [
            encode_block(
                self.backend,
                Block.from_json(str(text)),
                self.slicing,
                self.out,
                self.reconstructions,
                self._before_commit if self.hooks else None,
            )
            for text in batch["block"]
        ]
        return {k: [r[k] for r in rows] for k in rows[0]} if rows else {}


# -- the job ------------------------------------------------------------------------------------------


def _prepare_out(out: Path, job: Dict[str, object], overwrite: bool) -> None:
    job_file = out / "job.json"
    if job_file.exists():
        old = json.loads(job_file.read_text())
        if old != job:
            if not overwrite:
                diff = sorted(k for k in set(old) | set(job) if old.get(k) != job.get(k))
                raise ValueError(
                    "%s holds the output of a job with other settings (%s differ); pass another --out, "
                    "or --overwrite to start it afresh" % (out, ", ".join(diff))
                )
            for sub in ("slices", "errors"):
                for f in (out / sub).glob("part-*"):
                    f.unlink()
    for sub in ("slices", "errors"):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for f in (out / sub).glob("*.tmp-*"):  # left by a process killed while writing
            f.unlink()
    tmp = out / ("job.json.tmp-%d" % os.getpid())
    tmp.write_text(json.dumps(job, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, job_file)


def _subjects_table(out: Path) -> Any:
    """Per-subject means from the slices parts (only the score columns are read) and the errors."""
    import pyarrow as pa  # type: ignore[import-not-found, import-untyped, unused-ignore]
    import pyarrow.compute as pc  # type: ignore[import-not-found, import-untyped, unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-not-found, import-untyped, unused-ignore]

    parts = sorted((out / "slices").glob("part-*.parquet"))
    cols = ["subject", "volume", "ssim", "psnr", "mse"]
    tables = [pq.read_table(p, columns=cols) for p in parts]
    t = pa.concat_tables(tables) if tables else None
    stats: Dict[str, Dict[str, object]] = {}
    if t is not None and t.num_rows:
        finite = pc.is_finite(t["psnr"])
        t = t.append_column(
            "psnr_finite", pc.if_else(finite, t["psnr"], pa.scalar(None, pa.float64()))
        )
        g = t.group_by("subject").aggregate(
            [
                ("volume", "count_distinct"),
                ("ssim", "count"),
                ("ssim", "mean"),
                ("ssim", "min"),
                ("psnr_finite", "mean"),
                ("mse", "mean"),
            ]
        )
        for row in g.to_pylist():
            stats[row["subject"]] = {
                "volumes": row["volume_count_distinct"],
                "slices": row["ssim_count"],
                "ssim_mean": row["ssim_mean"],
                "ssim_min": row["ssim_min"],
                "psnr_mean": row["psnr_finite_mean"],
                "mse_mean": row["mse_mean"],
                "errors": 0,
            }
    from brainvq.scale_inputs import png_identity, volume_identity

    for p in sorted((out / "errors").glob("part-*.parquet")):
        for src in pq.read_table(p, columns=["source"])["source"].to_pylist():
            if src.lower().endswith(".png"):
                subj = str(png_identity(src)["subject"])
            else:
                subj = volume_identity(src)[0]
            st = stats.setdefault(
                subj,
                {
                    "volumes": 0,
                    "slices": 0,
                    "ssim_mean": None,
                    "ssim_min": None,
                    "psnr_mean": None,
                    "mse_mean": None,
                    "errors": 0,
                },
            )
            st["errors"] = int(str(st["errors"])) + 1
    names = sorted(stats)
    return pa.table(
        {
            "subject": pa.array(names, pa.string()),
            "volumes": pa.array([stats[s]["volumes"] for s in names], pa.int64()),
            "slices": pa.array([stats[s]["slices"] for s in names], pa.int64()),
            "ssim_mean": pa.array([stats[s]["ssim_mean"] for s in names], pa.float64()),
            "ssim_min": pa.array([stats[s]["ssim_min"] for s in names], pa.float64()),
            "psnr_mean": pa.array([stats[s]["psnr_mean"] for s in names], pa.float64()),
            "mse_mean": pa.array([stats[s]["mse_mean"] for s in names], pa.float64()),
            "errors": pa.array([stats[s]["errors"] for s in names], pa.int64()),
        }
    )


def _count_rows(path: Path) -> int:
    import pyarrow.parquet as pq  # type: ignore[import-not-found, import-untyped, unused-ignore]

    return pq.ParquetFile(path).metadata.num_rows if path.exists() else 0


def _run_ray(
    todo: List[Block],
    worker_kwargs: Dict[str, object],
    workers: int,
    threads: int,
    log: Callable[[str], None],
) -> List[Dict[str, object]]:
    import ray  # type: ignore[import-not-found, import-untyped, unused-ignore]

    logging.getLogger("ray.data").setLevel(logging.WARNING)  # progress is logged per block below
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.verbose_stats_logs = False
    ds = ray.data.from_items([{"block": b.to_json()} for b in todo], override_num_blocks=len(todo))
    res = ds.map_batches(
        _EncodeWorker,
        fn_constructor_kwargs=worker_kwargs,
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=threads,
        # Ray Data gives its actors max_restarts=-1 and max_task_retries=-1: a dead actor is restarted
        # and the block it held is run again (tests/ray kills one to check).
    )
    results = []
    for row in res.iter_rows():
        results.append(dict(row))
        log(
            "block %s: %d slices, %d failed, %.2f s%s"
            % (
                row["block"],
                row["slices"],
                row["failed"],
                row["seconds"],
                " (written by an earlier attempt)" if row["existed"] else "",
            )
        )
    return results


def encode(
    model: str,
    inputs: Sequence[str],
    out: str,
    *,
    backend: str = "auto",
    address: Optional[str] = None,
    workers: int = 2,
    threads: int = 1,
    block_size: int = 64,
    reconstructions: bool = False,
    contrast: float = 1.0,
    slice_step: int = 1,
    object_store_mb: int = 200,
    overwrite: bool = False,
    log: Optional[Callable[[str], None]] = None,
    _hooks: Optional[Dict[str, object]] = None,
) -> Summary:
    """Encode, reconstruct and score every slice of a cohort on Ray; write Parquet into ``out``.

    Args:
        model: a model folder or file (see :func:`brainvq.scale_backends.find_model`).
        inputs: PNG/NIfTI files and folders (see :mod:`brainvq.scale_inputs`).
        out: the output folder (created; see the module for its layout). Running the same job again
            with the same ``out`` resumes it: complete blocks are kept and skipped.
        backend: ``"onnx"`` (``vqvae.onnx`` in onnxruntime), ``"wheel"`` (a ``.bvq`` in brainvq's Go
            model) or ``"auto"``.
        address: a Ray cluster to join (``"HOST:PORT"`` or ``"auto"``); None starts a local Ray runtime
            with ``workers·threads`` CPUs, no dashboard and ``object_store_mb`` MB of object store.
        workers: model actors; threads: CPUs (and model threads) per actor.
        block_size: PNG files per block (a block is the unit of work and of resumption).
        reconstructions: also store each reconstruction (S×S float32: 256 KiB per OASIS slice).
        contrast, slice_step: how volumes are sliced (:class:`brainvq.scale_inputs.SliceOptions`).
        overwrite: start afresh when ``out`` holds a job with other settings (else that is an error).
        log: called with progress lines (default: print to stderr).

    Returns:
        A :class:`Summary`; it is also written to ``out/summary.json``.
    """
    t0 = time.monotonic()
    say = log or (lambda s: print(s, file=sys.stderr, flush=True))
    if workers < 1 or threads < 1:
        raise ValueError(
            "workers and threads must be at least 1, got %d and %d" % (workers, threads)
        )
    if not inputs:
        raise ValueError("no inputs: pass PNG/NIfTI files or folders")
    files = find_model(model, backend)
    size = image_size_of(files)
    slicing = SliceOptions(size=size, contrast=float(contrast), step=int(slice_step))
    blocks, bad = list_blocks(inputs, block_size, slicing)
    outp = Path(out).expanduser().resolve()
    job = {
        "format": FORMAT_VERSION,
        "backend": files.backend,
        "model_sha256": files.digest,
        "image_size": size,
        "reconstructions": bool(reconstructions),
        "slicing": slicing.key(),
    }
    _prepare_out(outp, job, overwrite)

    # Parts of blocks that no longer exist (an input changed or went away) would add stale rows.
    wanted = {b.id for b in blocks}
    for sub in ("slices", "errors"):
        for f in (outp / sub).glob("part-*.parquet"):
            bid = f.name[len("part-") : -len(".parquet")]
            if bid != "inputs" and bid not in wanted:
                say("removing %s: its block is no longer part of the input" % f)
                f.unlink()
    inputs_part = str(outp / "errors" / "part-inputs.parquet")
    _write_atomic(_errors_table(bad, "inputs"), inputs_part)

    kept = [b for b in blocks if (outp / "slices" / ("part-%s.parquet" % b.id)).exists()]
    kept_ids = {b.id for b in kept}
    todo = [b for b in blocks if b.id not in kept_ids]
    skipped = sum(_count_rows(outp / "slices" / ("part-%s.parquet" % b.id)) for b in kept)
    say(
        "%d blocks (%d kept from an earlier run, %d to run), %d inputs not readable as images"
        % (len(blocks), len(kept), len(todo), len(bad))
    )

    results: List[Dict[str, object]] = []
    t_enc = time.monotonic()
    if todo:
        import ray  # type: ignore[import-not-found, import-untyped, unused-ignore]

        started = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=workers * threads,
                    object_store_memory=object_store_mb * 1024 * 1024,
                    include_dashboard=False,
                    log_to_driver=False,
                )
            started = True
        try:
            worker_kwargs = dict(
                files=files,
                slicing=slicing,
                out=str(outp),
                reconstructions=bool(reconstructions),
                threads=threads,
                hooks=_hooks,
            )
            # Ray restarts dead actors and retries their tasks; should the pipeline itself fail (a lost
            # driver connection, a node gone for good), the blocks still missing are run once more.
            for attempt in range(3):
                missing = [
                    b for b in todo if not (outp / "slices" / ("part-%s.parquet" % b.id)).exists()
                ]
                if not missing:
                    break
                try:
                    results += _run_ray(
                        missing, worker_kwargs, min(workers, len(missing)), threads, say
                    )
                except Exception as exc:  # noqa: BLE001 (retried, then re-raised)
                    if attempt == 2:
                        raise
                    say(
                        "the pipeline failed (%s: %s); running the missing blocks again"
                        % (type(exc).__name__, exc)
                    )
        finally:
            if started:
                ray.shutdown()
    enc_seconds = time.monotonic() - t_enc

    subjects = _subjects_table(outp)
    _write_atomic(subjects, str(outp / "subjects.parquet"))
    failed = sum(_count_rows(f) for f in (outp / "errors").glob("part-*.parquet"))
    ran = {
        str(r["block"]): int(str(r["slices"])) for r in results
    }  # a block retried is counted once
    summary = Summary(
        done=sum(ran.values()),
        skipped=skipped,
        failed=failed,
        blocks_done=len(ran),
        blocks_skipped=len(kept),
        subjects=subjects.num_rows,
        seconds=time.monotonic() - t0,
        encode_seconds=enc_seconds,
        out=str(outp),
    )
    tmp = outp / ("summary.json.tmp-%d" % os.getpid())
    tmp.write_text(json.dumps(asdict(summary), indent=2) + "\n")
    os.replace(tmp, outp / "summary.json")
    say(summary.line())
    return summary


# -- the command --------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="brainvq-ray",
        description="Encode, reconstruct and score whole cohorts of brain MRI slices on Ray.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser(
        "encode",
        help="codes, scores (and reconstructions) of every slice, as Parquet",
        description="Encode every slice of PNG folders and NIfTI volumes with a trained brainvq model "
        "in Ray actors; write OUT/slices/*.parquet, OUT/errors/*.parquet, OUT/subjects.parquet and "
        "OUT/summary.json. Run it again with the same --out to resume.",
    )
    e.add_argument(
        "--model",
        required=True,
        help="folder with vqvae.onnx and/or a .bvq checkpoint, or the file",
    )
    e.add_argument(
        "--in",
        dest="inputs",
        required=True,
        nargs="+",
        metavar="PATH",
        help="PNG/NIfTI files and folders (searched recursively)",
    )
    e.add_argument("--out", required=True, help="output folder (e.g. out.parquet)")
    e.add_argument(
        "--backend",
        choices=BACKENDS + ("auto",),
        default="auto",
        help="onnx: vqvae.onnx in onnxruntime; wheel: the .bvq in brainvq's Go model; auto: onnx "
        "when vqvae.onnx is there (default)",
    )
    e.add_argument(
        "--address",
        default=None,
        help="Ray cluster to join (HOST:PORT or auto); default: start a local Ray runtime",
    )
    e.add_argument("--workers", type=int, default=2, help="model actors (default 2)")
    e.add_argument(
        "--threads", type=int, default=1, help="CPUs and model threads per actor (default 1)"
    )
    e.add_argument("--block-size", type=int, default=64, help="PNG files per block (default 64)")
    e.add_argument("--reconstructions", action="store_true", help="also store every reconstruction")
    e.add_argument(
        "--contrast",
        type=float,
        default=1.0,
        help="volume grey = 0.45·(v/r)^contrast (default 1; 1.8 for the MNI template)",
    )
    e.add_argument(
        "--slice-step", type=int, default=1, help="take every N-th usable axial plane (default 1)"
    )
    e.add_argument(
        "--object-store-mb",
        type=int,
        default=200,
        help="object store of a local Ray runtime in MB (default 200)",
    )
    e.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh when --out holds a job with other settings",
    )
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``brainvq-ray``: returns the exit status: 0 when the job ran to its end (failed inputs are in
    the errors table and counted in summary.json), 2 when it could not run."""
    args = _parser().parse_args(argv)
    try:
        s = encode(
            args.model,
            args.inputs,
            args.out,
            backend=args.backend,
            address=args.address,
            workers=args.workers,
            threads=args.threads,
            block_size=args.block_size,
            reconstructions=args.reconstructions,
            contrast=args.contrast,
            slice_step=args.slice_step,
            object_store_mb=args.object_store_mb,
            overwrite=args.overwrite,
        )
    except (ValueError, FileNotFoundError) as exc:
        print("brainvq-ray: %s" % exc, file=sys.stderr)
        return 2
    print(json.dumps(asdict(s)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
