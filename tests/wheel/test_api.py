"""Checks of brainvq's Python API against the installed wheel: datasets, training, inference, metrics,
files, errors, Ctrl-C and memory.

Tiny models (seed preset, 32×32 stand-in slices, a few steps) keep the whole file to seconds. Numbers are
checked against independent numpy references (PNG decoding by Pillow, SSIM, nearest-code search,
onnxruntime on the exported graphs), not against values copied from an earlier run.
"""

from __future__ import annotations

import gc
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import rss_bytes

# -- image rules ----------------------------------------------------------------------------------------


def test_image_layouts_and_dtypes(brainvq):
    from brainvq.images import as_images

    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, size=(3, 12, 12), dtype=np.uint8)
    b = as_images(u8)
    assert b.layout == "NHW" and b.pixels.dtype == np.float32
    np.testing.assert_array_equal(b.pixels, u8.astype(np.float32) / np.float32(255))
    assert as_images(u8[0]).layout == "HW" and as_images(u8[0]).pixels.shape == (1, 12, 12)
    assert as_images(u8[:, None]).layout == "NCHW"
    np.testing.assert_array_equal(as_images(np.eye(12, dtype=bool)).pixels[0], np.eye(12))
    # Rounding noise just outside [0, 1] is clipped; real excursions are refused.
    x = np.full((2, 12, 12), 1.00005)
    assert as_images(x).pixels.max() == 1.0
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\], found values in \[0, 255\]"):
        as_images(np.linspace(0, 255, 144).reshape(12, 12))
    with pytest.raises(ValueError, match="NaN"):
        as_images(np.full((12, 12), np.nan))
    with pytest.raises(TypeError, match="uint16 is not supported"):
        as_images(np.zeros((12, 12), dtype=np.uint16))
    with pytest.raises(ValueError, match=r"\[N, 1, H, W\]"):
        as_images(np.zeros((2, 3, 12, 12)))
    with pytest.raises(ValueError, match="empty"):
        as_images(np.zeros((0, 12, 12)))
    with pytest.raises(ValueError, match="dimensions"):
        as_images(np.zeros(5))


# -- datasets --------------------------------------------------------------------------------------------


def test_dataset_from_array_round_trip(brainvq):
    rng = np.random.default_rng(1)
    u8 = rng.integers(0, 256, size=(5, 1, 16, 20), dtype=np.uint8)
    before = brainvq.live_handles()
    with brainvq.Dataset.from_array(u8, name="mine") as ds:
        assert brainvq.live_handles() == before + 1
        assert len(ds) == 5 and ds.shape == (5, 16, 20) and ds.name == "mine" and ds.files == []
        want = u8[:, 0].astype(np.float32) / np.float32(255)
        np.testing.assert_array_equal(ds.images, want)
        np.testing.assert_array_equal(ds[3], want[3])
        np.testing.assert_array_equal(ds[-1], want[4])
        np.testing.assert_array_equal(ds[1:4], want[1:4])
        np.testing.assert_array_equal(ds[::2], want[::2])
        np.testing.assert_array_equal(ds[[4, 0, -2]], want[[4, 0, -2]])
        np.testing.assert_array_equal(ds[np.arange(5)[::-1]], want[::-1])
        assert ds[[]].shape == (0, 16, 20)
        with pytest.raises(TypeError, match="1-D sequence of ints"):
            ds[[0.5]]
        with pytest.raises(IndexError):
            ds[5]
        mean, var = ds.stats()
        assert mean == pytest.approx(want.astype(np.float64).mean(), rel=1e-6)
        assert var == pytest.approx(want.astype(np.float64).var(), rel=1e-5)
        u8[0, 0, 0, 0] ^= 0xFF  # the dataset holds a copy
        np.testing.assert_array_equal(ds[0], want[0])
    assert ds.closed and brainvq.live_handles() == before
    with pytest.raises(ValueError, match="closed"):
        ds.images


