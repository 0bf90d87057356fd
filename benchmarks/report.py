"""Markdown tables and ratios from a results dictionary (``benchmarks.run``)."""

from __future__ import annotations

from typing import Any

# Issue 15 reset the throughput targets for the trained entity model: the text chain
# at least 80 documents per CPU-second, the HTML pipeline at least 0.15x trafilatura alone
# (they were 500 and 0.6 with the rule tagger).
TARGET_TEXT_PER_CORE = 80.0
TARGET_PIPELINE_FACTOR = 2.0  # whole pipeline within 2x of the transforms
TARGET_HTML_VS_TRAFILATURA = 0.15
TARGET_P95_S = 2.0


def _table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _chain_tables(chains: list[dict[str, Any]]) -> list[str]:
    parts = []
    for chain in chains:
        rows = [
            [
                s["name"],
                s["docs_per_s_cpu"],
                s["docs_per_s"],
                s["p50_cpu_ms"],
                s["p99_cpu_ms"],
                s["p99_ms"],
                f"{s['share']:.0%}",
                s["failed"],
                s["first_call_rss_mb"],
                s["peak_call_kb"],
            ]
            for s in chain["stages"]
        ]
        rows.append(
            [
                "**chain**",
                chain["docs_per_s_cpu"],
                chain["docs_per_s_wall"],
                chain["p50_cpu_ms"],
                chain["p99_cpu_ms"],
                chain["p99_ms"],
                "100%",
                "",
                "",
                "",
            ]
        )
        rss = chain["rss_mb_along_run"]
        parts.append(
            f"**{chain['kind']}, {chain['documents']:,} documents** "
            f"(RSS along the run {rss[0]:.0f} → {rss[-1]:.0f} MiB, peak {chain['peak_rss_mb']:.0f})"
            "\n\n"
            + _table(
                [
                    "stage",
                    "docs/CPU-s",
                    "docs/s wall",
                    "p50 CPU ms",
                    "p99 CPU ms",
                    "p99 wall ms",
                    "share",
                    "failed",
                    "first call +MiB",
                    "peak/call KiB",
                ],
                rows,
            )
        )
    return parts


def _best(runs: list[dict[str, Any]], kind: str, workers: int = 1) -> dict[str, Any] | None:
    mine = [r for r in runs if r["kind"] == kind and r["workers"] == workers]
    return max(mine, key=lambda r: r["documents"], default=None)


def _rate(run: dict[str, Any]) -> float:
    return float(run["docs_per_s_steady"] or run["docs_per_s"])


