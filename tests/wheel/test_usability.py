"""The Python API as PyTorch and matplotlib users expect it, against the installed wheel: training on
one's own iterables of batches with a transform, pickling models into spawned workers, the training
defaults shared with Go, divergence warnings, argument types, plot helpers with ``ax=`` that display
once in Jupyter, and type information (``py.typed``, mypy on the README example).
"""

from __future__ import annotations

import importlib
import math
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

# The tiny runs take a dozen steps: a constant rate without warm-up (the default 30-step warm-up is sized for
# real runs), so that "the loss fell" is a fair question after so few steps.
SEED_KW = dict(
    preset="seed",
    num_codes=16,
    batch_size=4,
    learning_rate=1e-3,
    seed=11,
    lr_schedule="constant",
    warmup_steps=0,
)


# -- own data and augmentations --------------------------------------------------------------------------


def _flip(batch):
    return batch[:, :, ::-1]


def test_transform_is_what_the_model_sees(brainvq, splits):
    """Training with a flip transform equals training on the flipped images (same shuffle, same
    constants), and differs from training on the images as they are."""
    train, val, _ = splits
    x = train.images
    pre = train.stats()
    seen = []

    def counting_flip(batch):
        seen.append(batch.shape)
        return _flip(batch)

    kw = dict(SEED_KW, steps_per_epoch=5, preprocess=pre)
    flipped = brainvq.Trainer(train, val, transform=counting_flip, **kw)
    flipped.fit(2, progress=False)
    assert seen == [(4, 32, 32)] * 10
    reference = brainvq.Trainer(
        np.ascontiguousarray(x[:, :, ::-1]), val, transform=lambda b: b, **kw
    )
    reference.fit(2, progress=False)
    plain = brainvq.Trainer(train, val, transform=lambda b: b, **kw)
    plain.fit(2, progress=False)
    a, b, c = flipped.history, reference.history, plain.history
    assert a.column("train_recon_loss").tolist() == b.column("train_recon_loss").tolist()
    assert a.column("val_ssim").tolist() == b.column("val_ssim").tolist()
    assert a.column("train_recon_loss").tolist() != c.column("train_recon_loss").tolist()
    probe = val.images[:2]
    np.testing.assert_array_equal(
        flipped.model.reconstruct(probe), reference.model.reconstruct(probe)
    )


def test_trainer_takes_a_generator_of_batches(brainvq, splits):
    train, val, _ = splits
    x = train.images
    calls = []

    def batches():  # an endless generator of uint8 [B, 1, S, S] batches, as a loader might yield
        rng = np.random.default_rng(0)
        while True:
            idx = rng.choice(len(x), 4, replace=False)
            yield np.round(x[idx, None] * 255).astype(np.uint8)

    def transform(batch):
        calls.append(batch.dtype)
        return _flip(batch)

    trainer = brainvq.Trainer(
        batches(), val, transform=transform, **dict(SEED_KW, steps_per_epoch=6)
    )
    assert trainer.train_set is None and trainer.config["image_size"] == 32
    events = []
    h = trainer.fit(2, progress=events.append)
    assert [e.steps for e in h] == [6, 6] and len(calls) == 12
    assert all(dt == np.float32 for dt in calls)  # the transform sees float32 in [0, 1]
    steps = [e for e in events if "event" not in e]
    assert steps[-1]["step"] == 6 and steps[-1]["steps"] == 6
    assert h[-1].train_recon_loss < h[0].train_recon_loss
    assert not math.isnan(h[-1].val_ssim)
    # The first batch (read to learn the image size) is trained on, not lost: the same generator
    # fed without a transform gives what the dataset-free constants say.
    assert trainer.preprocess["variance"] > 0


def test_iterable_batches_are_cut_into_steps_and_reread_each_epoch(brainvq, splits):
    train, val, _ = splits
    x = train.images[:10]
    chunks = [x[0:3], x[3:6], x[6:9], x[9:10]]  # 10 images in uneven batches: 2 steps of 4
    trainer = brainvq.Trainer(chunks, val, **SEED_KW)
    h = trainer.fit(2, progress=False)
    assert [e.steps for e in h] == [2, 2]
    # Feeding the same images as exact batches takes the same steps.
    exact = brainvq.Trainer([x[0:4], x[4:8]], val, preprocess=_stats(x[:3]), **SEED_KW)
    exact.fit(2, progress=False)
    assert (
        h.column("train_recon_loss").tolist() == exact.history.column("train_recon_loss").tolist()
    )


def _stats(first):
    f = first.astype(np.float64)
    return float(f.mean()), float(f.var())