def test_make_standin_and_load_oasis_layout(brainvq, standin, splits, template, tmp_path):
    from PIL import Image

    assert standin.name == "keras_png_slices_data"
    counts = {
        s: len(list((standin / ("keras_png_slices_" + s)).glob("*.png")))
        for s in ("train", "validate", "test")
    }
    assert counts == {"train": 32, "validate": 8, "test": 8}
    train, val, test = splits
    assert (len(train), len(val), len(test)) == (32, 8, 8)
    assert train.shape[1:] == (32, 32)
    # Natural order: case then slice number, so slice_2 comes before slice_10 would; here 0..7.
    names = [Path(f).name for f in train.files]
    assert names[:3] == [
        "case_001_slice_0.nii.png",
        "case_001_slice_1.nii.png",
        "case_001_slice_2.nii.png",
    ]
    # The pixels are p/255 of the PNG files, decoded independently by Pillow.
    for i in (0, 13, 31):
        png = np.asarray(Image.open(train.files[i]), dtype=np.float32) / np.float32(255)
        np.testing.assert_array_equal(train[i], png)
    limited = brainvq.Dataset.from_oasis(standin, "train", limit=5)
    assert len(limited) == 5 and limited.files == train.files[:5]
    resized = brainvq.Dataset.from_oasis(standin.parent, "test", size=16, resize=True)
    assert resized.shape == (8, 16, 16)
    folder = brainvq.Dataset.from_folder(standin / "keras_png_slices_test")
    np.testing.assert_array_equal(folder.images, test.images)
    # The same seed makes the same dataset.
    again = brainvq.make_standin(
        tmp_path,
        template,
        train_subjects=4,
        validate_subjects=1,
        test_subjects=1,
        slices=8,
        size=32,
        seed=5,
    )
    assert _template_of(again) == template
    np.testing.assert_array_equal(brainvq.Dataset.from_oasis(again, "test").images, test.images)


def _template_of(standin: Path) -> Path:
    manifest = json.loads((standin / "brainvq_standin.json").read_text())
    return Path(manifest["source"])


def _raises(brainvq, kind, match):
    """pytest.raises(kind) that also refuses brainvq.GoError (a RuntimeError) standing in for kind."""

    class _Check:
        def __enter__(self):
            self._ctx = pytest.raises(kind, match=match)
            self._info = self._ctx.__enter__()
            return self._info

        def __exit__(self, *exc):
            out = self._ctx.__exit__(*exc)
            assert not isinstance(self._info.value, brainvq.GoError), repr(self._info.value)
            return out

    return _Check()


