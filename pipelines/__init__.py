"""The Beam wiring, settings and the ``newsbeam`` CLI."""

from pipelines.import_noise import silence_beam_import_noise

# Before anything below this package imports Beam (see pipelines/import_noise.py).
silence_beam_import_noise()
