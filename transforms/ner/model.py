"""The packaged CRF model: where it lives, how it is opened, how a sentence is tagged."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pycrfsuite

from transforms.entities import KnowledgeBase
from transforms.ner.corpus import OCR_SOURCES, without_misc
from transforms.ner.features import LANGUAGE_GROUPS, FeatureExtractor
from transforms.ner.options import DEFAULT_MODEL, MODELS_DIR

__all__ = ["DEFAULT_MODEL", "MODELS_DIR", "ModelError", "SequenceTagger"]


class ModelError(ValueError):
    """A model file that cannot be opened; the message says which and what to do."""


def meta_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def clusters_path(model_path: Path) -> Path:
    return model_path.with_suffix(".clusters.tsv.gz")


def casing_path(model_path: Path) -> Path:
    return model_path.with_suffix(".casing.tsv.gz")


def names_path(model_path: Path) -> Path:
    return model_path.with_suffix(".names.tsv.gz")


def frequencies_path(model_path: Path) -> Path:
    return model_path.with_suffix(".freq.tsv.gz")


def places_path(model_path: Path) -> Path:
    return model_path.with_suffix(".places.tsv.gz")


def attributes_path(model_path: Path) -> Path:
    return model_path.with_suffix(".attributes.txt.gz")


def write_attributes(model_path: Path) -> int:
    """List the attributes the model kept (L1 drops most): reading them back is fast,
    parsing the model for them takes seconds. Returns how many there are."""
    tagger = pycrfsuite.Tagger()
    tagger.open(str(model_path))
    kept = sorted({attribute for attribute, _ in tagger.info().state_features})
    with gzip.open(attributes_path(model_path), "wt", encoding="utf-8") as handle:
        handle.writelines(f"{attribute}\n" for attribute in kept)
    return len(kept)


def read_attributes(model_path: Path) -> frozenset[str] | None:
    path = attributes_path(model_path)
    if not path.is_file():
        return None
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return frozenset(line.rstrip("\n") for line in handle)


def open_features(model_path: Path, knowledge_base: KnowledgeBase | None) -> FeatureExtractor:
    """The feature extractor a model was trained with: its word files, the attributes it
    kept (the others are dropped per word form, once, so crfsuite never looks them up)."""
    from transforms.ner.casing import read_casing
    from transforms.ner.clusters import read_clusters
    from transforms.ner.lexicon import PlaceGazetteer, read_frequencies
    from transforms.ner.namelist import read_names

    meta = read_meta(model_path)
    config = meta.get("config", {})
    return FeatureExtractor(
        knowledge_base,
        read_clusters(clusters_path(model_path)),
        read_casing(casing_path(model_path)),
        read_names(names_path(model_path)),
        read_frequencies(frequencies_path(model_path)),
        PlaceGazetteer.read(places_path(model_path)),
        bigrams=bool(config.get("bigrams", False)),
        shouting=bool(config.get("shouting", False)),
        lean=bool(config.get("lean", False)),
        known=read_attributes(model_path),
        ungrouped=historical_groups(meta.get("files", {})),
    )


def historical_groups(files: Iterable[str]) -> frozenset[str]:
    """The language groups a model learned from OCR'd 19th-century newspapers alone.

    ``files`` are the card's training files (``nl/europeana-kb.train``…). What such a
    group's attributes hold is that era and its OCR, not the language: Dutch, whose only
    training text is 1850s newspapers, scored 0.548 exact F1 on the hand-written modern
    news check with them and 0.617 without (dev, the 1850s text: 0.560 and 0.553;
    docs/entities.md). A group with modern text in it (German: GermEval; Romance:
    Portuguese) keeps its attributes.
    """
    sources: dict[str, set[bool]] = {}
    for name in files:
        language, _, rest = name.partition("/")
        group = LANGUAGE_GROUPS.get(language)
        if group is not None:
            sources.setdefault(group, set()).add(rest.rsplit(".", 1)[0] in OCR_SOURCES)
    return frozenset(group for group, historical in sources.items() if historical == {True})


def read_meta(model_path: Path) -> dict[str, Any]:
    """The model's card (languages, data, licences, dev scores); empty when absent."""
    path = meta_path(model_path)
    if not path.is_file():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


class SequenceTagger:
    """A crfsuite tagger plus the feature extractor it was trained with."""

    def __init__(self, model_path: Path, features: FeatureExtractor) -> None:
        if not model_path.is_file():
            raise ModelError(
                f"NER model {model_path} does not exist; train it with `newsbeam entities train`."
            )
        self._tagger = pycrfsuite.Tagger()
        try:
            self._tagger.open(str(model_path))
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot open NER model {model_path}: {exc}") from None
        self.features = features
        self._lock = threading.Lock()  # a crfsuite tagger holds one sequence at a time

    def tag(
        self, words: Sequence[str], language: str, gazetteer: Sequence[str] | None = None
    ) -> list[str]:
        """IOB2 tags over PER/ORG/LOC, one per word (a model trained with MISC has its
        MISC spans dropped: they are not mentions)."""
        if not words:
            return []
        xseq = pycrfsuite.ItemSequence(self.features.sentence(words, language, gazetteer))
        with self._lock:
            tags: list[str] = self._tagger.tag(xseq)
        return without_misc(tags)
