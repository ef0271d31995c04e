"""Turns the benchmark's JSON lines into a table on stdout, bench/results.md and bench/results.json.

Input: one JSON object per line, as printed by torch_vqvae.py, the Go program bench/gobench and run.sh:
- measurements: {"system", "preset", "mode": "train"|"infer", "img_per_s", "peak_rss_mib", ...}
- checks: {"system": "check", "preset", "mode", ...} (e.g. onnxruntime vs PyTorch on the same weights)
- notes: {"system": "note", "text"} (something skipped, and why)
Several measurements of the same (preset, system, mode), from --rounds > 1, are summarised by their medians.

Usage: python report.py --in results.jsonl --md results.md --json results.json [--meta KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

SYSTEM_ORDER = ("pytorch", "brainvq", "onnxruntime")


def load(path: str) -> list[dict]:
    """The JSON objects of the lines of path that start with '{' (other lines are ignored)."""
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def summarise(measurements: list[dict]) -> list[dict]:
    """One row per (preset, system): median img/s and peak RSS per mode over the rounds, and the ratio of
    img/s to PyTorch's in the same preset and mode."""
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for m in measurements:
        groups.setdefault((m["preset"], m["system"], m["mode"]), []).append(m)

    def med(ms, key):
        vals = [m[key] for m in ms if m.get(key) is not None]
        return statistics.median(vals) if vals else None

    cells = {}
    for key, ms in groups.items():
        peak = med(ms, "peak_rss_mib")
        base = med(ms, "baseline_rss_mib")
        cpu = [img_per_cpu_s(m) for m in ms]
        cpu = [c for c in cpu if c is not None]
        cells[key] = {
            "img_per_s": med(ms, "img_per_s"),
            "img_per_cpu_s": statistics.median(cpu) if cpu else None,
            "peak_rss_mib": peak,
            "delta_rss_mib": None if peak is None or base is None else peak - base,
            "runs": len(ms),
            "threads": ms[0].get("threads"),
            "batch": ms[0].get("batch"),
            "steps": ms[0].get("steps"),
            "version": ms[0].get("version"),
        }
    presets = list(dict.fromkeys(m["preset"] for m in measurements))
    systems = sorted(
        {m["system"] for m in measurements},
        key=lambda s: (SYSTEM_ORDER.index(s) if s in SYSTEM_ORDER else len(SYSTEM_ORDER), s),
    )
    rows = []
    for p in presets:
        for s in systems:
            modes = {mode: cells.get((p, s, mode)) for mode in ("train", "infer")}
            if not any(modes.values()):
                continue
            row = {"preset": p, "system": s}
            for mode, c in modes.items():
                row[mode] = c
                ref = cells.get((p, "pytorch", mode))
                if c and ref and ref["img_per_s"]:
                    row[mode + "_ratio_vs_pytorch"] = c["img_per_s"] / ref["img_per_s"]
                else:
                    row[mode + "_ratio_vs_pytorch"] = None
            rows.append(row)
    return rows


def img_per_cpu_s(m: dict) -> float | None:
    """Images per CPU-second of the whole process (all threads, user + system): batch / median of the
    timed steps' CPU times, when the measurement recorded them."""
    cpu = m.get("step_cpu_s")
    if not cpu or not m.get("batch"):
        return None
    med = statistics.median(cpu)
    return m["batch"] / med if med > 0 else None


def paired(measurements: list[dict]) -> list[dict]:
    """Ratios taken within each round: run.sh measures every system once per round, interleaved, so the
    k-th measurement of (preset, system, mode) belongs to round k, and a ratio of two systems in the same
    round compares them under (nearly) the same machine load. One entry per (preset, mode, pair) with
    the per-round ratios and their median."""
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for m in measurements:
        groups.setdefault((m["preset"], m["system"], m["mode"]), []).append(m)
    pairs = [
        ("brainvq", "pytorch", "train"),
        ("brainvq", "pytorch", "infer"),
        ("onnxruntime", "pytorch", "infer"),
        ("brainvq", "onnxruntime", "infer"),
    ]
    out = []
    for preset in dict.fromkeys(m["preset"] for m in measurements):
        for a, b, mode in pairs:
            ma, mb = groups.get((preset, a, mode), []), groups.get((preset, b, mode), [])
            ratios = [x["img_per_s"] / y["img_per_s"] for x, y in zip(ma, mb) if y["img_per_s"]]
            if ratios:
                out.append(
                    {
                        "preset": preset,
                        "mode": mode,
                        "system": a,
                        "vs": b,
                        "ratios": ratios,
                        "median": statistics.median(ratios),
                    }
                )
    return out


