"""Training options, light to import: ``newsbeam --help`` reads them without numpy or crfsuite."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from transforms.ner.corpus import TRAIN_LANGUAGES

REPO = Path(__file__).resolve().parents[2]
MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = MODELS_DIR / "ner.crfsuite"
DATA_ENV = "NEWSBEAM_NER_DATA"


def default_data_dir() -> Path:
    """``$NEWSBEAM_NER_DATA``, else ``shared/ner`` beside the clone (or beside its parent)."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    for base in (REPO.parent, REPO.parent.parent):
        candidate = base / "shared" / "ner"
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "ner"


@dataclass(frozen=True)
class TrainingConfig:
    data_dir: Path
    output: Path = DEFAULT_MODEL
    languages: tuple[str, ...] = TRAIN_LANGUAGES
    algorithm: str = "lbfgs"  # or "ap" (averaged perceptron)
    max_iterations: int = 120
    c1: float = 0.1
    c2: float = 0.01
    min_freq: int = 1
    sentences_per_file: int | None = None  # a slice, for tests and quick experiments
    seed: int = 20261129
    knowledge_base: bool = True
    clusters: bool = False
    casing: bool = True
    names: bool = True  # jackknifed name-list features from the training labels (namelist)
    bigrams: bool = True  # prev-word|word and shape-trigram conjunctions
    frequencies: bool = True  # wordfreq Zipf buckets (lexicon; needs the `train` extra)
    places: bool = True  # GeoNames/CLDR place names (lexicon; needs the `train` extra)
    shouting: bool = False  # sentences in capitals without the capitalisation attributes
    lean: bool = False  # fewer attributes per token (features.FeatureExtractor.lean), speed
    # share of training sentences also added in capitals (headlines, datelines, wire copy)
    capitals: float = 0.0
    misc: bool = False  # keep MISC as a label in the sets that annotate it (corpus.MISC_ANNOTATED)


def add_arguments(parser: argparse.ArgumentParser, *data_flags: str) -> None:
    """The training options; ``newsbeam entities train`` names the data folder --ner-data
    because ``newsbeam --data-dir`` is already the local services' folder."""
    parser.add_argument(
        *(data_flags or ("--ner-data",)),
        dest="ner_data",
        type=Path,
        default=None,
        help=f"the shared/ner corpus folder (${DATA_ENV}; default: shared/ner beside the clone)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_MODEL, help="model file")
    parser.add_argument(
        "--languages", default=",".join(TRAIN_LANGUAGES), help="comma-separated codes"
    )
    parser.add_argument("--algorithm", choices=("lbfgs", "ap"), default="lbfgs")
    parser.add_argument("--max-iterations", type=int, default=TrainingConfig.max_iterations)
    parser.add_argument("--c1", type=float, default=TrainingConfig.c1, help="L1 (prunes)")
    parser.add_argument("--c2", type=float, default=TrainingConfig.c2, help="L2")
    parser.add_argument("--min-freq", type=int, default=TrainingConfig.min_freq)
    parser.add_argument("--sentences-per-file", type=int, default=None, help="a slice")
    parser.add_argument("--seed", type=int, default=TrainingConfig.seed)
    parser.add_argument(
        "--no-knowledge-base", action="store_true", help="without KB gazetteer features"
    )
    parser.add_argument(
        "--clusters", action="store_true", help="add word-cluster features (no gain measured)"
    )
    parser.add_argument(
        "--no-casing", action="store_true", help="without the capitalisation-ratio feature"
    )
    parser.add_argument(
        "--no-names",
        action="store_true",
        help="without the jackknifed name-list features from the training labels",
    )
    parser.add_argument(
        "--no-bigrams", action="store_true", help="without word-pair and shape-trigram features"
    )
    parser.add_argument(
        "--no-lexicon",
        action="store_true",
        help="without the word-frequency and place-name tables (no `train` extra needed)",
    )
    parser.add_argument(
        "--no-frequencies", action="store_true", help="without the word-frequency table"
    )
    parser.add_argument("--no-places", action="store_true", help="without the place names")
    parser.add_argument(
        "--shouting",
        action="store_true",
        help="sentences in capitals get no attributes read from capitalisation",
    )
    parser.add_argument(
        "--lean",
        action="store_true",
        help="fewer attributes per token (faster): no first letter, no language-group bias",
    )
    parser.add_argument(
        "--capitals",
        type=float,
        default=TrainingConfig.capitals,
        help="share of training sentences also added written in capitals (0-1)",
    )
    parser.add_argument(
        "--misc",
        action="store_true",
        help="train MISC as a label in the sets that annotate it (dropped at output)",
    )
    parser.add_argument(
        "--evaluate", default="", help="also score on these languages' dev files (da,nl,en)"
    )


def config_from_args(args: argparse.Namespace) -> TrainingConfig:
    languages = tuple(x.strip() for x in args.languages.split(",") if x.strip())
    return TrainingConfig(
        data_dir=args.ner_data or default_data_dir(),
        output=args.output,
        languages=languages,
        algorithm=args.algorithm,
        max_iterations=args.max_iterations,
        c1=args.c1,
        c2=args.c2,
        min_freq=args.min_freq,
        sentences_per_file=args.sentences_per_file,
        seed=args.seed,
        knowledge_base=not args.no_knowledge_base,
        clusters=args.clusters,
        casing=not args.no_casing,
        names=not args.no_names,
        bigrams=not args.no_bigrams,
        frequencies=not (args.no_lexicon or args.no_frequencies),
        places=not (args.no_lexicon or args.no_places),
        shouting=args.shouting,
        lean=args.lean,
        capitals=args.capitals,
        misc=args.misc,
    )
