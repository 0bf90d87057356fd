"""A `newsbeam` command that imports Beam, run as a user runs it: stderr stays clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.settings import Settings

pytestmark = pytest.mark.integration

# The installed console script when there is one (what users run), else the same entry point.
SCRIPT = Path(sys.executable).with_name("newsbeam")
NEWSBEAM = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "pipelines.cli"]


def test_publish_prints_its_answer_and_nothing_else(
    test_settings: Settings, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.txt"
    done = subprocess.run(
        [
            *NEWSBEAM,
            "--kafka-bootstrap",
            test_settings.kafka_bootstrap,
            "--raw-topic",
            test_settings.raw_topic,
            "--dlq-topic",
            test_settings.dlq_topic,
            "publish",
            str(missing),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.stderr == ""
    assert f"{missing}: rejected: missing: no such file" in done.stdout
    assert f"1 rejected to {test_settings.dlq_topic}" in done.stdout
