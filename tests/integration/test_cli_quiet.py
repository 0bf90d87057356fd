"""A `newsbeam` command that imports Beam, run as a user runs it: stderr stays clean."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipelines.settings import Settings

pytestmark = pytest.mark.integration

NEWSBEAM = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "newsbeam"


def test_publish_prints_its_answer_and_nothing_else(
    test_settings: Settings, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.txt"
    done = subprocess.run(
        [
            str(NEWSBEAM),
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
