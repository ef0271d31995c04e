"""Checks of brainvq.Prior and brainvq.PriorTrainer against the installed wheel: training on tiny codes
(32×32 stand-in slices, the seed preset), sampling, completion, scoring, files and bad arguments.

The references are independent of the code under test where one exists: the unigram baseline is recomputed
here with numpy from the codes the model gives, and the uniforms are checked against the numpy PCG of
tests/onnx/prior_sampler.py (loaded from the checkout).
"""

from __future__ import annotations

import importlib.util
import math
import pickle

import numpy as np
import pytest

SMALL = dict(channels=16, layers=3, head_channels=32, batch_size=4, learning_rate=3e-3, seed=2)


@pytest.fixture(scope="module")
def prior_run(brainvq, trained, splits):
    """A tiny prior trained for 6 epochs of 8 steps on the model's codes of the training split."""
    _, model = trained
    train, val, _ = splits
    trainer = brainvq.PriorTrainer(model, train, val, steps_per_epoch=8, **SMALL)
    history = trainer.fit(6, progress=False)
    return trainer, history, trainer.prior


def test_levels_come_from_file_names(brainvq, prior_run, splits):
    trainer, _, prior = prior_run
    train = splits[0]
    # The stand-in names its files case_NNN_slice_K.nii.png: the prior knows levels 0 … max K.
    ks = [int(f.rsplit("slice_", 1)[1].split(".")[0]) for f in train.files]
    assert prior.levels == max(ks) + 1 == trainer.config["levels"]
    assert prior.grid == 8 and prior.num_codes == 32
    # Three layers over an 8×8 grid: the default dilations 1, 2, 4 (docs/model.md).
    assert trainer.config["dilations"] == [1, 2, 4]


def test_training_history_and_baseline(brainvq, prior_run, trained, splits):
    trainer, history, prior = prior_run
    _, model = trained
    train, val, _ = splits
    assert [e.epoch for e in history] == list(range(1, 7))
    assert all(e.steps == 8 for e in history)
    assert np.isfinite(history.column("val_bits_per_code")).all()
    assert history[-1].train_bits_per_code < history[0].train_bits_per_code
    # The unigram baseline, recomputed with numpy from the model's codes.
    codes_train = model.encode(train.images).ravel()
    codes_val = model.encode(val.images).ravel()
    p = (np.bincount(codes_train, minlength=32) + 1) / (codes_train.size + 32)
    want_bits = float(-np.log2(p[codes_val]).mean())
    uni = trainer.unigram()
    assert uni.bits_per_code == pytest.approx(want_bits, rel=1e-9)
    assert uni.accuracy == pytest.approx(float((codes_val == np.argmax(p)).mean()))
    # On the codes it was trained on, the prior beats the unigram distribution of those codes.
    fit_train = prior.nll(train)
    assert fit_train.bits_per_code < trainer.unigram(train).bits_per_code
    assert 0 <= fit_train.accuracy <= 1 and fit_train.positions == len(train) * 64
    assert fit_train.image_bits_per_code.shape == (len(train),)
    assert fit_train.image_bits_per_code.mean() == pytest.approx(fit_train.bits_per_code)
    # The same score from images and from code grids with the levels of the file names.
    ks = [int(f.rsplit("slice_", 1)[1].split(".")[0]) for f in train.files]
    from_codes = prior.nll(model.encode(train.images), levels=ks)
    assert from_codes.bits_per_code == pytest.approx(fit_train.bits_per_code, rel=1e-12)
    # The last epoch's validation score is what nll gives on the validation set.
    assert prior.nll(val).bits_per_code == pytest.approx(history[-1].val_bits_per_code, rel=1e-9)


