#!/usr/bin/env python3
"""Turns parse_bench's JSON output into the Markdown table of docs/PERFORMANCE.md.

Usage: bench/perf_table.py parse_bench.json

Reads the median aggregates (run parse_bench with --benchmark_repetitions=N
--benchmark_report_aggregates_only=true --benchmark_out=FILE --benchmark_out_format=json) and
prints, per chunk size, MB/s (10^6 bytes per CPU second), top-level elements/s and elements/s of
both parsers and the Parley/expat ratio.
"""
import json
import sys


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    medians = {}
    cvs = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "aggregate":
            continue
        name, _, chunk = b["run_name"].partition("/")
        if b["aggregate_name"] == "median":
            medians[(name, int(chunk))] = b
        elif b["aggregate_name"] == "cv":
            cvs[(name, int(chunk))] = b
    chunks = sorted({chunk for _, chunk in medians})
    print("| chunk | parser | MB/s | top-level elements/s | elements/s | CPU ms/pass (CV) |")
    print("|------:|--------|-----:|---------------------:|-----------:|-----------------:|")
    for chunk in chunks:
        rows = []
        for name, label in (("BM_ParleyStreamParser", "Parley StreamParser"),
                            ("BM_ExpatTree", "expat + pugixml tree")):
            b = medians.get((name, chunk))
            if b is None:
                continue
            cv = cvs.get((name, chunk), {}).get("cpu_time")
            cv_text = f" ({100 * cv:.1f} %)" if cv is not None else ""
            rows.append(b)
            print(f"| {chunk} | {label} | {b['bytes_per_second'] / 1e6:.1f} | "
                  f"{b['stanzas'] / 1e3:.1f} k | {b['elements'] / 1e6:.2f} M | "
                  f"{b['cpu_time']:.2f}{cv_text} |")
        if len(rows) == 2:
            ratio = rows[0]["bytes_per_second"] / rows[1]["bytes_per_second"]
            print(f"| {chunk} | **ratio Parley / expat** | **{ratio:.2f}×** | "
                  f"**{rows[0]['stanzas'] / rows[1]['stanzas']:.2f}×** | "
                  f"**{rows[0]['elements'] / rows[1]['elements']:.2f}×** | |")


if __name__ == "__main__":
    main()
