"""Turns the benchmark's JSON lines into a table on stdout, bench/results.md and bench/results.json.

Input: one JSON object per line, as printed by torch_vqvae.py, tf_vqvae.py, bench/gobench and run.sh:
- measurements: {"system", "preset", "mode": "train"|"infer", "img_per_s", "peak_rss_mib", ...} with an
  optional "config" (e.g. PyTorch's "channels_last_compile", TensorFlow's "xla", onnxruntime's
  "quantizer float32"), "isa", "cpu", "round" and "slot" (run.sh adds the last two: the round and the
  position in that round's shuffled order); a failed measurement has img_per_s null and an "error";
- checks: {"system": "check", "preset", "mode", ...} (e.g. onnxruntime vs PyTorch on the same weights);
- notes: {"system": "note", "text"} (something skipped, and why).
Several measurements of the same (preset, system, config, mode), one per round, are summarised by their
medians. brainvq's speed is compared with the best configuration of every peer system (the one with the
highest median img/s in that preset and mode), and with the best of all peers.

Usage: python report.py --in results.jsonl --md results.md --json results.json [--meta KEY=VALUE ...]
(a --meta cpu=... value is the CPU of rows that do not name their own)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

SYSTEM_ORDER = ("brainvq", "pytorch", "tensorflow", "onnxruntime")
PEERS = ("pytorch", "tensorflow", "onnxruntime")
MODES = ("train", "infer")


def load(path: str) -> list[dict]:
    """The JSON objects of the lines of path that start with '{' (other lines are ignored)."""
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def config_of(m: dict) -> str:
    """A measurement's configuration label ("" when the system has only one)."""
    return m.get("config") or ""


def label(system: str, config: str) -> str:
    return f"{system} {config}" if config else system


def _med(ms: list[dict], key: str):
    vals = [m[key] for m in ms if m.get(key) is not None]
    return statistics.median(vals) if vals else None


def img_per_cpu_s(m: dict) -> float | None:
    """Images per CPU-second of the whole process (all threads, user + system): batch / median of the
    timed steps' CPU times, when the measurement recorded them."""
    cpu = m.get("step_cpu_s")
    if not cpu or not m.get("batch"):
        return None
    med = statistics.median(cpu)
    return m["batch"] / med if med > 0 else None


def _groups(measurements: list[dict]) -> dict[tuple[str, str, str, str], list[dict]]:
    """(preset, system, config, mode) → its measurements, in input order."""
    groups: dict[tuple[str, str, str, str], list[dict]] = {}
    for m in measurements:
        groups.setdefault((m["preset"], m["system"], config_of(m), m["mode"]), []).append(m)
    return groups


def cells(measurements: list[dict], cpu: str | None = None) -> dict:
    """(preset, system, config, mode) → the medians over its successful rounds: img/s, img/CPU-s, peak and
    Δ RSS (peak − baseline, per round, then the median), and what it ran on (isa, cpu, version), with the
    errors of the failed rounds."""
    out = {}
    for key, ms in _groups(measurements).items():
        ok = [m for m in ms if m.get("img_per_s")]
        deltas = [
            m["peak_rss_mib"] - m["baseline_rss_mib"]
            for m in ok
            if m.get("peak_rss_mib") is not None and m.get("baseline_rss_mib") is not None
        ]
        per_cpu = [c for c in (img_per_cpu_s(m) for m in ok) if c is not None]
        first = (ok or ms)[0]
        out[key] = {
            "img_per_s": _med(ok, "img_per_s"),
            "img_per_cpu_s": statistics.median(per_cpu) if per_cpu else None,
            "peak_rss_mib": _med(ok, "peak_rss_mib"),
            "delta_rss_mib": statistics.median(deltas) if deltas else None,
            "compile_s": _med(ok, "compile_s"),
            "runs": len(ok),
            "errors": [m.get("error") or "failed" for m in ms if not m.get("img_per_s")],
            "threads": first.get("threads"),
            "batch": first.get("batch"),
            "steps": first.get("steps"),
            "version": first.get("version"),
            "isa": first.get("isa"),
            "cpu": first.get("cpu") or cpu,
        }
    return out