def test_errors_are_python_exceptions_naming_the_parameter(brainvq, tmp_path, standin, template):
    missing = tmp_path / "no_such_folder"
    with _raises(brainvq, FileNotFoundError, "root: %s does not exist" % missing):
        brainvq.Dataset.from_oasis(missing, "train")
    with _raises(brainvq, FileNotFoundError, "folder: "):
        brainvq.Dataset.from_folder(missing)
    with _raises(brainvq, ValueError, r"root: .*is 32×32, want 64×64; pass resize=True"):
        brainvq.Dataset.from_oasis(standin, "train", size=64)
    with _raises(brainvq, ValueError, "split must be one of"):
        brainvq.Dataset.from_oasis(standin, "training")
    with _raises(brainvq, TypeError, "limit must be an integer"):
        brainvq.Dataset.from_oasis(standin, "train", limit=2.5)
    with _raises(brainvq, FileNotFoundError, "template: .*nothing.nii does not exist"):
        brainvq.make_standin(tmp_path / "x", tmp_path / "nothing.nii")
    (tmp_path / "garbage.nii").write_bytes(b"\0" * 400)
    with _raises(brainvq, ValueError, "template: read NIfTI .*garbage.nii"):
        brainvq.make_standin(tmp_path / "x", tmp_path / "garbage.nii")
    with _raises(
        brainvq, FileExistsError, "out: .*already exists; remove it or pass overwrite=True"
    ):
        brainvq.make_standin(standin.parent, template)
    with _raises(brainvq, ValueError, "size: stand-in option size = 30"):
        brainvq.make_standin(tmp_path / "y", template, size=30)
    with _raises(brainvq, ValueError, "slices must be at least 1"):
        brainvq.make_standin(tmp_path / "y", template, slices=0)
    (tmp_path / "bad.bvq").write_bytes(b"not a checkpoint at all")
    with _raises(brainvq, ValueError, "path: .*not a brainvq checkpoint"):
        brainvq.load(tmp_path / "bad.bvq")
    with _raises(brainvq, FileNotFoundError, "path: .*none.bvq does not exist"):
        brainvq.load(tmp_path / "none.bvq")
    with _raises(brainvq, IsADirectoryError, "path: "):
        brainvq.load(tmp_path)
    with _raises(brainvq, FileNotFoundError, "path: "):
        brainvq.Trainer.resume(tmp_path / "none.bvq", np.full((4, 32, 32), 0.5))
    train = brainvq.Dataset.from_oasis(standin, "train")
    with _raises(brainvq, TypeError, "unknown model setting.*codes"):
        brainvq.Trainer(train, preset="seed", codes=8)
    with _raises(brainvq, ValueError, 'preset: unknown preset "small"'):
        brainvq.Trainer(train, preset="small")
    with _raises(brainvq, ValueError, "batch_size: batch size 0 must be ≥ 1"):
        brainvq.Trainer(train, preset="seed", batch_size=0)
    with _raises(brainvq, TypeError, "batch_size must be an integer, got float 2.5"):
        brainvq.Trainer(train, preset="seed", batch_size=2.5)
    with _raises(brainvq, ValueError, "learning_rate: learning rate -1 must be positive"):
        brainvq.Trainer(train, preset="seed", learning_rate=-1)
    with _raises(
        brainvq, ValueError, 'recon_loss: reconstruction loss "ssim": choose one of clipped, mse'
    ):
        brainvq.Trainer(train, preset="seed", recon_loss="ssim")
    with _raises(brainvq, ValueError, 'lr_schedule: learning-rate schedule "linear"'):
        brainvq.Trainer(train, preset="seed", lr_schedule="linear")
    with _raises(brainvq, ValueError, "ssim_weight: SSIM weight -1 must be ≥ 0"):
        brainvq.Trainer(train, preset="seed", ssim_weight=-1)
    with _raises(brainvq, ValueError, "warmup_steps must be at least 0, got -1"):
        brainvq.Trainer(train, preset="seed", warmup_steps=-1)
    with _raises(brainvq, ValueError, "num_codes: codebook 0×16"):
        brainvq.Trainer(train, preset="seed", num_codes=0)
    with _raises(brainvq, TypeError, "config: .*cannot unmarshal"):
        brainvq.Trainer(train, preset="seed", num_codes="many")
    with _raises(brainvq, ValueError, "train: image size 30: must be a positive multiple of 4"):
        brainvq.Trainer(np.random.default_rng(0).random((4, 30, 30)), preset="seed")
    with _raises(brainvq, ValueError, "train: .*pixel variance 0"):
        brainvq.Trainer(np.full((4, 32, 32), 0.5), preset="seed")
    with _raises(brainvq, ValueError, "n: thread count -2 must not be negative"):
        brainvq.set_threads(-2)
    with _raises(brainvq, ValueError, "data_range: PSNR data range 0"):
        brainvq.psnr(np.zeros((12, 12)), np.zeros((12, 12)), data_range=0)


