"""Tests of the TensorFlow/Keras twin (bench/tf_vqvae.py).

Run with the benchmark's environment: `bench/setup.sh && bench/.venv/bin/python -m pytest bench`.

References: core/model's parameter table (through bench/listparams, so both frameworks train the same
architecture with the same parameter count) and the PyTorch twin (torch_vqvae.py, itself tested against
docs/model.md and a NumPy reference), run on the same weights.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
torch = pytest.importorskip("torch")

import tf_vqvae as tfv  # noqa: E402
import torch_vqvae as tv  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def go_param_shapes(preset: str) -> dict[str, tuple[int, ...]]:
    go = shutil.which("go")
    assert go, "the Go toolchain is needed: the test compares against core/model"
    out = subprocess.run(
        [go, "run", "./bench/listparams", "-preset", preset],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {k: tuple(v) for k, v in json.loads(out).items()}


@pytest.mark.parametrize("preset", tv.PRESETS)
def test_param_table_and_count_match_core_model(preset):
    model = tfv.build_model(preset)
    shapes = tfv.brainvq_shapes(model)
    assert shapes == go_param_shapes(preset)
    # Nothing else is trainable, and the count is core/model's.
    count = sum(math.prod(s) for s in shapes.values())
    assert sum(int(np.prod(v.shape)) for v in model.trainable_variables) == count
    assert len(model.trainable_variables) == len(shapes)


@pytest.mark.parametrize("preset", tv.PRESETS)
def test_forward_and_losses_match_the_torch_twin(preset):
    """The same weights in both twins give the same reconstruction, indices and losses on a small input
    (the convolutions do not depend on the side; 32×32 keeps the test fast)."""
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, size=(2, 32, 32), dtype=np.uint8)
    mean, var = tv.preprocess_constants(pixels)
    u = tv.to_model_input(pixels, mean)  # [N,1,S,S]
    tm = tv.build_model(preset, seed=5)
    arrays = {n: p.detach().numpy() for n, p in tm.named_parameters()}
    km = tfv.build_model(preset)
    tfv.set_brainvq_weights(km, arrays)
    with torch.no_grad():
        v_t, _, _, idx_t = tm(torch.from_numpy(u))
        total_t = tm.losses(torch.from_numpy(u), var)[0]
    u_nhwc = u.transpose(0, 2, 3, 1)
    v_k, _, _, idx_k = km(tf.constant(u_nhwc))
    total_k = tfv.losses(km, tf.constant(u_nhwc), var)[0]
    np.testing.assert_array_equal(idx_k.numpy(), idx_t.numpy())
    np.testing.assert_allclose(v_k.numpy(), v_t.numpy().transpose(0, 2, 3, 1), atol=2e-5)
    assert float(total_k) == pytest.approx(float(total_t), rel=1e-4)


def test_set_weights_rejects_a_wrong_table():
    km = tfv.build_model("seed")
    arrays = {n: np.zeros(s, np.float32) for n, s in tfv.brainvq_shapes(km).items()}
    bad = dict(arrays)
    del bad["enc.conv1.bias"]
    with pytest.raises(ValueError, match="missing parameters \\['enc.conv1.bias'\\]"):
        tfv.set_brainvq_weights(km, bad)
    bad = dict(arrays, **{"enc.conv1.weight": np.zeros((1, 2, 3, 4), np.float32)})
    with pytest.raises(ValueError, match="enc.conv1.weight has shape"):
        tfv.set_brainvq_weights(km, bad)


@pytest.mark.parametrize("config", tfv.TF_CONFIGS)
def test_one_training_step_and_one_inference_batch_run(config):
    """The measurement itself, at its smallest: one timed step of each mode on 32×32 images."""
    pixels = tv.make_data(4, 32, seed=2)
    for mode in ("train", "infer"):
        r = tfv.bench_tf(mode, "seed", pixels, 2, 1, 0, 1, config=config)
        assert "error" not in r, r.get("error")
        assert r["system"] == "tensorflow" and r["config"] == config and r["img_per_s"] > 0
        assert r["peak_rss_mib"] >= r["baseline_rss_mib"] > 0
        assert "oneDNN" in r["isa"] and "family" in r["cpu"]
        if mode == "train":
            assert math.isfinite(r["loss_first"])
