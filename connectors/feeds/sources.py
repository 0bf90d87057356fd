"""Sources as data: the operator's YAML file of publishers and their feeds.

An operator lists sources in a YAML file (the packaged ``connectors/sources.yaml``
is the default)::

    sources:
      - name: example-news
        feeds: [https://example.org/rss.xml]
        language: en
        country: GB
        interval: 15m          # base poll interval; adapted to how busy the feed is
        extraction: {favor: precision, prune_xpath: "//aside"}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

PACKAGED_SOURCES = Path(__file__).resolve().parent.parent / "sources.yaml"
MIN_INTERVAL_S = 60.0


class SourcesError(ValueError):
    """A bad sources file; the message says which entry and what to fix."""


@dataclass(frozen=True)
class Source:
    """One publisher: its feeds, what language/country to expect, how often to look."""

    name: str
    feeds: tuple[str, ...]
    language: str = ""
    country: str = ""
    interval_s: float = 900.0
    extraction: dict[str, str] = field(default_factory=dict)
    fetch_pages: bool = True

    def hints(self) -> dict[str, str]:
        hints = {"source": self.name}
        if self.language:
            hints["language"] = self.language
        if self.country:
            hints["country"] = self.country
        for key, value in self.extraction.items():
            hints[f"extract_{key}"] = value
        return hints

    def to_yaml_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name, "feeds": list(self.feeds)}
        if self.language:
            entry["language"] = self.language
        if self.country:
            entry["country"] = self.country
        entry["interval"] = format_interval(self.interval_s)
        if self.extraction:
            entry["extraction"] = dict(self.extraction)
        if not self.fetch_pages:
            entry["fetch_pages"] = False
        return entry


_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_EXTRACTION_KEYS = {"favor", "prune_xpath"}


def parse_interval(value: Any) -> float:
    """Seconds from ``900``, ``"90s"``, ``"15m"``, ``"2h"`` or ``"1d"``."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an interval")
    if isinstance(value, int | float):
        return float(value)
    match = _INTERVAL.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not an interval like 900, 90s, 15m, 2h or 1d")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def format_interval(seconds: float) -> str:
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


def _source_from_entry(entry: Any, where: str) -> Source:
    if not isinstance(entry, dict):
        raise SourcesError(f"{where} is not a mapping with name and feeds.")
    name = str(entry.get("name") or "")
    if not _NAME.match(name):
        raise SourcesError(
            f"{where} has name {name!r}; use letters, digits, '-', '_' or '.' (max 64)."
        )
    where = f"{where} ({name})"
    feeds = entry.get("feeds", entry.get("feed"))
    if isinstance(feeds, str):
        feeds = [feeds]
    if not feeds or not isinstance(feeds, list):
        raise SourcesError(f"{where} has no feeds; add `feeds: [https://...]`.")
    for url in feeds:
        parts = urlsplit(str(url))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourcesError(f"{where} feed {url!r} is not an http(s) URL.")
    try:
        interval = parse_interval(entry.get("interval", 900))
    except ValueError as exc:
        raise SourcesError(f"{where}: interval {exc}.") from None
    if interval < MIN_INTERVAL_S:
        raise SourcesError(
            f"{where}: interval {interval:g} s is below {MIN_INTERVAL_S:g} s; be polite."
        )
    extraction = entry.get("extraction") or {}
    if not isinstance(extraction, dict) or set(extraction) - _EXTRACTION_KEYS:
        raise SourcesError(
            f"{where}: extraction may only set {sorted(_EXTRACTION_KEYS)}, got {extraction!r}."
        )
    if extraction.get("favor", "precision") not in ("precision", "recall"):
        raise SourcesError(f"{where}: extraction favor must be precision or recall.")
    unknown = set(entry) - {
        "name", "feeds", "feed", "language", "country", "interval", "extraction", "fetch_pages"
    }  # fmt: skip
    if unknown:
        raise SourcesError(f"{where} has unknown keys {sorted(unknown)}.")
    return Source(
        name=name,
        feeds=tuple(str(url) for url in feeds),
        language=str(entry.get("language") or "").lower(),
        country=str(entry.get("country") or "").upper(),
        interval_s=interval,
        extraction={str(k): str(v) for k, v in extraction.items()},
        fetch_pages=bool(entry.get("fetch_pages", True)),
    )


def parse_sources(text: str, where: str = "sources file") -> list[Source]:
    """Sources from YAML text; raises ``SourcesError`` saying what to fix."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourcesError(f"{where} is not valid YAML: {exc}.") from None
    if data is None:
        return []
    entries = data.get("sources") if isinstance(data, dict) else None
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise SourcesError(f"{where} must have a top-level `sources:` list.")
    sources = [_source_from_entry(e, f"{where} entry {i + 1}") for i, e in enumerate(entries)]
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SourcesError(f"{where} names {duplicates} more than once; names must be unique.")
    return sources


def sources_path(sources_file: str) -> Path:
    """The operator's sources file, or the packaged default when the setting is empty."""
    return Path(sources_file) if sources_file else PACKAGED_SOURCES


def load_sources(path: str | Path) -> list[Source]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourcesError(
            f"cannot read sources file {path}: {exc.strerror}; set NEWSBEAM_SOURCES_FILE."
        ) from None
    return parse_sources(text, where=str(path))


def append_source(path: str | Path, source: Source) -> None:
    """Add a source to an operator's file, keeping its comments; start it from the defaults."""
    path = Path(path)
    if path.resolve() == PACKAGED_SOURCES.resolve():
        raise SourcesError(
            "the packaged sources file is not for editing; set NEWSBEAM_SOURCES_FILE to your "
            "own file (it starts as a copy of the defaults)."
        )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PACKAGED_SOURCES.read_text(encoding="utf-8"), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    existing = parse_sources(text, where=str(path))
    if any(s.name == source.name for s in existing):
        raise SourcesError(f"{path} already has a source named {source.name!r}.")
    _source_from_entry(source.to_yaml_entry(), "the new source")
    if not existing and "sources:" not in text:
        text = text.rstrip("\n") + ("\n" if text.strip() else "") + "sources:\n"
    block = yaml.safe_dump([source.to_yaml_entry()], allow_unicode=True, sort_keys=False)
    indented = "".join(f"  {line}\n" for line in block.splitlines())
    if re.search(r"^sources:\s*\[\]\s*$", text, flags=re.MULTILINE):
        text = re.sub(r"^sources:\s*\[\]\s*$", "sources:", text, flags=re.MULTILINE)
    path.write_text(text.rstrip("\n") + "\n" + indented, encoding="utf-8")
    if len(parse_sources(path.read_text(encoding="utf-8"), str(path))) != len(existing) + 1:
        raise SourcesError(f"could not append to {path}; add the source by hand.")