def test_model_and_trainer_errors(brainvq, trained, splits, tmp_path):
    trainer, model = trained
    h = model.latent_size
    with _raises(brainvq, ValueError, r"indices: code 32 at flat index 0 is outside \[0, 32\)"):
        model.decode(np.full((h, h), 32))
    with _raises(brainvq, FileNotFoundError, ""):
        model.save(tmp_path / "no" / "such" / "folder" / "m.bvq")
    with _raises(brainvq, ValueError, "test_ssim: test SSIM 2 is not in"):
        model.test_ssim = 2.0
    with _raises(brainvq, TypeError, "n must be an integer"):
        trainer.steps(1.5)
    with _raises(brainvq, ValueError, "n must be at least 1"):
        trainer.steps(0)
    with _raises(brainvq, TypeError, "data must be bytes"):
        brainvq.Model.from_bytes("text")
    with _raises(brainvq, ValueError, "data: .*not a brainvq checkpoint"):
        brainvq.Model.from_bytes(b"nothing")
    with pytest.raises(RuntimeError, match="no epoch is running") as info:
        trainer.end_epoch()
    assert type(info.value) is RuntimeError


def test_find_template_order(brainvq, tmp_path, monkeypatch, template):
    monkeypatch.setenv("BRAINVQ_TEMPLATE", str(template))
    assert brainvq.find_template() == template
    monkeypatch.setenv("BRAINVQ_TEMPLATE", str(tmp_path / "gone.nii.gz"))
    with pytest.raises(FileNotFoundError, match="gone.nii.gz"):
        brainvq.find_template()
    monkeypatch.delenv("BRAINVQ_TEMPLATE")
    nested = tmp_path / "project" / "notebooks"
    nested.mkdir(parents=True)
    tpl = tmp_path / "project" / "data" / "template" / brainvq.data.TEMPLATE_NAME
    tpl.parent.mkdir(parents=True)
    tpl.write_bytes(b"x")
    monkeypatch.chdir(nested)
    assert brainvq.find_template() == tpl.resolve()


# -- training --------------------------------------------------------------------------------------------


def test_training_lowers_the_loss(brainvq, trained):
    trainer, model = trained
    h = trainer.history
    assert isinstance(h, brainvq.History) and len(h) == 3
    assert [e.epoch for e in h] == [1, 2, 3] and all(e.steps == 8 for e in h)
    assert h[-1].train_recon_loss < 0.8 * h[0].train_recon_loss, h.column("train_recon_loss")
    assert h[-1].val_recon_loss < h[0].val_recon_loss, h.column("val_recon_loss")
    assert h[-1].val_ssim > h[0].val_ssim
    assert 0 < h[-1].val_codes_used <= 1 and 1 <= h[-1].val_perplexity <= 32
    np.testing.assert_array_equal(h.column("epoch"), [1, 2, 3])
    assert h.to_dicts()[1]["epoch"] == 2
    assert model.epoch == 3 and model.step == 24 and model.num_codes == 32
    assert trainer.preprocess["mean"] == pytest.approx(trainer.train_set.stats()[0], rel=1e-6)
    # The evaluation of the last epoch's model on the validation split is the history's last row.
    ev = model.evaluate(trainer.val_set)
    assert ev.ssim == pytest.approx(h[-1].val_ssim, rel=1e-12)
    assert ev.recon_loss == pytest.approx(h[-1].val_recon_loss, rel=1e-12)


def test_fit_without_validation_and_progress_callback(brainvq, splits):
    train = splits[0]
    events = []
    trainer = brainvq.Trainer(train, preset="seed", num_codes=16, batch_size=8, steps_per_epoch=5)
    h = trainer.fit(2, progress=events.append, chunk_seconds=0.0)  # one step per chunk
    steps = [e for e in events if "event" not in e]
    ends = [e for e in events if e.get("event") == "epoch_end"]
    assert [s["step"] for s in steps] == [1, 2, 3, 4, 5] * 2
    assert [e["stats"].epoch for e in ends] == [1, 2]
    assert all(math.isnan(e.val_ssim) and math.isnan(e.val_recon_loss) for e in h)
    assert trainer.epochs_completed == 2 and not trainer.state()["running"]
    assert trainer.fit(0) == h


