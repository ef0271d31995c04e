"""prior.onnx is valid ONNX, computes Go's logits, and the Python sampler draws Go's codes.

Every comparison is against the Go prior's own outputs on small priors with random weights (conftest.py,
onnxexport/internal/fixtures/prior.go): logits within 1e-4 max abs of (*prior.Prior).Logits, and the codes
of prior_sampler.sample over onnxruntime identical to those of Go's fast sampler (*prior.Prior).Sample fed
the same uniforms, for every sampling case.
"""

import pathlib
import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

import prior_sampler

HERE = pathlib.Path(__file__).resolve().parent
DOCS = HERE.parents[1] / "docs" / "onnx.md"
PRIOR_OPS = {
    "Shape",
    "Concat",
    "Expand",
    "Gather",
    "Transpose",
    "Conv",
    "Unsqueeze",
    "Add",
    "Slice",
    "Tanh",
    "Sigmoid",
    "Mul",
    "Relu",
}
CASES = ["default", "temperature", "top_k", "top_p", "combined", "complete"]


@pytest.fixture(scope="module")
def sessions():
    cache = {}

    def get(pfx):
        if pfx.model_path not in cache:
            cache[pfx.model_path] = ort.InferenceSession(
                str(pfx.model_path), providers=["CPUExecutionProvider"]
            )
        return cache[pfx.model_path]

    return get


def dims(value_info):
    return [
        d.dim_param if d.HasField("dim_param") else d.dim_value
        for d in value_info.type.tensor_type.shape.dim
    ]


def test_checker_full(pfx):
    model = onnx.load(pfx.model_path)
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version == 8
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    ops = {n.op_type for n in model.graph.node}
    assert ops <= PRIOR_OPS, ops - PRIOR_OPS
    assert all(n.domain == "" for n in model.graph.node)
    assert model.graph.doc_string
    c = pfx.config
    g, k = c["grid"], c["num_codes"]
    i64, f32 = onnx.TensorProto.INT64, onnx.TensorProto.FLOAT
    got = [(v.name, v.type.tensor_type.elem_type, dims(v)) for v in model.graph.input]
    assert got == [("codes", i64, ["N", g, g]), ("level", i64, ["N"])]
    got = [(v.name, v.type.tensor_type.elem_type, dims(v)) for v in model.graph.output]
    assert got == [("logits", f32, ["N", k, g, g])]


def test_metadata(pfx):
    meta = {p.key: p.value for p in onnx.load(pfx.model_path).metadata_props}
    c, e = pfx.config, pfx.expected
    want = {
        "graph": "prior",
        "num_codes": c["num_codes"],
        "code_dim": c["code_dim"],
        "grid": c["grid"],
        "levels": c["levels"],
        "classes": c["levels"] + 1,
        "null_class": c["levels"],
        "channels": c["channels"],
        "layers": c["layers"],
        "kernel": c["kernel"],
        "head_channels": c["head_channels"],
        "vqvae_fingerprint": e["vqvae_fingerprint"],
        "brainvq_version": e["version"],
        "producer": "brainvq",
    }
    for key, value in want.items():
        assert meta[key] == str(value), key
    assert "top_p" in meta["sampling"] and "raster order" in meta["sampling"]
    assert "PCG" in meta["uniforms"] and "0xda942042e4dd58b5" in meta["uniforms"]


def test_vertical_weights_are_masked(pfx):
    """The k×k vertical kernels are stored with the causal mask applied: rows below the centre are zero,
    and so is the centre row in the first layer; the others are not (the fixture's weights are random).
    """
    inits = {t.name: numpy_helper.to_array(t) for t in onnx.load(pfx.model_path).graph.initializer}
    c = pfx.config
    half = c["kernel"] // 2
    for layer in range(c["layers"]):
        w = inits[f"l{layer}.v.weight_masked"]
        open_rows = half if layer == 0 else half + 1
        assert np.all(w[:, :, open_rows:, :] == 0), layer
        assert np.all(
            np.abs(w[:, :, :open_rows, :]).reshape(-1, open_rows * c["kernel"]).max(0) > 0
        )
        assert f"l{layer}.v.weight" not in inits  # only the masked copy is stored


