"""Shared fixtures. Integration tests get the real local stack, started once per session.

If Kafka and Elasticsearch are already running (``newsbeam stack up``), the
session uses them and leaves them running; otherwise it starts them and stops
them at the end, so ``pytest`` alone works on a clean machine.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.settings import Settings, load

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def stack_settings() -> Iterator[Settings]:
    from infra import stack

    settings = load(overrides={"data_dir": str(ROOT / ".newsbeam")})
    already_up = stack.status(settings).ok
    if not already_up:
        report = stack.up(settings)
        assert report.ok, report.describe()
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
