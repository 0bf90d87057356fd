"""Several command modules add to one ``newsbeam`` group, in any order of discovery."""

from __future__ import annotations

import argparse

from pipelines.cli import build_parser
from pipelines.commands import command_group


def _two_modules(first: str, second: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsbeam")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in (first, second):
        group = command_group(commands, "entities", "what the index says about entities")
        group.add_parser(name).set_defaults(chosen=name)
    return parser


def test_modules_share_the_group_whichever_comes_first() -> None:
    for order in (("top", "train"), ("train", "top")):
        parser = _two_modules(*order)
        assert parser.parse_args(["entities", "top"]).chosen == "top"
        assert parser.parse_args(["entities", "train"]).chosen == "train"


def test_the_cli_has_entities_top_with_a_type() -> None:
    args = build_parser().parse_args(["entities", "top", "--type", "loc"])
    assert args.type == "LOC"
    assert args.entities_command == "top"