def test_sample_shapes_seeds_and_samplers(brainvq, prior_run):
    _, _, prior = prior_run
    codes, images = prior.sample(3, level=2, seed=5)
    assert codes.shape == (3, 8, 8) and codes.dtype == np.int64
    assert images.shape == (3, 32, 32) and images.dtype == np.float32
    assert codes.min() >= 0 and codes.max() < 32
    assert images.min() >= 0 and images.max() <= 1
    np.testing.assert_array_equal(images, prior.model.decode(codes))
    again, _ = prior.sample(3, level=2, seed=5)
    np.testing.assert_array_equal(codes, again)
    other, _ = prior.sample(3, level=2, seed=6)
    assert (other != codes).any()
    # Sample i of a seed does not depend on n.
    np.testing.assert_array_equal(prior.sample_codes(1, 2, seed=5, first=1)[0], codes[1])
    # The fast sampler draws exactly the naive sampler's codes, with top-k/top-p too.
    for kw in (dict(), dict(temperature=0.7, top_k=5, top_p=0.9)):
        fast = prior.sample_codes(2, [0, -1], seed=3, **kw)
        naive = prior.sample_codes(2, [0, -1], seed=3, naive=True, **kw)
        np.testing.assert_array_equal(fast, naive)


def test_uniforms_match_the_numpy_pcg(brainvq, prior_run, repo):
    _, _, prior = prior_run
    spec = importlib.util.spec_from_file_location(
        "prior_sampler", repo / "tests/onnx/prior_sampler.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    u = prior.uniforms(2, seed=9, first=3)
    assert u.shape == (2, 8, 8) and u.dtype == np.float64
    np.testing.assert_array_equal(u, mod.go_uniforms(9, 3, 2, 8))


def test_complete_keeps_the_kept_codes(brainvq, prior_run, splits):
    _, _, prior = prior_run
    test = splits[2]
    x = test[:2]
    codes, images = prior.complete(x, keep_rows=16, n=3, seed=4)
    assert codes.shape == (2, 3, 8, 8) and images.shape == (2, 3, 32, 32)
    own = prior.model.encode(x)
    for k in range(2):
        for i in range(3):
            np.testing.assert_array_equal(
                codes[k, i, :4], own[k, :4]
            )  # rows 0…3 cover image rows 0…15
    assert (codes[:, :, 4:] != own[:, None, 4:]).any()
    # One image in, one set of completions out; a mask keeps the cells it does not touch.
    mask = np.zeros((32, 32), dtype=bool)
    mask[8:20, 8:20] = True  # cells 2…4 in both directions
    c1, i1 = prior.complete(x[0], mask=mask, n=2, level=-1)
    assert c1.shape == (2, 8, 8) and i1.shape == (2, 32, 32)
    keep = np.ones((8, 8), dtype=bool)
    keep[2:5, 2:5] = False
    for i in range(2):
        np.testing.assert_array_equal(c1[i][keep], own[0][keep])
    # A Dataset brings its levels; completion is reproducible.
    c2, _ = prior.complete(test, n=1, seed=4)
    c3, _ = prior.complete(test, n=1, seed=4)
    np.testing.assert_array_equal(c2, c3)
    assert c2.shape == (len(test), 1, 8, 8)


def test_save_load_pickle_and_export(brainvq, prior_run, trained, splits, tmp_path):
    trainer, _, prior = prior_run
    _, model = trained
    path = prior.save(tmp_path / "prior.bvqp")
    loaded = brainvq.load_prior(path, model=model)
    assert loaded.epoch == 6 and loaded.config == prior.config
    np.testing.assert_array_equal(loaded.sample_codes(2, seed=1), prior.sample_codes(2, seed=1))
    assert loaded.to_bytes() == prior.to_bytes()
    clone = pickle.loads(pickle.dumps(prior))
    np.testing.assert_array_equal(clone.sample(1, seed=2)[0], prior.sample(1, seed=2)[0])
    onnx_path = prior.export_onnx(tmp_path / "onnx")
    assert onnx_path.name == "prior.onnx" and onnx_path.stat().st_size > 1000
    # A saved trainer resumes where it stopped.
    trainer.save(tmp_path / "t.bvqp")
    resumed = brainvq.PriorTrainer.resume(tmp_path / "t.bvqp", model, splits[0])
    assert resumed.epochs_completed == 6
    resumed.close()


def test_prior_fit_convenience_and_unconditional(brainvq, trained, splits):
    _, model = trained
    train = splits[0]
    prior = brainvq.Prior.fit(
        model, train, epochs=1, levels=False, steps_per_epoch=2, progress=False, **SMALL
    )
    assert prior.levels == 0 and len(prior.history) == 1 and prior.model is model
    assert math.isnan(prior.history[0].val_bits_per_code)
    codes, _ = prior.sample(2)
    assert codes.shape == (2, 8, 8)
    with pytest.raises(ValueError, match="level: slice level out of range"):
        prior.sample(1, level=0)


def test_bad_arguments(brainvq, prior_run, trained, splits, tmp_path):
    _, _, prior = prior_run
    _, model = trained
    with pytest.raises(ValueError, match="n must be at least 1"):
        prior.sample(0)
    with pytest.raises(TypeError, match="n must be an integer"):
        prior.sample(2.0)
    with pytest.raises(ValueError, match="level: slice level out of range"):
        prior.sample(1, level=prior.levels)
    with pytest.raises(ValueError, match="level: levels must be -1"):
        prior.sample(1, level=-3)
    with pytest.raises(ValueError, match="temperature: 0 must be positive"):
        prior.sample(1, temperature=0)
    with pytest.raises(ValueError, match="top_k: "):
        prior.sample(1, top_k=33)
    with pytest.raises(ValueError, match="top_p: "):
        prior.sample(1, top_p=0)
    with pytest.raises(ValueError, match="seed must be at least 0"):
        prior.sample(1, seed=-1)
    with pytest.raises(ValueError, match="keep_rows, mask"):
        prior.complete(splits[2][0], keep_rows=8, mask=np.ones((32, 32)))
    with pytest.raises(ValueError, match="mask: marks no pixel"):
        prior.complete(splits[2][0], mask=np.zeros((32, 32)))
    # A VQ-VAE of another training run is refused, naming the parameter.
    train = splits[0]
    other = brainvq.Trainer(
        train, preset="seed", num_codes=32, batch_size=4, steps_per_epoch=1, seed=9
    )
    other.fit(1, progress=False)
    with pytest.raises(
        ValueError, match="model: the prior was trained on the codes of another VQ-VAE"
    ):
        prior.sample(1, model=other.model)
    with pytest.raises(ValueError, match="model: "):
        brainvq.load_prior(prior.save(tmp_path / "p.bvqp"), model=other.model)
    with pytest.raises(TypeError, match="epochs must be an integer"):
        brainvq.PriorTrainer(model, train, **SMALL).fit(1.5)
    with pytest.raises(ValueError, match="kernel: prior: kernel 4"):
        brainvq.PriorTrainer(model, train, kernel=4)
    with pytest.raises(
        ValueError, match="prior: layer 1's dilation 3 must be ≥ 1 and divide the grid side 8"
    ):
        brainvq.PriorTrainer(model, train, layers=3, dilations=[1, 3, 1])
    with pytest.raises(ValueError, match="prior: 2 dilations for 3 layers"):
        brainvq.PriorTrainer(model, train, layers=3, dilations=[1, 2])
    with pytest.raises(TypeError, match="dilations must be a sequence of ints"):
        brainvq.PriorTrainer(model, train, dilations="124")
    with pytest.raises(FileNotFoundError):
        brainvq.load_prior("/nonexistent/prior.bvqp")


def test_ctrl_c_drops_the_running_epoch(brainvq, trained, splits):
    import os
    import signal
    import threading

    _, model = trained
    # Enough steps to outlast the timer many times over, but finite: a missed interrupt fails, never hangs.
    trainer = brainvq.PriorTrainer(model, splits[0], steps_per_epoch=20000, **SMALL)
    before = trainer.prior.to_bytes()
    # A shell that starts jobs in the background (CI runners do) hands them SIGINT ignored, and Python then
    # installs no handler: install Python's own, as an interactive session has it.
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            trainer.fit(1, progress=False, chunk_seconds=0.2)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, old)
    # Back at the last finished epoch (none): the prior is the initial one, and it samples.
    assert trainer.epochs_completed == 0 and trainer.history == []
    assert trainer.prior.to_bytes() == before
    assert trainer.prior.sample_codes(1).shape == (1, 8, 8)
    trainer.close()