def test_tqdm_progress_bar(brainvq, splits, capsys):
    trainer = brainvq.Trainer(
        splits[0], splits[1], preset="seed", num_codes=16, batch_size=8, steps_per_epoch=3
    )
    trainer.fit(1, progress=True)
    err = capsys.readouterr().err
    assert "epoch 1" in err and "3/3" in err and "SSIM" in err, err


def test_save_resume_continues_exactly(brainvq, splits, tmp_path):
    train, val, _ = splits
    kw = dict(
        preset="seed", num_codes=16, batch_size=4, learning_rate=1e-3, steps_per_epoch=4, seed=9
    )
    straight = brainvq.Trainer(train, val, **kw)
    straight.fit(3, progress=False)

    first = brainvq.Trainer(train, val, **kw)
    first.fit(1, progress=False)
    first.steps(2)
    with pytest.raises(RuntimeError, match="middle of epoch 2") as info:
        first.save(tmp_path / "mid.bvq")
    assert type(info.value) is RuntimeError
    first.close()
    first = brainvq.Trainer(train, val, **kw)
    first.fit(1, progress=False)
    first.save(tmp_path / "run.bvq")
    resumed = brainvq.Trainer.resume(tmp_path / "run.bvq", train, val)
    assert resumed.epochs_completed == 1
    resumed.fit(2, progress=False)
    a, b = straight.history, resumed.history
    assert len(b) == 3
    for x, y in zip(a, b):
        assert x.train_recon_loss == y.train_recon_loss and x.val_ssim == y.val_ssim
    probe = val.images[:3]
    np.testing.assert_array_equal(
        straight.model.reconstruct(probe), resumed.model.reconstruct(probe)
    )
    with pytest.raises(ValueError, match="takes 32×32"):
        brainvq.Trainer.resume(tmp_path / "run.bvq", np.zeros((4, 16, 16)) + 0.5)


# -- inference -------------------------------------------------------------------------------------------


def test_inference_layouts_and_consistency(brainvq, trained, splits):
    _, model = trained
    test = splits[2]
    x = test.images  # [8, 32, 32]
    s, h = model.image_size, model.latent_size
    assert (s, h) == (32, 8)
    y = model.reconstruct(x)
    assert y.shape == x.shape and y.dtype == np.float32 and 0 <= y.min() and y.max() <= 1
    np.testing.assert_array_equal(model.reconstruct(x[:, None]), y[:, None])
    np.testing.assert_array_equal(model.reconstruct(x[2]), y[2])
    u8 = np.round(x * 255).astype(np.uint8)
    np.testing.assert_array_equal(
        model.reconstruct(u8), model.reconstruct(u8.astype(np.float32) / 255)
    )

    idx = model.encode(x)
    assert idx.shape == (8, h, h) and idx.dtype == np.int32
    assert model.encode(x[0]).shape == (h, h)
    np.testing.assert_array_equal(model.decode(idx), y)
    np.testing.assert_array_equal(model.decode(idx[4]), y[4])
    z = model.encoder_output(x)
    assert z.shape == (8, model.code_dim, h, h)
    np.testing.assert_array_equal(model.quantize(z), idx)
    np.testing.assert_array_equal(model.quantize(z[1]), idx[1])

    # Nearest-code reference in float64 numpy: argmin_k ‖z‖² − 2 z·E_k + ‖E_k‖².
    E = model.codebook.astype(np.float64)
    assert E.shape == (model.num_codes, model.code_dim)
    zz = z.astype(np.float64).transpose(0, 2, 3, 1).reshape(-1, model.code_dim)
    d = (zz**2).sum(1)[:, None] - 2 * zz @ E.T + (E**2).sum(1)[None]
    np.testing.assert_array_equal(idx.ravel(), d.argmin(1))

    counts = model.code_usage(test)
    assert counts.sum() == 8 * h * h
    np.testing.assert_array_equal(counts, np.bincount(idx.ravel(), minlength=model.num_codes))
    np.testing.assert_array_equal(model.code_usage(x), counts)
    one = model.decode_code(int(idx[0, 0, 0]))
    np.testing.assert_array_equal(one, model.decode(np.full((h, h), idx[0, 0, 0])))

    with pytest.raises(ValueError, match="images are 16×16, expected 32×32"):
        model.reconstruct(np.zeros((2, 16, 16)))
    with pytest.raises(ValueError, match="code 32 at flat index 0 is outside"):
        model.decode(np.full((h, h), 32))
    with pytest.raises(TypeError, match="integers"):
        model.decode(np.zeros((h, h)))