def test_logits_match_go(pfx, sessions):
    sess = sessions(pfx)
    codes, classes = pfx.array("codes"), pfx.array("classes")
    want = pfx.array("go_logits")
    (got,) = sess.run(["logits"], {"codes": codes, "level": classes})
    assert got.shape == want.shape and got.dtype == np.float32
    err = np.abs(got - want).max()
    print(
        f"{pfx.expected['name']}: max |logits ONNX − Go| = {err:.2e} (|logits| ≤ {np.abs(want).max():.2f})"
    )
    assert err < 1e-4
    # One grid at a time gives the batch's logits (the batch dimension is dynamic and independent).
    for n in range(len(codes)):
        (one,) = sess.run(["logits"], {"codes": codes[n : n + 1], "level": classes[n : n + 1]})
        np.testing.assert_allclose(one[0], got[n], rtol=0, atol=1e-6)


def test_logits_are_causal(pfx, sessions):
    """Changing the code at q changes no logit at q or before it (raster order), and changes later ones."""
    sess = sessions(pfx)
    codes, classes = pfx.array("codes")[:1], pfx.array("classes")[:1]
    g, k = pfx.config["grid"], pfx.config["num_codes"]
    (base,) = sess.run(["logits"], {"codes": codes, "level": classes})
    later_changed = 0
    for q in range(0, g * g, 5):
        changed = codes.copy()
        changed.reshape(-1)[q] = (changed.reshape(-1)[q] + 1) % k
        (got,) = sess.run(["logits"], {"codes": changed, "level": classes})
        before = got.reshape(k, -1)[:, : q + 1]
        assert np.array_equal(before, base.reshape(k, -1)[:, : q + 1]), q
        later_changed += int(
            np.any(got.reshape(k, -1)[:, q + 1 :] != base.reshape(k, -1)[:, q + 1 :])
        )
    assert later_changed > 0


def test_levels(pfx, sessions):
    """Each class has its own logits; a class outside [0,L] (beyond Gather's range) is an error."""
    sess = sessions(pfx)
    codes = np.repeat(pfx.array("codes")[:1], pfx.config["levels"] + 1, axis=0)
    classes = np.arange(pfx.config["levels"] + 1, dtype=np.int64)
    (got,) = sess.run(["logits"], {"codes": codes, "level": classes})
    for a in range(len(classes)):
        for b in range(a):
            assert not np.allclose(got[a], got[b]), (a, b)
    with pytest.raises(Exception, match="Gather"):
        sess.run(["logits"], {"codes": codes[:1], "level": classes[-1:] + 1})


def test_uniforms_match_go(pfx):
    want = pfx.array("uniforms")
    seed, (n, g, _) = pfx.expected["uniform_seed"], want.shape
    got = prior_sampler.go_uniforms(seed, 0, n, g)
    assert got.dtype == np.float64 and np.array_equal(got, want)
    # Sample s of a seed is the same whatever the first sample of the request.
    assert np.array_equal(prior_sampler.go_uniforms(seed, 2, 1, g)[0], want[2])
    assert not np.array_equal(prior_sampler.go_uniforms(seed + 1, 0, 1, g)[0], want[0])


def options(pfx, case):
    (c,) = [c for c in pfx.expected["cases"] if c["name"] == case]
    opts = {"temperature": c["temperature"], "top_k": c["top_k"], "top_p": c["top_p"]}
    keep = pfx.array("keep").astype(bool) if c["complete"] else None
    return opts, keep


