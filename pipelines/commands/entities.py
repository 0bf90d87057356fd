"""``newsbeam entities train``: rebuild the trained NER model from shared/ner.

It joins the ``newsbeam entities`` group through ``command_group``, beside ``entities top``
(``entities_top.py``).
"""

from __future__ import annotations

import argparse

from pipelines.commands import ENTITIES_HELP, command_group
from pipelines.settings import Settings


def _train(args: argparse.Namespace, settings: Settings) -> int:
    from transforms.ner.train import run

    return run(args)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from transforms.ner.options import add_arguments

    entities = command_group(commands, "entities", ENTITIES_HELP)
    train = entities.add_parser(
        "train",
        help="train the CRF entity recogniser from the shared/ner corpora (fixed seed)",
        description="Train the multilingual CRF from <ner-data>/<lang>/<source>.train.conll.gz "
        "and write the model, its word clusters and its JSON card (default: the packaged "
        "model files, transforms/ner/models/). See docs/entities.md, 'Trained model'.",
    )
    add_arguments(train)
    train.set_defaults(handler=_train)