def render(results: dict[str, Any]) -> str:
    out = [
        f"# Benchmark run {results['run']} ({results['plan']}, {results['started']})",
        f"Machine: {results['machine']['cpus']} CPUs, Python {results['machine']['python']}, "
        f"load average before {results['machine']['load']}, "
        f"after {results['machine'].get('load_after')}.",
    ]
    stages = results.get("stages") or {}
    if stages:
        out.append("## Each transform alone (one core)")
        out += _chain_tables(stages["chain"])
        out.append("## trafilatura alone (same pages)")
        out.append(
            _table(
                ["call", "pages", "docs/CPU-s", "docs/s wall", "p50 CPU ms", "p99 CPU ms"],
                [
                    [
                        b["name"],
                        b["documents"],
                        b["docs_per_s_cpu"],
                        b["docs_per_s_wall"],
                        b["p50_cpu_ms"],
                        b["p99_cpu_ms"],
                    ]
                    for b in stages["trafilatura"]
                ],
            )
        )
    limits = results.get("limits") or []
    if limits:
        out.append("## Physical limits (nothing in front)")
        out.append(
            _table(
                ["what", "documents", "seconds", "docs/s", "MiB/s"],
                [
                    [r["name"], r["documents"], r["seconds"], r["docs_per_s"], r["mb_per_s"]]
                    for r in limits
                ],
            )
        )
    runs = results.get("pipeline") or []
    if runs:
        out.append("## Whole pipeline, Kafka → Beam → Elasticsearch (until idle)")
        out.append(
            _table(
                [
                    "kind",
                    "docs",
                    "workers",
                    "partitions",
                    "indexed",
                    "s to all",
                    "docs/s (with start-up)",
                    "docs/s steady",
                    "child CPU s",
                    "docs/CPU-s (with start-up)",
                    "docs/CPU-s steady",
                    "peak RSS MiB",
                ],
                [
                    [
                        r["kind"],
                        r["documents"],
                        r["workers"],
                        r["partitions"],
                        r["indexed"],
                        r["seconds_to_all"],
                        r["docs_per_s"],
                        r["docs_per_s_steady"],
                        r["child_cpu_s"],
                        _per_cpu_with_start_up(r),
                        r.get("docs_per_cpu_s_steady", 0.0),
                        r["peak_rss_mb"],
                    ]
                    for r in runs
                ],
            )
        )
    sizes = results.get("bulk_sizes") or []
    if sizes:
        out.append("## Bulk size: Kafka batch, bundle and Elasticsearch bulk (text, 1 worker)")
        out.append(
            _table(
                ["bulk size", "docs", "docs/s steady", "docs/CPU-s steady", "peak RSS MiB"],
                [
                    [
                        r["bulk_size"],
                        r["documents"],
                        r["docs_per_s_steady"],
                        r.get("docs_per_cpu_s_steady", 0.0),
                        r["peak_rss_mb"],
                    ]
                    for r in sizes
                ],
            )
        )
    latency = results.get("latency") or []
    if latency:
        out.append("## Publish → searchable at a steady rate")
        rows = []
        for r in latency:
            memory = r["memory_mb"]
            rows.append(
                [
                    r["rate_per_s"],
                    r["seconds"],
                    r["published"],
                    r["searchable"],
                    r["p50_s"],
                    r["p95_s"],
                    r["p99_s"],
                    r["max_s"],
                    f"{memory[0][1]:.0f} → {memory[-1][1]:.0f}" if memory else "",
                ]
            )
        out.append(
            _table(
                [
                    "docs/s",
                    "seconds",
                    "published",
                    "searchable",
                    "p50 s",
                    "p95 s",
                    "p99 s",
                    "max s",
                    "pipeline RSS MiB first → last",
                ],
                rows,
            )
        )
    out.append("## Ratios and targets")
    out.append(_table(["measure", "value", "target", "met"], _ratios(results)))
    return "\n\n".join(out) + "\n"


def _per_cpu_with_start_up(run: dict[str, Any]) -> float:
    done = run["indexed"] + run.get("warm_up", 0)
    return done / run["child_cpu_s"] if run["child_cpu_s"] else 0.0


def _per_cpu(run: dict[str, Any]) -> float:
    """Documents per CPU-second of the pipeline's processes: steady (10-90 %) when measured,
    else over the whole run, start-up included."""
    if run.get("docs_per_cpu_s_steady"):
        return float(run["docs_per_cpu_s_steady"])
    return _per_cpu_with_start_up(run)


# The chain alone and the pipeline are measured minutes apart; CPU time per document
# varies less than wall time, but not by nothing.
SANITY_TOLERANCE = 1.15


def sanity_problems(results: dict[str, Any]) -> list[str]:
    """Measurements that cannot both be right: a pipeline runs the whole chain on every
    document and more besides, so per CPU-second it cannot beat the chain alone. A
    sentence per violation (the pipeline's CPU measure is missing work)."""
    chains = {c["kind"]: c for c in (results.get("stages") or {}).get("chain", [])}
    problems = []
    for run in results.get("pipeline") or []:
        chain = chains.get(run["kind"])
        per_cpu = _per_cpu(run)
        if chain and per_cpu > SANITY_TOLERANCE * chain["docs_per_s_cpu"]:
            problems.append(
                f"{run['kind']} pipeline, {run['documents']:,} documents, {run['workers']} "
                f"worker(s): {per_cpu:,.0f} documents per CPU-s, more than the chain alone "
                f"({chain['docs_per_s_cpu']:,.0f}); its CPU measure misses work."
            )
    return problems


