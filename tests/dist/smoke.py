"""Smoke test of an installed brainvq: the whole path a new user takes, in a few seconds.

Run by tests/dist/run.sh with the interpreter of a fresh venv that holds one built wheel (or the
sdist), from a folder outside the repository:

    python smoke.py TEMPLATE EXPECT_VERSION [--standin]

TEMPLATE is a small T1 volume (the repository's 3 mm test fixture); EXPECT_VERSION the version the
artefact's file name carries. With ``--standin`` the venv also holds the ``standin`` extra and the
stand-in maker must find the MNI template inside nilearn by itself; without it, it must fail with
the message that names that extra. Every check raises AssertionError with what differed; the script
prints one line per step and exits non-zero on the first failure.
"""

from __future__ import annotations

import argparse
import os
import sys
import sysconfig
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np


def step(name: str, t0: list[float]) -> None:
    now = time.monotonic()
    print("  ok  %-32s %5.1f s" % (name, now - t0[0]), flush=True)
    t0[0] = now


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("template", type=Path)
    ap.add_argument("version")
    ap.add_argument("--standin", action="store_true")
    args = ap.parse_args()
    t0 = [time.monotonic()]

    import brainvq

    # The package must come from this interpreter's site-packages, never a source tree.
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    pkg = Path(brainvq.__file__).resolve()
    assert site in pkg.parents, "brainvq imported from %s, not from %s" % (pkg, site)
    assert brainvq.__version__ == args.version, (brainvq.__version__, args.version)
    assert metadata.version("brainvq") == args.version, metadata.version("brainvq")
    assert brainvq.go_version() == args.version, ("Go side", brainvq.go_version())
    print("brainvq %s from %s" % (brainvq.__version__, pkg.parent))
    step("import", t0)

    work = Path(tempfile.mkdtemp(prefix="brainvq-smoke-"))
    root = brainvq.make_standin(
        work / "data",
        args.template,
        train_subjects=2,
        validate_subjects=1,
        test_subjects=1,
        slices=8,
        size=32,
        seed=1,
    )
    train, val, test = (brainvq.Dataset.from_oasis(root, s) for s in ("train", "validate", "test"))
    assert len(train) == 16 and len(test) == 8, (len(train), len(test))
    step("stand-in data (32x32)", t0)

    trainer = brainvq.Trainer(
        train,
        val,
        preset="seed",
        num_codes=16,
        batch_size=4,
        learning_rate=2e-3,
        steps_per_epoch=4,
        seed=3,
    )
    history = trainer.fit(2, progress=False)
    assert len(history) == 2, history
    losses = [e.train_recon_loss for e in history]
    assert all(np.isfinite(losses)), losses
    model = trainer.model
    step("train 2 epochs of 4 steps", t0)

    x = test.images[:4]
    recon = model.reconstruct(x)
    assert recon.shape == x.shape and recon.dtype == np.float32, (recon.shape, recon.dtype)
    assert float(recon.min()) >= 0.0 and float(recon.max()) <= 1.0
    step("reconstruct", t0)

    # SSIM: 1 for identical images, below 1 for a reconstruction; evaluate agrees with ssim().
    same = brainvq.ssim(x, x)
    assert np.allclose(same, 1.0, atol=1e-6), same
    scores = brainvq.ssim(x, recon)
    assert scores.shape == (4,) and np.all(scores < 1.0) and np.all(scores > -1.0), scores
    ev = model.evaluate(x)
    assert abs(ev.ssim - float(np.mean(scores))) < 1e-5, (ev.ssim, scores)
    print("      test SSIM after 8 steps: %.3f" % ev.ssim)
    step("SSIM", t0)

    paths = model.export_onnx(work / "onnx")
    names = sorted(p.name for p in paths)
    for want in ("codebook.npy", "decoder.onnx", "encoder.onnx", "quantizer.onnx", "vqvae.onnx"):
        assert want in names, names
    for p in paths:
        if p.suffix == ".onnx":
            head = p.read_bytes()[:1]
            # An ONNX ModelProto starts with field 1 (ir_version) as a varint: tag byte 0x08.
            assert head == b"\x08", (p, head)
    codebook = np.load(work / "onnx" / "codebook.npy")
    assert codebook.shape == (model.num_codes, model.code_dim), codebook.shape
    assert np.allclose(codebook, model.codebook), "codebook.npy differs from model.codebook"
    step("ONNX export", t0)

    back = brainvq.load(model.save(work / "model.bvq"))
    assert np.array_equal(
        back.reconstruct(x), recon
    ), "a saved and loaded model reconstructs differently"
    step("save and load", t0)

    os.environ.pop("BRAINVQ_TEMPLATE", None)
    os.chdir(work)  # no data/template/ here or above
    if args.standin:
        tpl = brainvq.find_template()
        assert "nilearn" in tpl.parts and site in tpl.resolve().parents, tpl
        made = brainvq.make_standin(
            work / "mni",
            train_subjects=1,
            validate_subjects=1,
            test_subjects=1,
            slices=4,
            size=32,
        )
        assert len(brainvq.Dataset.from_oasis(made, "train")) == 4
        step("standin extra: MNI from nilearn", t0)
    else:
        try:
            brainvq.find_template()
        except FileNotFoundError as e:
            assert 'pip install "brainvq[standin]"' in str(e), str(e)
        else:
            raise AssertionError("find_template() found a template without the standin extra")
        step("no template: error names the extra", t0)
    print("smoke test passed (Python %d.%d)" % sys.version_info[:2])


if __name__ == "__main__":
    main()
