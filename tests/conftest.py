"""Shared fixtures. Integration tests get the real local stack, started once per session.

If Kafka and Elasticsearch are already running (``newsbeam stack up``), the
session uses them and leaves them running; otherwise it starts them and stops
them at the end, so ``pytest`` alone works on a clean machine. The local stack is
secured by default; its credentials (``<data_dir>/credentials.toml``) are picked up
by ``load()``, so fixtures hand out settings that authenticate.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.security import TEST_PREFIX_PATTERN
from pipelines.settings import Settings, load

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def stack_settings() -> Iterator[Settings]:
    from infra import stack

    overrides = {"data_dir": str(ROOT / ".newsbeam")}
    settings = load(overrides=overrides)
    already_up = stack.status(settings).ok
    if not already_up:
        report = stack.up(settings)
        assert report.ok, report.describe()
    if settings.local_security and stack.elasticsearch_is_local(settings):
        # The least-privilege credentials also cover the tests' `t-*` prefixes.
        report = stack.users(settings, extra_prefixes=(TEST_PREFIX_PATTERN,))
        assert report.ok, report.describe()
    # Again, now that the secured stack's credentials exist: load() picks them up.
    settings = load(overrides=overrides)
    yield settings
    if not already_up:
        stack.down(settings)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A short name no other test uses: for topics, indices and consumer groups."""
    base = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:30]
    return f"{base}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def test_namespaces(stack_settings: Settings) -> Iterator[list[str]]:
    """The unique names tests worked under; their indices and topics go at the session's end,
    so repeated runs on one stack do not pile them up (infra/cleanup.py)."""
    names: list[str] = []
    yield names
    if names:
        from infra.cleanup import delete_namespaces

        delete_namespaces(stack_settings, [f"t-{n}-" for n in names], [f"t.{n}." for n in names])


@pytest.fixture
def test_settings(
    stack_settings: Settings, unique_name: str, test_namespaces: list[str]
) -> Settings:
    """Settings for one integration test: its own topics, indices and consumer group."""
    test_namespaces.append(unique_name)
    return stack_settings.replace(
        raw_topic=f"t.{unique_name}.raw",
        dlq_topic=f"t.{unique_name}.dlq",
        alerts_topic=f"t.{unique_name}.alerts",
        index_prefix=f"t-{unique_name}",
        consumer_group=f"t-{unique_name}",
    )