def test_one_shot_generator_runs_out_with_a_clear_error(brainvq, splits):
    train, val, _ = splits
    x = train.images[:8]
    trainer = brainvq.Trainer((x[i : i + 4] for i in (0, 4)), val, **SEED_KW)
    assert trainer.fit(1, progress=False)[-1].steps == 2
    with pytest.raises(ValueError, match="iterator is exhausted"):
        trainer.fit(1, progress=False)
    with pytest.raises(TypeError, match="train must be a Dataset, an image array or an iterable"):
        brainvq.Trainer(42, val, **SEED_KW)
    with pytest.raises(ValueError, match="iterable of batches is empty"):
        brainvq.Trainer([], val, **SEED_KW)
    with pytest.raises(ValueError, match="transform output: images are 16×16, expected 32×32"):
        brainvq.Trainer([x[:4]], transform=lambda b: b[:, :16, :16], **SEED_KW).fit(
            1, progress=False
        )


# -- pickling ------------------------------------------------------------------------------------------


def test_models_pickle_by_their_checkpoint(brainvq, trained, splits, tmp_path):
    trainer, model = trained
    x = splits[2].images[:3]
    data = pickle.dumps(model)
    assert model.to_bytes() in data  # by value: the checkpoint bytes
    again = pickle.loads(data)
    assert again is not model and again.handle != model.handle
    assert again.config == model.config and again.epoch == model.epoch
    np.testing.assert_array_equal(again.reconstruct(x), model.reconstruct(x))
    model.save(tmp_path / "m.bvq")
    assert (tmp_path / "m.bvq").read_bytes() == model.to_bytes()
    for obj in (trainer, splits[0]):
        with pytest.raises(TypeError, match="cannot pickle"):
            pickle.dumps(obj)


def test_model_passes_to_a_spawned_worker(brainvq, trained, splits, tmp_path, monkeypatch):
    import multiprocessing

    _, model = trained
    x = splits[2].images[:2]
    (tmp_path / "bvq_pickle_worker.py").write_text(
        "def reconstruct(model, x):\n    return model.reconstruct(x), model.epoch\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    worker = importlib.import_module("bvq_pickle_worker")
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        got, epoch = pool.apply_async(worker.reconstruct, (model, x)).get(timeout=120)
    assert epoch == model.epoch
    np.testing.assert_array_equal(got, model.reconstruct(x))


# -- defaults, divergence, argument types ---------------------------------------------------------------


def test_trainer_defaults_are_the_go_ones(brainvq, splits):
    """A Trainer given no settings has Go's defaults (TrainDefaults, the table `brainvq train` reads):
    the training options, the preset, and that preset's model configuration."""
    d = brainvq.defaults()
    trainer = brainvq.Trainer(splits[0])
    opts, cfg = trainer.options, trainer.config
    # image_size is the command's --size default; a Trainer takes its training images' size.
    assert cfg["image_size"] == 32 and d["image_size"] != 32
    compared = set()
    for key, value in d.items():
        for have in (opts, cfg):
            if key in have and key != "image_size":
                assert have[key] == value, (key, have[key], value)
                compared.add(key)
    assert {"batch_size", "learning_rate", "seed", "steps_per_epoch", "preset", "ema"} <= compared
    preset_cfg = dict(d["presets"][d["preset"]], image_size=32)
    assert cfg == preset_cfg
    assert d is not brainvq.defaults()  # a fresh dict every call


def test_divergence_warns_to_lower_the_learning_rate(brainvq, splits):
    train = splits[0]
    trainer = brainvq.Trainer(train, **dict(SEED_KW, learning_rate=10.0, steps_per_epoch=16))
    with pytest.warns(brainvq.DivergenceWarning, match=r"learning rate 10 is probably too high"):
        try:
            trainer.fit(1, progress=False, chunk_seconds=0.0)
        except FloatingPointError as exc:  # a NaN after the warning is fine; before it is not
            assert "lower the learning rate" in str(exc)


def test_healthy_training_does_not_warn(brainvq, splits):
    trainer = brainvq.Trainer(splits[0], **dict(SEED_KW, steps_per_epoch=16))
    with warnings.catch_warnings():
        warnings.simplefilter("error", brainvq.DivergenceWarning)
        trainer.fit(2, progress=False, chunk_seconds=0.0)


def test_fit_rejects_non_integer_epochs(brainvq, trained):
    trainer, _ = trained
    before = trainer.epochs_completed
    for bad in (2.7, 2.0, "2", True):
        with pytest.raises(TypeError, match="epochs must be an integer"):
            trainer.fit(bad, progress=False)
    with pytest.raises(ValueError, match="epochs must be at least 0"):
        trainer.fit(-1, progress=False)
    assert trainer.fit(np.int64(0), progress=False) == trainer.history
    assert trainer.epochs_completed == before


# -- plots -----------------------------------------------------------------------------------------------


def test_plot_helpers_draw_into_ax_and_leave_no_open_figure(brainvq, trained, splits):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trainer, model = trained
    x = splits[2].images[:3]
    y = model.reconstruct(x)
    plt.close("all")
    figs = [
        brainvq.plot.losses(trainer.history),
        brainvq.plot.reconstructions(x, y),
        brainvq.plot.code_usage(model.code_usage(x)),
        brainvq.plot.image_grid(x),
    ]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figs)
    assert plt.get_fignums() == []  # returned, not left open in pyplot (no second display)

    fig, axes = plt.subplots(2, 2)
    assert brainvq.plot.losses(trainer.history, ax=axes[0, 0], panel="ssim") is None
    assert axes[0, 0].get_title() == "Validation SSIM" and len(axes[0, 0].get_lines()) == 1
    assert brainvq.plot.reconstructions(x, y, ax=axes[0, 1]) is None
    (img,) = axes[0, 1].get_images()
    assert img.get_array().shape == (2 * 32 + 2, 3 * 32 + 2 * 2)  # two rows of three, 2 px gaps
    texts = [t.get_text() for t in axes[0, 1].texts]
    assert len(texts) == 3 and all(t.startswith("SSIM ") for t in texts)
    assert brainvq.plot.code_usage(model.code_usage(x), ax=axes[1, 0]) is None
    assert len(axes[1, 0].patches) == model.num_codes
    assert "codes used" in axes[1, 0].get_title()
    assert brainvq.plot.image_grid(x, titles=["a", "b", "c"], ncols=2, ax=axes[1, 1]) is None
    assert [t.get_text() for t in axes[1, 1].texts] == ["a", "b", "c"]
    assert plt.get_fignums() == [fig.number]
    plt.close("all")
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        brainvq.plot.losses(trainer.history, ax="left")
    with pytest.raises(ValueError, match="panel must be one of"):
        brainvq.plot.losses(trainer.history, panel="loss")


