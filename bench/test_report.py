"""Tests of bench/report.py on a hand-made fixture (no torch, TensorFlow or Go needed): the best-of-peers
ratio, pairing by the round run.sh records (not by the order lines arrive in after shuffling), Δ RSS as
the median of per-round deltas, failed measurements, and the ISA / CPU columns."""

from __future__ import annotations

import json

import pytest

import report

CPU = "AMD EPYC (family 25, model 1)"


def m(system, mode, img, rnd, config="", peak=1000.0, base=600.0, isa=None, cpu=None, **kw):
    out = {
        "system": system,
        "preset": "residual",
        "mode": mode,
        "img_per_s": img,
        "peak_rss_mib": peak,
        "baseline_rss_mib": base,
        "batch": 16,
        "threads": 2,
        "steps": 5,
        "round": rnd,
        "step_cpu_s": [16 / (img or 1) * 2],
    }
    if config:
        out["config"] = config
    if isa:
        out["isa"] = isa
    if cpu:
        out["cpu"] = cpu
    out.update(kw)
    return out


def fixture() -> list[dict]:
    """Three rounds, listed in a shuffled order (round 3's lines first). brainvq trains at 10, 12, 11
    img/s; PyTorch's eager at 4, 5, 6 and channels_last+compile at 7, 8, 9 (its best); TensorFlow xla at
    6, 6, 6; one PyTorch compile round failed."""
    pt_isa = "AVX2"
    rows = [
        # round 3
        m("pytorch", "train", 9.0, 3, "channels_last_compile", isa=pt_isa, cpu=CPU),
        m("brainvq", "train", 11.0, 3, peak=800, base=100, isa="avx2"),
        m("pytorch", "train", 6.0, 3, "eager", isa=pt_isa, cpu=CPU),
        m("tensorflow", "train", 6.0, 3, "xla", isa="oneDNN AVX2", cpu=CPU),
        m("pytorch", "train", None, 3, "compile", error="InductorError: no C++ compiler"),
        # round 1
        m("brainvq", "train", 10.0, 1, peak=790, base=100, isa="avx2"),
        m("pytorch", "train", 4.0, 1, "eager", isa=pt_isa, cpu=CPU),
        m("pytorch", "train", 7.0, 1, "channels_last_compile", isa=pt_isa, cpu=CPU),
        m("tensorflow", "train", 6.0, 1, "xla", isa="oneDNN AVX2", cpu=CPU),
        # round 2
        m("tensorflow", "train", 6.0, 2, "xla", isa="oneDNN AVX2", cpu=CPU),
        m("pytorch", "train", 8.0, 2, "channels_last_compile", isa=pt_isa, cpu=CPU),
        m("pytorch", "train", 5.0, 2, "eager", isa=pt_isa, cpu=CPU),
        m("brainvq", "train", 12.0, 2, peak=900, base=150, isa="avx2"),
        # inference: onnxruntime's two exports
        m("onnxruntime", "infer", 40.0, 1, "quantizer exact", isa="MLAS auto", cpu=CPU),
        m("onnxruntime", "infer", 50.0, 1, "quantizer float32", isa="MLAS auto", cpu=CPU),
        m("brainvq", "infer", 60.0, 1, isa="avx2"),
    ]
    return rows


def test_best_of_peers_ratio():
    heads = {(h["preset"], h["mode"]): h for h in report.headline(fixture())}
    h = heads[("residual", "train")]
    assert h["brainvq_img_per_s"] == 11.0
    vs = {v["system"]: v for v in h["vs"]}
    assert vs["pytorch"]["config"] == "channels_last_compile"  # the best PyTorch, not eager
    assert vs["pytorch"]["ratio"] == pytest.approx(11.0 / 8.0)
    assert vs["tensorflow"]["ratio"] == pytest.approx(11.0 / 6.0)
    assert h["best_peer"] == {
        "system": "pytorch",
        "config": "channels_last_compile",
        "img_per_s": 8.0,
    }
    assert h["ratio_vs_best_peer"] == pytest.approx(11.0 / 8.0)
    inf = heads[("residual", "infer")]
    assert inf["best_peer"]["config"] == "quantizer float32"
    assert inf["ratio_vs_best_peer"] == pytest.approx(60.0 / 50.0)