def test_evaluate_and_metrics_against_numpy(brainvq, trained, splits):
    _, model = trained
    x = splits[2].images
    y = model.reconstruct(x)
    ev = model.evaluate(splits[2])
    np.testing.assert_allclose(ev.image_ssim, _ssim_reference(x, y), rtol=0, atol=1e-9)
    np.testing.assert_allclose(brainvq.ssim(x, y), ev.image_ssim, rtol=0, atol=1e-12)
    assert brainvq.ssim(x[0], y[0]) == pytest.approx(ev.image_ssim[0], abs=1e-12)
    mse = ((x.astype(np.float64) - y) ** 2).mean(axis=(1, 2))
    np.testing.assert_allclose(brainvq.mse(x, y), mse, rtol=1e-12)
    np.testing.assert_allclose(ev.image_mse, mse, rtol=1e-12)
    np.testing.assert_allclose(brainvq.psnr(x, y), 10 * np.log10(1 / mse), rtol=1e-12)
    assert brainvq.psnr(x[0], x[0]) == math.inf
    assert ev.ssim == pytest.approx(ev.image_ssim.mean(), rel=1e-12)
    assert ev.files == splits[2].files
    counts = model.code_usage(x)
    p = counts[counts > 0] / counts.sum()
    assert ev.perplexity == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-12)
    assert brainvq.perplexity(counts) == pytest.approx(ev.perplexity, rel=1e-12)
    assert brainvq.perplexity(model.encode(x), num_codes=model.num_codes) == pytest.approx(
        ev.perplexity, rel=1e-12
    )
    assert ev.codes_used == brainvq.used_fraction(counts) == (counts > 0).mean()
    assert brainvq.perplexity([5, 5, 5, 5]) == pytest.approx(4)
    assert brainvq.perplexity([0, 0]) == 0
    # The same evaluation on an array as on the dataset.
    ev2 = model.evaluate(x)
    np.testing.assert_array_equal(ev2.image_ssim, ev.image_ssim)
    with pytest.raises(ValueError, match="at least 11×11"):
        brainvq.ssim(np.zeros((8, 8)), np.zeros((8, 8)))
    with pytest.raises(ValueError, match="same number of images"):
        brainvq.ssim(x[:2], x[:3])