def _f(v, fmt="{:.2f}") -> str:
    return "–" if v is None else fmt.format(v)


def table(rows: list[dict]) -> list[str]:
    """The summary as Markdown table lines (also readable as plain text)."""

    def get(row, mode, key):
        c = row.get(mode)
        return None if c is None else c.get(key)

    lines = [
        "| preset | system | train img/s | infer img/s | peak MiB train / infer "
        "| Δ MiB train / infer | ratio vs PyTorch train / infer |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['system']} "
            f"| {_f(get(r, 'train', 'img_per_s'))} | {_f(get(r, 'infer', 'img_per_s'))} "
            f"| {_f(get(r, 'train', 'peak_rss_mib'), '{:.0f}')} / "
            f"{_f(get(r, 'infer', 'peak_rss_mib'), '{:.0f}')} "
            f"| {_f(get(r, 'train', 'delta_rss_mib'), '{:.0f}')} / "
            f"{_f(get(r, 'infer', 'delta_rss_mib'), '{:.0f}')} "
            f"| {_f(r['train_ratio_vs_pytorch'])} / {_f(r['infer_ratio_vs_pytorch'])} |"
        )
    return lines


def cpu_table(rows: list[dict]) -> list[str]:
    """Images per CPU-second (all threads, user + system), a measure less sensitive to other processes
    on the machine than wall-clock img/s (though not to their effect on caches and clock speed)."""

    def get(row, mode):
        c = row.get(mode)
        return None if c is None else c.get("img_per_cpu_s")

    lines = ["| preset | system | train img/CPU-s | infer img/CPU-s |", "|---|---|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['system']} | {_f(get(r, 'train'))} | {_f(get(r, 'infer'))} |"
        )
    return lines


def paired_lines(pairs: list[dict]) -> list[str]:
    return [
        f"- {p['preset']} {p['mode']}: {p['system']} / {p['vs']} = {p['median']:.2f} "
        f"(rounds: {', '.join(f'{r:.2f}' for r in p['ratios'])})"
        for p in pairs
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--meta", action="append", default=[], help="KEY=VALUE shown above the table")
    a = ap.parse_args(argv)

    objs = load(a.inp)
    notes = [o["text"] for o in objs if o.get("system") == "note"]
    checks = [o for o in objs if o.get("system") == "check"]
    measurements = [o for o in objs if o.get("system") not in ("note", "check")]
    meta = dict(kv.split("=", 1) for kv in a.meta)
    rows = summarise(measurements)

    md = ["# brainvq vs PyTorch vs onnxruntime (bench/run.sh)", ""]
    md += [f"- {k}: {v}" for k, v in meta.items()]
    md += [
        "",
        "img/s: batch / median step time (warm-up steps excluded). Peak MiB: the measuring process's "
        "ru_maxrss; Δ MiB: that peak minus the process's peak after imports and data loading (before the "
        "model is built), i.e. what the model, optimiser and activations added. Ratio: img/s over "
        "PyTorch's in the same preset and mode (> 1: faster than PyTorch).",
        "",
    ]
    md += table(rows)
    pairs = paired(measurements)
    if pairs:
        md += [
            "",
            "Ratios within each round (img/s of one system over another's, measured back to back; "
            "median over rounds):",
            "",
        ] + paired_lines(pairs)
    md += [
        "",
        "Images per CPU-second of the measuring process (all its threads, user + system; "
        "median over steps, then over rounds):",
        "",
    ] + cpu_table(rows)
    if checks:
        md += ["", "Checks:", ""] + check_lines(checks)
    if notes:
        md += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    text = "\n".join(md) + "\n"
    write_atomic(a.md, text)
    result = {
        "meta": meta,
        "summary": rows,
        "paired_ratios": pairs,
        "measurements": measurements,
        "checks": checks,
    }
    result["notes"] = notes
    write_atomic(a.json, json.dumps(result, indent=1) + "\n")
    print("\n".join(table(rows)))
    for line in paired_lines(pairs):
        print(line)
    print("\n".join(cpu_table(rows)))
    for line in check_lines(checks):
        print(line)
    for n in notes:
        print(f"note: {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