def best_configs(cs: dict) -> dict[tuple[str, str, str], str]:
    """(preset, system, mode) → the configuration with the highest median img/s (ties: the first)."""
    best: dict[tuple[str, str, str], tuple[str, float]] = {}
    for (preset, system, config, mode), c in cs.items():
        v = c["img_per_s"]
        if v is None:
            continue
        k = (preset, system, mode)
        if k not in best or v > best[k][1]:
            best[k] = (config, v)
    return {k: cfg for k, (cfg, _) in best.items()}


def _system_key(s: str):
    return (SYSTEM_ORDER.index(s) if s in SYSTEM_ORDER else len(SYSTEM_ORDER), s)


def summarise(measurements: list[dict], cpu: str | None = None) -> list[dict]:
    """One row per (preset, system, config): the per-mode cells, `brainvq_ratio` per mode (brainvq's
    img/s over this row's: > 1 means brainvq is faster) and, kept from the first version of this report,
    `<mode>_ratio_vs_pytorch` (this row's img/s over the best PyTorch configuration's)."""
    cs = cells(measurements, cpu)
    best = best_configs(cs)
    presets = list(dict.fromkeys(m["preset"] for m in measurements))
    keys = sorted(
        {(m["system"], config_of(m)) for m in measurements},
        key=lambda sc: (_system_key(sc[0]), sc[1]),
    )
    rows = []
    for p in presets:
        for s, cfg in keys:
            modes = {mode: cs.get((p, s, cfg, mode)) for mode in MODES}
            if not any(modes.values()):
                continue
            row = {"preset": p, "system": s, "config": cfg}
            for mode, c in modes.items():
                row[mode] = c
                bq_cfg = best.get((p, "brainvq", mode))
                bq = cs[(p, "brainvq", bq_cfg, mode)]["img_per_s"] if bq_cfg is not None else None
                mine = c["img_per_s"] if c else None
                row[mode + "_brainvq_ratio"] = bq / mine if bq and mine else None
                pt_cfg = best.get((p, "pytorch", mode))
                pt = cs[(p, "pytorch", pt_cfg, mode)]["img_per_s"] if pt_cfg is not None else None
                row[mode + "_ratio_vs_pytorch"] = mine / pt if pt and mine else None
                row[mode + "_best_of_system"] = bool(mine) and best.get((p, s, mode)) == cfg
            rows.append(row)
    return rows


def headline(measurements: list[dict]) -> list[dict]:
    """Per preset and mode: brainvq's median img/s over the best configuration of each peer system, and
    over the best of all peers together."""
    cs = cells(measurements)
    best = best_configs(cs)
    out = []
    for p in dict.fromkeys(m["preset"] for m in measurements):
        for mode in MODES:
            bq_cfg = best.get((p, "brainvq", mode))
            if bq_cfg is None:
                continue
            bq = cs[(p, "brainvq", bq_cfg, mode)]["img_per_s"]
            peers = []
            for s in PEERS:
                cfg = best.get((p, s, mode))
                if cfg is not None:
                    peers.append((s, cfg, cs[(p, s, cfg, mode)]["img_per_s"]))
            if not peers:
                continue
            top = max(peers, key=lambda x: x[2])
            out.append(
                {
                    "preset": p,
                    "mode": mode,
                    "brainvq_img_per_s": bq,
                    "vs": [
                        {"system": s, "config": cfg, "img_per_s": v, "ratio": bq / v}
                        for s, cfg, v in peers
                    ],
                    "best_peer": {"system": top[0], "config": top[1], "img_per_s": top[2]},
                    "ratio_vs_best_peer": bq / top[2],
                }
            )
    return out


def _by_round(ms: list[dict]) -> dict[int, dict]:
    """Round number → measurement: the "round" field where run.sh added it, else the k-th measurement
    (k = 1, 2, ...) is taken as round k (inputs from before rounds were shuffled)."""
    out = {}
    for k, m in enumerate(ms, 1):
        out[m.get("round", k)] = m
    return out


