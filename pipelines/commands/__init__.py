"""Subcommands of ``newsbeam``: one module each, discovered at start-up.

A module here defines ``register(commands)``, which adds its parser(s) to the
``argparse`` subparsers and sets ``handler`` — a function
``(args: argparse.Namespace, settings: Settings) -> int`` (the exit status).
Handlers import heavy libraries lazily so ``--help`` stays fast.
"""
