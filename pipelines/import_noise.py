"""Silence the one warning Apache Beam logs on import, and nothing else.

``import apache_beam`` imports its BigQuery client stubs, which log "apitools not found ..."
on the root logger when the optional Google client is absent (we never use BigQuery). Every
``newsbeam`` command that imports Beam printed it. The filter drops exactly that record;
any other warning, from Beam or anyone else, still reaches the user.
"""

from __future__ import annotations

import logging

_BEAM_BIGQUERY_NOISE = "apitools not found, and bigquery client libraries are not available"


class _DropBeamImportNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "root" and str(record.msg).startswith(_BEAM_BIGQUERY_NOISE))


def silence_beam_import_noise() -> None:
    """Install the filter on the root logger (once; safe to call again)."""
    root = logging.getLogger()
    if not any(isinstance(f, _DropBeamImportNoise) for f in root.filters):
        root.addFilter(_DropBeamImportNoise())