def _ssim_reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SSIM of Wang et al. (2004) in float64 numpy: 11×11 Gaussian window σ 1.5 (normalised), K1 0.01,
    K2 0.03, L 1, population statistics, averaged over the positions whose window lies inside."""
    k = np.exp(-0.5 * (np.arange(11) - 5) ** 2 / 1.5**2)
    k /= k.sum()

    def filt(img):  # valid-mode separable filtering of [N, H, W]
        rows = sum(k[i] * img[:, i : img.shape[1] - 10 + i, :] for i in range(11))
        return sum(k[j] * rows[:, :, j : rows.shape[2] - 10 + j] for j in range(11))

    a = a.astype(np.float64)
    b = b.astype(np.float64)
    ma, mb = filt(a), filt(b)
    va, vb, cab = filt(a * a) - ma**2, filt(b * b) - mb**2, filt(a * b) - ma * mb
    c1, c2 = 0.01**2, 0.03**2
    s = (2 * ma * mb + c1) * (2 * cab + c2) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return s.mean(axis=(1, 2))


def test_model_files_and_onnx_agree(brainvq, trained, splits, tmp_path):
    import onnxruntime as ort

    _, model = trained
    path = model.save(tmp_path / "model.bvq")
    loaded = brainvq.load(path)
    assert loaded.config == model.config and loaded.preprocess == model.preprocess
    assert loaded.test_ssim is None
    x = splits[2].images
    np.testing.assert_array_equal(loaded.reconstruct(x), model.reconstruct(x))
    loaded.test_ssim = 0.625
    loaded.save(tmp_path / "scored.bvq")
    assert brainvq.Model.load(tmp_path / "scored.bvq").test_ssim == 0.625

    files = loaded.export_onnx(tmp_path / "onnx")
    assert sorted(p.name for p in files) == sorted(
        ["encoder.onnx", "quantizer.onnx", "decoder.onnx", "vqvae.onnx", "codebook.npy"]
    )
    np.testing.assert_array_equal(np.load(tmp_path / "onnx" / "codebook.npy"), model.codebook)
    sess = ort.InferenceSession(
        str(tmp_path / "onnx" / "vqvae.onnx"), providers=["CPUExecutionProvider"]
    )
    meta = sess.get_modelmeta().custom_metadata_map
    assert meta["test_ssim"] == "0.625" and meta["image_size"] == "32"
    recon, idx = sess.run(["reconstruction", "indices"], {"image": x[:, None]})
    np.testing.assert_array_equal(idx, model.encode(x))
    np.testing.assert_allclose(recon[:, 0], model.reconstruct(x), rtol=0, atol=1e-4)


# -- process-level behaviour -----------------------------------------------------------------------------


_SIGINT_SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys, threading, time
    import numpy as np
    import brainvq

    # A shell that starts jobs in the background (CI runners do) hands them SIGINT ignored, and Python
    # then installs no handler of its own; an interactive session always has Python's default one.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:32, :32]
    imgs = np.stack([np.exp(-((xx - c) ** 2 + (yy - 16) ** 2) / 30.0) for c in rng.uniform(8, 24, 64)])
    trainer = brainvq.Trainer(imgs, imgs[:8], preset="seed", num_codes=16, batch_size=8,
                              steps_per_epoch=1_000_000, learning_rate=1e-3)
    sent = {}
    def interrupt():
        sent["t"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)
    threading.Timer(1.5, interrupt).start()
    out = {}
    try:
        trainer.fit(1, progress=False, chunk_seconds=0.2)
        out["error"] = "fit returned"
    except KeyboardInterrupt:
        out["delay"] = time.monotonic() - sent["t"]
    st = trainer.state()
    out.update(running=st["running"], step=st["step"], history=len(trainer.history))
    out["handler_restored"] = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # The trainer and its model stay usable: a snapshot reconstructs, training goes on, the open
    # epoch can be closed early and then saved.
    model = trainer.model
    out["recon_ok"] = bool(np.isfinite(model.reconstruct(imgs[:2])).all())
    more = trainer.steps(3)
    out["step_after"] = more["step"]
    stats = trainer.end_epoch()
    out["closed_steps"] = stats.steps
    trainer.save(sys.argv[1])
    out["saved"] = os.path.getsize(sys.argv[1]) > 0
    print(json.dumps(out))
    """
)


def test_sigint_during_fit_stops_cleanly(brainvq, tmp_path):
    script = tmp_path / "sigint.py"
    script.write_text(_SIGINT_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "after.bvq")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "error" not in out, out
    assert out["delay"] < 5, out  # one chunk (~0.2 s) plus slack for a busy machine
    assert out["running"] and out["step"] > 0 and out["history"] == 0, out
    assert out["handler_restored"] and out["recon_ok"], out
    assert out["step_after"] == out["step"] + 3, out
    assert out["closed_steps"] == out["step"] + 3 and out["saved"], out