def paired(measurements: list[dict]) -> list[dict]:
    """Ratios taken within each round: every round runs every system once, in a shuffled order, within a
    few minutes, so a ratio of two measurements from the same round compares them under (nearly) the same
    machine load. brainvq against each peer system's best configuration (by median img/s), and
    onnxruntime's best against PyTorch's best in inference. One entry per (preset, mode, pair) with the
    per-round ratios and their median."""
    groups = _groups(measurements)
    best = best_configs(cells(measurements))
    pairs = [("brainvq", s, mode) for mode in MODES for s in PEERS]
    pairs.append(("onnxruntime", "pytorch", "infer"))
    out = []
    for preset in dict.fromkeys(m["preset"] for m in measurements):
        for a, b, mode in pairs:
            ca, cb = best.get((preset, a, mode)), best.get((preset, b, mode))
            if ca is None or cb is None:
                continue
            ra = _by_round(groups[(preset, a, ca, mode)])
            rb = _by_round(groups[(preset, b, cb, mode)])
            rounds = [
                r for r in ra if r in rb and ra[r].get("img_per_s") and rb[r].get("img_per_s")
            ]
            ratios = [ra[r]["img_per_s"] / rb[r]["img_per_s"] for r in sorted(rounds)]
            if ratios:
                out.append(
                    {
                        "preset": preset,
                        "mode": mode,
                        "system": label(a, ca),
                        "vs": label(b, cb),
                        "rounds": sorted(rounds),
                        "ratios": ratios,
                        "median": statistics.median(ratios),
                    }
                )
    return out


def _f(v, fmt="{:.2f}") -> str:
    return "–" if v is None else fmt.format(v)


def _get(row, mode, key):
    c = row.get(mode)
    return None if c is None else c.get(key)


def _speed(row, mode) -> str:
    c = row.get(mode)
    if c is None:
        return "–"
    if c["img_per_s"] is None:
        return "failed"
    mark = "**" if row.get(mode + "_best_of_system") and row["system"] in PEERS else ""
    return f"{mark}{c['img_per_s']:.2f}{mark}"