def test_plot_shows_once_in_jupyter(brainvq, monkeypatch):
    """In a real kernel with the inline backend: a helper as a cell's last value shows one image;
    drawing into your own axes shows one image too."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv(
        "MPLBACKEND", raising=False
    )  # tests/wheel/run.sh sets Agg; the kernel must not
    rows = "[dict(epoch=e, train_recon_loss=1.0 / e, train_vq_loss=0.1, train_perplexity=3.0) for e in (1, 2)]"
    cells = [
        "import brainvq\nimport matplotlib.pyplot as plt\nh = " + rows,
        "brainvq.plot.losses(h)",
        "fig, ax = plt.subplots()\nbrainvq.plot.losses(h, ax=ax)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()

    def images(cell):
        return sum("image/png" in out.get("data", {}) for out in cell.outputs)

    assert images(nb.cells[1]) == 1, nb.cells[1].outputs
    assert images(nb.cells[2]) == 1, nb.cells[2].outputs


# -- types ------------------------------------------------------------------------------------------------


def test_package_ships_type_information(brainvq):
    assert (Path(brainvq.__file__).parent / "py.typed").is_file()
    import typing

    hints = typing.get_type_hints(brainvq.Model.reconstruct)
    assert "ndarray" in str(hints["return"]) and "float32" in str(hints["return"])
    assert hints["x"] is not object


def test_readme_example_is_typed_against_the_installed_package(brainvq, repo, tmp_path):
    readme = (repo / "README.md").read_text()
    block = readme.split("## Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    example = (repo / "tests" / "wheel" / "readme_example.py").read_text()
    assert (
        example.split("# fmt: off\n", 1)[1] == block
    ), "tests/wheel/readme_example.py differs from the README's Python example: copy it over"
    mypy_python = repo / ".venv" / "bin" / "python"
    probe = subprocess.run([str(mypy_python), "-m", "mypy", "--version"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("mypy is not installed in %s (scripts/setup.sh installs it)" % mypy_python)
    # mypy of the repository's venv, reading packages from this (the wheel's) interpreter: brainvq is
    # found there only through its py.typed marker (PEP 561).
    proc = subprocess.run(
        [
            str(mypy_python),
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--python-executable",
            sys.executable,
            str(repo / "tests" / "wheel" / "readme_example.py"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