@pytest.mark.parametrize("case", CASES)
def test_sampler_draws_go_codes(pfx, sessions, case):
    opts, keep = options(pfx, case)
    want = pfx.array(f"go_samples_{case}")
    known = pfx.array("known")
    got = prior_sampler.sample(
        sessions(pfx),
        pfx.array("sample_classes"),
        pfx.array("uniforms"),
        known=known if keep is not None else None,
        keep=keep,
        **opts,
    )
    assert got.dtype == np.int64 and got.shape == want.shape
    diff = np.argwhere(got != want)
    assert len(diff) == 0, f"{len(diff)} codes differ from Go's, first at {diff[0]}"
    if keep is not None:
        assert np.array_equal(got[keep], known[keep])


def test_cases_differ(pfx):
    """The cases draw different codes, so a sampler that ignored an option would fail its case."""
    samples = {case: pfx.array(f"go_samples_{case}") for case in CASES}
    for a in CASES:
        for b in CASES:
            if a < b:
                assert not np.array_equal(samples[a], samples[b]), (a, b)
    top_k = pfx.expected["cases"][CASES.index("top_k")]["top_k"]
    assert len(np.unique(samples["default"])) > top_k


@pytest.mark.parametrize("case", CASES)
def test_agreement(pfx, sessions, case):
    sess = sessions(pfx)
    opts, keep = options(pfx, case)
    codes = pfx.array(f"go_samples_{case}")
    classes, uniforms = pfx.array("sample_classes"), pfx.array("uniforms")
    same = prior_sampler.agreement(sess, codes, classes, uniforms, keep=keep, **opts)
    assert same.dtype == bool and same.shape == (len(codes),) and same.all()
    # One changed code (at a drawn position) makes its sample disagree, and only that sample.
    free = (
        np.argwhere(~keep[1]) if keep is not None else np.argwhere(np.ones(codes.shape[1:], bool))
    )
    i, j = free[len(free) // 2]
    bad = codes.copy()
    bad[1, i, j] = (bad[1, i, j] + 1) % pfx.config["num_codes"]
    same = prior_sampler.agreement(sess, bad, classes, uniforms, keep=keep, **opts)
    assert not same[1] and same[np.arange(len(codes)) != 1].all()


def test_draw_rules():
    """The rules of Draw on hand-made logits."""
    logits = np.array([[0.0, 2.0, 2.0, 1.0]], dtype=np.float32)
    p = np.exp([0.0, 2.0, 2.0, 1.0])
    cum = np.cumsum(p) / p.sum()
    # Index order without truncation: u just below / at each boundary.
    for r, c in enumerate(cum[:-1]):
        assert prior_sampler.draw(logits, [c - 1e-9])[0] == r
        assert prior_sampler.draw(logits, [c + 1e-9])[0] == r + 1
    # Ranked order with top-k: 2.0 twice, code 1 before code 2 (the lower index first), then code 3.
    assert prior_sampler.draw(logits, [0.0], top_k=1)[0] == 1
    assert prior_sampler.draw(logits, [0.49], top_k=2)[0] == 1
    assert prior_sampler.draw(logits, [0.51], top_k=2)[0] == 2
    assert prior_sampler.draw(logits, [0.99], top_k=3)[0] == 3
    # Top-p: the prefix {1,2} holds 2e²/(2e²+e+1) ≈ 0.799 of the mass, {1,2,3} ≈ 0.946.
    assert prior_sampler.draw(logits, [0.99], top_p=0.79)[0] == 2
    assert prior_sampler.draw(logits, [0.99], top_p=0.8)[0] == 3
    assert prior_sampler.draw(logits, [0.99], top_p=0.95)[0] == 0
    # A low temperature sharpens: at T=0.05 almost all mass is on the tied top codes.
    assert prior_sampler.draw(logits, [0.999], temperature=0.05)[0] == 2


def test_docs_show_the_sampler():
    """docs/onnx.md shows prior_sampler.py verbatim (the block after the marker comment)."""
    text = DOCS.read_text()
    m = re.search(r"<!-- prior_sampler\.py.*?-->\n```python\n(.*?)```\n", text, re.S)
    assert m, "docs/onnx.md lacks the marked prior_sampler.py block"
    assert m.group(1) == (HERE / "prior_sampler.py").read_text()