def table(rows: list[dict]) -> list[str]:
    """The summary as Markdown table lines (also readable as plain text). A peer's best configuration per
    mode is in bold; "brainvq ÷ row" is brainvq's img/s over the row's."""
    lines = [
        "| preset | system | config | train img/s | infer img/s | Δ MiB train / infer "
        "| peak MiB train / infer | brainvq ÷ row train / infer | ISA | CPU |",
        "|---|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        isa = " / ".join(dict.fromkeys(filter(None, (_get(r, m, "isa") for m in MODES)))) or "–"
        cpu = next(filter(None, (_get(r, m, "cpu") for m in MODES)), None) or "–"
        lines.append(
            f"| {r['preset']} | {r['system']} | {r['config'] or '–'} "
            f"| {_speed(r, 'train')} | {_speed(r, 'infer')} "
            f"| {_f(_get(r, 'train', 'delta_rss_mib'), '{:.0f}')} / "
            f"{_f(_get(r, 'infer', 'delta_rss_mib'), '{:.0f}')} "
            f"| {_f(_get(r, 'train', 'peak_rss_mib'), '{:.0f}')} / "
            f"{_f(_get(r, 'infer', 'peak_rss_mib'), '{:.0f}')} "
            f"| {_f(r['train_brainvq_ratio'])} / {_f(r['infer_brainvq_ratio'])} "
            f"| {isa} | {cpu} |"
        )
    return lines


def cpu_table(rows: list[dict]) -> list[str]:
    """Images per CPU-second (all threads, user + system), a measure less sensitive to other processes
    on the machine than wall-clock img/s (though not to their effect on caches and clock speed)."""
    lines = [
        "| preset | system | config | train img/CPU-s | infer img/CPU-s | compile s train / infer |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['system']} | {r['config'] or '–'} "
            f"| {_f(_get(r, 'train', 'img_per_cpu_s'))} | {_f(_get(r, 'infer', 'img_per_cpu_s'))} "
            f"| {_f(_get(r, 'train', 'compile_s'), '{:.1f}')} / "
            f"{_f(_get(r, 'infer', 'compile_s'), '{:.1f}')} |"
        )
    return lines


def headline_lines(heads: list[dict]) -> list[str]:
    out = []
    for h in heads:
        vs = "; ".join(
            f"÷ {label(v['system'], v['config'])} {v['ratio']:.2f}× ({v['img_per_s']:.2f})"
            for v in h["vs"]
        )
        b = h["best_peer"]
        out.append(
            f"- {h['preset']} {h['mode']}: brainvq {h['brainvq_img_per_s']:.2f} img/s = "
            f"{h['ratio_vs_best_peer']:.2f}× the best peer ({label(b['system'], b['config'])}); {vs}"
        )
    return out


def paired_lines(pairs: list[dict]) -> list[str]:
    return [
        f"- {p['preset']} {p['mode']}: {p['system']} / {p['vs']} = {p['median']:.2f} "
        f"(rounds {', '.join(str(r) for r in p['rounds'])}: "
        f"{', '.join(f'{r:.2f}' for r in p['ratios'])})"
        for p in pairs
    ]


def error_lines(measurements: list[dict]) -> list[str]:
    return [
        f"- {m['preset']} {m['mode']} {label(m['system'], config_of(m))}"
        f"{' (round %s)' % m['round'] if 'round' in m else ''}: {m.get('error') or 'failed'}"
        for m in measurements
        if not m.get("img_per_s")
    ]


def check_lines(checks: list[dict]) -> list[str]:
    out = []
    for c in checks:
        rest = {k: v for k, v in c.items() if k not in ("system", "preset", "mode")}
        out.append(
            f"- {c.get('preset')} {c.get('mode')}: "
            + ", ".join(f"{k} {v}" for k, v in rest.items())
        )
    return out


def write_atomic(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def render(objs: list[dict], meta: dict[str, str]) -> tuple[str, dict]:
    """(Markdown text, JSON document) of the objects read from the JSON lines."""
    notes = [o["text"] for o in objs if o.get("system") == "note"]
    checks = [o for o in objs if o.get("system") == "check"]
    measurements = [o for o in objs if o.get("system") not in ("note", "check")]
    rows = summarise(measurements, meta.get("cpu"))
    heads = headline(measurements)
    pairs = paired(measurements)
    md = ["# brainvq vs PyTorch vs TensorFlow vs onnxruntime (bench/run.sh)", ""]
    md += [f"- {k}: {v}" for k, v in meta.items()]
    md += [
        "",
        "img/s: batch / median step time (warm-up steps excluded), median over rounds; bold: the "
        "system's best configuration in that mode. Δ MiB (the memory figure to compare): the measuring "
        "process's peak RSS minus its peak after imports and data loading, before the model was built, "
        "i.e. what the model, optimiser and activations added; peak MiB: the whole process's ru_maxrss. "
        "brainvq ÷ row: brainvq's img/s over the row's (> 1: brainvq is faster).",
        "",
    ]
    md += table(rows)
    if heads:
        md += ["", "brainvq against the best configuration of each peer (medians over rounds):", ""]
        md += headline_lines(heads)
    if pairs:
        md += [
            "",
            "Ratios within each round (measured minutes apart, in a shuffled order; median over "
            "rounds):",
            "",
        ] + paired_lines(pairs)
    md += [
        "",
        "Images per CPU-second of the measuring process (all its threads, user + system; median over "
        "steps, then over rounds), and the untimed compile/trace step's seconds:",
        "",
    ] + cpu_table(rows)
    errors = error_lines(measurements)
    if errors:
        md += ["", "Failed measurements:", ""] + errors
    if checks:
        md += ["", "Checks:", ""] + check_lines(checks)
    if notes:
        md += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    doc = {
        "meta": meta,
        "summary": rows,
        "headline": heads,
        "paired_ratios": pairs,
        "measurements": measurements,
        "checks": checks,
        "notes": notes,
    }
    return "\n".join(md) + "\n", doc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--meta", action="append", default=[], help="KEY=VALUE shown above the table")
    a = ap.parse_args(argv)
    meta = {}
    for kv in a.meta:
        k, sep, v = kv.partition("=")
        if not sep:
            ap.error(f"--meta {kv!r}: want KEY=VALUE")
        meta[k] = v
    text, doc = render(load(a.inp), meta)
    write_atomic(a.md, text)
    write_atomic(a.json, json.dumps(doc, indent=1) + "\n")
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