def test_spawned_worker_runs_a_saved_model(brainvq, trained, splits, tmp_path, monkeypatch):
    import importlib
    import multiprocessing

    _, model = trained
    path = str(model.save(tmp_path / "m.bvq"))
    x = splits[2].images[:2]
    # The worker function must be importable in the child: put it in a module of its own.
    (tmp_path / "bvq_worker.py").write_text(
        "import brainvq\n\n\ndef reconstruct(path, x):\n    return brainvq.load(path).reconstruct(x)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    worker = importlib.import_module("bvq_worker")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(worker.reconstruct, (path, x)).get(timeout=120)
    np.testing.assert_array_equal(got, model.reconstruct(x))


def test_thousand_calls_do_not_grow_memory(brainvq, trained, splits):
    from brainvq._binding import gopy_handles

    trainer, model = trained
    x = splits[2].images[:4]

    def burst(n):
        for i in range(n):
            y = model.reconstruct(x)
            idx = model.encode(x)
            model.decode(idx)
            brainvq.ssim(x, y)
            if i % 50 == 0:
                with brainvq.Dataset.from_array(x) as ds:
                    model.evaluate(ds)
                trainer.model.close()
                with pytest.raises(ValueError):
                    model.decode(np.full((8, 8), 999))

    burst(100)
    gc.collect()
    handles0, live0, rss0 = gopy_handles(), brainvq.live_handles(), rss_bytes()
    burst(1000)
    gc.collect()
    grown = rss_bytes() - rss0
    assert gopy_handles() == handles0, "gopy handles leaked"
    assert brainvq.live_handles() == live0, "brainvq handles leaked"
    assert grown < 24 * 2**20, "RSS grew by %.1f MiB over 1000 rounds" % (grown / 2**20)


def test_threads_setting(brainvq):
    before = brainvq.get_threads()
    try:
        assert brainvq.set_threads(1) == 1 and brainvq.get_threads() == 1
    finally:
        brainvq.set_threads(0)
    assert brainvq.get_threads() == before or before >= 1
    with pytest.raises(ValueError, match="must not be negative"):
        brainvq.set_threads(-2)


def test_plots_draw(brainvq, trained, splits, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trainer, model = trained
    x = splits[2].images
    fig = brainvq.plot.losses(trainer.history)
    assert len(fig.axes) == 4 and fig.axes[0].get_yscale() == "log"
    assert [l.get_label() for l in fig.axes[0].get_lines()] == ["train", "validation"]
    fig.savefig(tmp_path / "losses.png")
    fig = brainvq.plot.reconstructions(x, model.reconstruct(x), n=4)
    assert len(fig.axes) == 8 and fig.axes[4].get_title().startswith("SSIM ")
    fig = brainvq.plot.code_usage(model.code_usage(x))
    assert "codes used" in fig._suptitle.get_text()
    fig = brainvq.plot.image_grid(np.stack([model.decode_code(k) for k in range(5)]), ncols=3)
    assert len(fig.axes) == 6
    plt.close("all")
    with pytest.raises(ValueError, match="empty"):
        brainvq.plot.losses([])


def test_model_serves_threads_at_once(brainvq, trained, splits):
    from concurrent.futures import ThreadPoolExecutor

    _, model = trained
    x = splits[2].images
    want = model.reconstruct(x)
    want_idx = model.encode(x)

    def work(i):
        for _ in range(10):
            if i % 2:
                np.testing.assert_array_equal(model.reconstruct(x), want)
            else:
                np.testing.assert_array_equal(model.encode(x), want_idx)
                model.test_ssim = 0.5 if i % 4 else None  # writes race with the reads in Go
        return i

    with ThreadPoolExecutor(4) as pool:
        assert sorted(pool.map(work, range(8))) == list(range(8))