def test_rows_ratio_against_brainvq_and_best_pytorch():
    rows = {(r["system"], r["config"]): r for r in report.summarise(fixture(), CPU)}
    eager = rows[("pytorch", "eager")]
    assert eager["train"]["img_per_s"] == 5.0
    assert eager["train_brainvq_ratio"] == pytest.approx(11.0 / 5.0)
    assert eager["train_ratio_vs_pytorch"] == pytest.approx(5.0 / 8.0)
    assert not eager["train_best_of_system"]
    assert rows[("pytorch", "channels_last_compile")]["train_best_of_system"]
    # Δ RSS: median of the per-round peak − baseline (690, 750, 700), not a difference of medians.
    assert rows[("brainvq", "")]["train"]["delta_rss_mib"] == 700.0
    failed = rows[("pytorch", "compile")]["train"]
    assert failed["img_per_s"] is None and failed["runs"] == 0
    assert failed["errors"] == ["InductorError: no C++ compiler"]


def test_paired_ratios_use_the_recorded_round_not_line_order():
    pairs = {(p["mode"], p["vs"]): p for p in report.paired(fixture())}
    p = pairs[("train", "pytorch channels_last_compile")]
    assert p["system"] == "brainvq"
    assert p["rounds"] == [1, 2, 3]
    assert p["ratios"] == pytest.approx([10 / 7, 12 / 8, 11 / 9])
    assert p["median"] == pytest.approx(10 / 7)  # the median of 1.43, 1.50, 1.22
    # onnxruntime vs PyTorch needs PyTorch inference rows: none in the fixture, so no such pair.
    assert ("infer", "pytorch") not in {(q["mode"], q["vs"].split()[0]) for q in pairs.values()}


def test_rounds_fall_back_to_line_order_without_round_field():
    ms = [{k: v for k, v in x.items() if k != "round"} for x in fixture()]
    p = next(
        q for q in report.paired(ms) if q["vs"] == "pytorch channels_last_compile"
    )  # first lines are round 3, then 1, then 2
    assert p["ratios"] == pytest.approx([11 / 9, 10 / 7, 12 / 8])


def test_markdown_has_isa_cpu_and_failures(tmp_path):
    lines = [json.dumps(x) for x in fixture()]
    lines.append(json.dumps({"system": "note", "text": "tensorflow infer skipped"}))
    inp = tmp_path / "r.jsonl"
    inp.write_text("not json\n" + "\n".join(lines) + "\n")
    md, js = tmp_path / "r.md", tmp_path / "r.json"
    assert (
        report.main(["--in", str(inp), "--md", str(md), "--json", str(js), "--meta", f"cpu={CPU}"])
        == 0
    )
    text = md.read_text()
    header = next(l for l in text.splitlines() if l.startswith("| preset | system"))
    assert "| ISA | CPU |" in header and "Δ MiB" in header
    row = next(l for l in text.splitlines() if l.startswith("| residual | brainvq |"))
    assert "| avx2 |" in row
    assert CPU in row  # brainvq's rows carry no cpu field: the --meta value fills it in
    eager = next(l for l in text.splitlines() if "| pytorch | eager |" in l)
    assert "| AVX2 |" in eager and "| 5.00 |" in eager
    assert "| **8.00** |" in next(l for l in text.splitlines() if "channels_last_compile |" in l)
    compile_row = next(l for l in text.splitlines() if "| pytorch | compile |" in l)
    assert "failed" in compile_row
    assert "InductorError: no C++ compiler" in text
    assert "1.38× the best peer (pytorch channels_last_compile)" in text
    assert "tensorflow infer skipped" in text
    doc = json.loads(js.read_text())
    assert doc["meta"]["cpu"] == CPU
    assert {r["system"] for r in doc["summary"]} == {
        "brainvq",
        "pytorch",
        "tensorflow",
        "onnxruntime",
    }
    assert all(
        r[mode]["cpu"] == CPU for r in doc["summary"] for mode in ("train", "infer") if r[mode]
    )
    assert doc["headline"][0]["ratio_vs_best_peer"] == pytest.approx(11 / 8)


def test_meta_without_equals_is_an_error(tmp_path):
    inp = tmp_path / "r.jsonl"
    inp.write_text("")
    with pytest.raises(SystemExit):
        report.main(
            [
                "--in",
                str(inp),
                "--md",
                str(tmp_path / "a"),
                "--json",
                str(tmp_path / "b"),
                "--meta",
                "x",
            ]
        )
