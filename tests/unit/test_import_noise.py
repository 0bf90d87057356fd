"""`newsbeam` prints only what the command says: Beam's import-time "apitools not found"
warning is dropped, every other warning still shows. Runs real interpreters, since the
warning is logged once per process, at import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOISE = "apitools not found"


def _stderr(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_importing_beam_on_its_own_prints_the_warning() -> None:
    # The noise is real: without newsbeam's filter, Beam's import logs it.
    assert NOISE in _stderr("import apache_beam")


def test_beam_imported_through_newsbeam_is_quiet_but_real_warnings_show() -> None:
    stderr = _stderr(
        "import pipelines.cli, connectors.kafka, logging\n"
        "logging.warning('a real warning')\n"
        "logging.getLogger('apache_beam.io').warning('a beam warning')\n"
    )
    assert NOISE not in stderr
    assert "a real warning" in stderr
    assert "a beam warning" in stderr
