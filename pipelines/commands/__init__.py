"""Subcommands of ``newsbeam``: one module each, discovered at start-up.

A module here defines ``register(commands)``, which adds its parser(s) to the
``argparse`` subparsers and sets ``handler`` — a function
``(args: argparse.Namespace, settings: Settings) -> int`` (the exit status).
Handlers import heavy libraries lazily so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse

ENTITIES_HELP = "entity reports from the index (top) and the trained entity model (train)"


def command_group(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """The subcommands of the group ``newsbeam <name>``, created by whichever module asks
    first: several modules can add to one group (``entities top``, ``entities train``)
    without knowing about each other or the order they are discovered in."""
    parser = commands.choices.get(name)
    if parser is None:
        parser = commands.add_parser(name, help=help_text, description=help_text)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            group: argparse._SubParsersAction[argparse.ArgumentParser] = action
            return group
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")
