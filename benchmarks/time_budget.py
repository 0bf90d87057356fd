"""What the per-stage time budget costs: the chain with and without it, side by side.

    .venv/bin/python -m benchmarks.time_budget [--docs 1000] [--kind text|html]

Documents go through each way in rotating rounds, so a busy minute on this shared machine
slows all alike; the answer is the difference in CPU time per document, next to the
difference between two runs without the budget (the noise).
"""

from __future__ import annotations

import argparse
import time

from benchmarks.workloads import documents
from transforms.chain import STAGES, enrich, warm_up

ROUNDS = 6


def measure(kind: str, count: int, limit_s: float = 5.0) -> dict[str, float]:
    """CPU microseconds per document of the chain without and with a budget of ``limit_s``,
    and, as the noise floor, the difference between two runs without it (A/A)."""
    docs = list(documents(kind, count, seed=11))
    warm_up(STAGES)
    for doc in docs[:20]:
        enrich(doc)
    ways = (("without", None), ("with", limit_s), ("without again", None))
    spent = dict.fromkeys((way for way, _ in ways), 0.0)
    for round_index in range(ROUNDS):
        for way, limit in ways[round_index % 3 :] + ways[: round_index % 3]:  # rotate order
            started = time.process_time()
            for doc in docs:
                enrich(doc, STAGES, limit)
            spent[way] += time.process_time() - started
    per_doc = {way: seconds / (ROUNDS * count) * 1e6 for way, seconds in spent.items()}
    baseline = (per_doc["without"] + per_doc["without again"]) / 2
    per_doc["overhead"] = per_doc["with"] - baseline
    per_doc["overhead_share"] = per_doc["overhead"] / baseline
    per_doc["noise"] = abs(per_doc["without"] - per_doc["without again"])
    return per_doc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--kind", choices=("text", "html"), default="text")
    args = parser.parse_args()
    result = measure(args.kind, args.docs)
    print(
        f"{args.kind}, {args.docs} documents x {ROUNDS} rounds: "
        f"{result['without']:.0f} us per document without the budget, {result['with']:.0f} with: "
        f"{result['overhead']:+.1f} us ({result['overhead_share']:+.1%}) for {len(STAGES)} stages; "
        f"two runs without it differed by {result['noise']:.1f} us"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