def _ratios(results: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for problem in sanity_problems(results):
        rows.append([f"**measurement error**: {problem}", "", "", False])
    chains = {c["kind"]: c for c in (results.get("stages") or {}).get("chain", [])}
    runs = results.get("pipeline") or []
    text_chain = chains.get("text")
    if text_chain:
        value = text_chain["docs_per_s_cpu"]
        rows.append(
            [
                "text transforms, docs per CPU-second",
                f"{value:,.0f}",
                f"≥ {TARGET_TEXT_PER_CORE:.0f}",
                value >= TARGET_TEXT_PER_CORE,
            ]
        )
    text_run = _best(runs, "text")
    if text_chain and text_run:
        factor = text_chain["docs_per_s_cpu"] / max(_rate(text_run), 1e-9)
        rows.append(
            [
                "transforms ÷ whole pipeline (text, 1 worker, wall)",
                f"{factor:.1f}×",
                f"≤ {TARGET_PIPELINE_FACTOR:.0f}×",
                factor <= TARGET_PIPELINE_FACTOR,
            ]
        )
        pipeline_per_cpu = _per_cpu(text_run)
        if pipeline_per_cpu:
            per_cpu = text_chain["docs_per_s_cpu"] / pipeline_per_cpu
            rows.append(
                [
                    "transforms ÷ whole pipeline (text, 1 worker, per CPU-s of the pipeline)",
                    f"{per_cpu:.2f}×",
                    f"≤ {TARGET_PIPELINE_FACTOR:.0f}×",
                    per_cpu <= TARGET_PIPELINE_FACTOR,
                ]
            )
    baselines = (results.get("stages") or {}).get("trafilatura", [])
    html_run = _best(runs, "html")
    if baselines and html_run:
        alone = baselines[0]["docs_per_s_cpu"]
        ratio = _rate(html_run) / alone
        rows.append(
            [
                "HTML pipeline, 1 worker ÷ trafilatura alone (defaults, one core)",
                f"{ratio:.2f}",
                f"≥ {TARGET_HTML_VS_TRAFILATURA}",
                ratio >= TARGET_HTML_VS_TRAFILATURA,
            ]
        )
        pages_per_cpu = _per_cpu(html_run)
        if pages_per_cpu:
            ratio = pages_per_cpu / alone
            rows.append(
                [
                    "HTML pipeline, 1 worker, per CPU-s of the pipeline ÷ trafilatura alone",
                    f"{ratio:.2f}",
                    f"≥ {TARGET_HTML_VS_TRAFILATURA}",
                    ratio >= TARGET_HTML_VS_TRAFILATURA,
                ]
            )
        for workers in sorted({r["workers"] for r in runs if r["workers"] > 1}):
            parallel = _best(runs, "html", workers)
            if parallel:
                ratio = _rate(parallel) / alone
                rows.append(
                    [
                        f"HTML pipeline, {workers} workers ÷ trafilatura alone (one core)",
                        f"{ratio:.2f}",
                        f"≥ {TARGET_HTML_VS_TRAFILATURA}",
                        ratio >= TARGET_HTML_VS_TRAFILATURA,
                    ]
                )
    limits = {r["name"]: r for r in results.get("limits") or []}
    es_text = next(
        (r for name, r in limits.items() if name.startswith("Elasticsearch bulk (text")), None
    )
    if es_text and text_run:
        rows.append(
            [
                "text pipeline ÷ Elasticsearch bulk limit",
                f"{_rate(text_run) / es_text['docs_per_s']:.2f}",
                "",
                "",
            ]
        )
    if text_chain:
        for stage in text_chain["stages"]:
            rows.append([f"share of text chain: {stage['name']}", f"{stage['share']:.0%}", "", ""])
    for r in results.get("latency") or []:
        rows.append(
            [
                f"publish → searchable p95 at {r['rate_per_s']:.0f}/s ({r['seconds']:.0f} s)",
                f"{r['p95_s']:.2f} s",
                f"< {TARGET_P95_S:.0f} s",
                r["p95_s"] < TARGET_P95_S,
            ]
        )
        memory = [mb for _, mb in r["memory_mb"]]
        if len(memory) >= 4:
            settled = memory[len(memory) // 4 :]
            growth = settled[-1] - settled[0]
            rows.append(
                [
                    f"pipeline RSS growth after the first quarter ({r['seconds']:.0f} s run)",
                    f"{growth:+.0f} MiB",
                    "flat",
                    abs(growth) < 50,
                ]
            )
    return rows
