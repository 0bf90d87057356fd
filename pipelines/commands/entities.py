"""``newsbeam entities train``: rebuild the trained NER model from shared/ner.

The ``entities`` command itself belongs to ``search.py`` (``entities top``); this module
adds the ``train`` action to it through ``add_train_parser``.
"""

from __future__ import annotations

import argparse

from pipelines.settings import Settings


def _train(args: argparse.Namespace, settings: Settings) -> int:
    from transforms.ner.train import run

    return run(args)


def add_train_parser(entity_commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from transforms.ner.options import add_arguments

    train = entity_commands.add_parser(
        "train",
        help="train the CRF entity recogniser from the shared/ner corpora (fixed seed)",
        description="Train the multilingual CRF from <ner-data>/<lang>/<source>.train.conll.gz "
        "and write the model, its word clusters and its JSON card (default: the packaged "
        "model files, transforms/ner/models/). See docs/entities.md, 'Trained model'.",
    )
    add_arguments(train)
    train.set_defaults(handler=_train)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Nothing at top level: ``search.py`` creates ``entities`` and calls ``add_train_parser``."""
