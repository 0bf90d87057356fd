"""What an article is filed under for analysts: one keyword list per entity type, and one time.

Kibana's visualisations and controls aggregate one field at a time and cannot reach into
``nested`` documents, so a type-filtered count over the ``entities`` object array counts
every entity of the matching articles (a filter ``entities.type: LOC`` with a terms
aggregation on ``entities.canonical`` also counts Haftar). These flat fields say per type
what the article names, so a terms aggregation on ``places`` counts places and nothing
else. The design is argued in docs/index.md.

Pure functions over the document model: no clients, no clocks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from transforms.document import Mention

# Entity label -> the article field that lists that type's names.
FACET_FIELDS: dict[str, str] = {
    "PER": "people",
    "ORG": "organisations",
    "LOC": "places",
}
OTHER_FIELD = "other"  # MISC and any label a tagger may add later
ALL_FACET_FIELDS = (*FACET_FIELDS.values(), OTHER_FIELD)

# A publication time this far after the arrival time is a wrong date in the page (a
# time-zone slip stays well within it), so arrival time is used instead.
MAX_PUBLISHED_AFTER_ARRIVAL = timedelta(days=1)

_EDGE_PUNCTUATION = "\"'“”‘’«»„‚‹›()[]{}<>.,;:!?*_-–—/\\|"
_POSSESSIVE = re.compile(r"(?<=\w)['’]s$")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def facet_field(label: str) -> str:
    """The facet field for an entity label (``PER`` -> ``people``; unknown -> ``other``)."""
    return FACET_FIELDS.get(label.upper(), OTHER_FIELD)


def normalise_surface(text: str) -> str:
    """An unlinked mention as one facet value: NFC, single spaces, no surrounding quotes or
    punctuation, no English possessive ("the Froenze Academie's" -> "the Froenze Academie"),
    so two spellings that differ only by these count as one."""
    value = " ".join(unicodedata.normalize("NFC", text).split())
    value = value.strip(_EDGE_PUNCTUATION + " ")
    value = _POSSESSIVE.sub("", value)
    return value.strip(_EDGE_PUNCTUATION + " ")


def facet_name(canonical: str | None, surface: str) -> str:
    """The name an entity is counted under: the canonical name where linked, the
    normalised surface form otherwise."""
    return canonical or normalise_surface(surface)


def entity_facets(mentions: Iterable[Mention]) -> dict[str, list[str]]:
    """Per facet field, the distinct names the mentions give, in order of first mention.
    Every field is present (empty lists index as "no value"), so each article says what it
    names of every type."""
    facets: dict[str, dict[str, None]] = {field: {} for field in ALL_FACET_FIELDS}
    for mention in mentions:
        name = facet_name(mention.canonical, mention.text)
        if name:
            facets[facet_field(mention.label)][name] = None
    return {field: list(names) for field, names in facets.items()}


def facets_from_entities(entities: Sequence[dict[str, object]]) -> dict[str, list[str]]:
    """The same facets rebuilt from an indexed article's ``entities`` (canonical, name,
    type), for articles written before these fields existed."""
    mentions = [
        Mention(
            text=str(entity.get("name") or ""),
            label=str(entity.get("type") or ""),
            start=0,
            end=0,
            canonical=str(entity["canonical"]) if entity.get("canonical") else None,
        )
        for entity in entities
    ]
    return entity_facets(mentions)


def _parse(value: str) -> datetime | None:
    """A date as Elasticsearch's ``strict_date_optional_time||yyyy-MM||yyyy`` reads it."""
    partial = _PARTIAL_DATE.match(value)
    try:
        if partial:
            return datetime(int(partial.group(1)), int(partial.group(2) or 1), 1, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def event_time(published: str | None, received_at: str) -> str:
    """The time an analyst means by "when": the publication time where the article gives a
    usable one, else when newsbeam received it. A publication date that does not parse, or
    lies more than a day after arrival (a wrong date in the page), falls back to arrival."""
    if published:
        when = _parse(published)
        arrived = _parse(received_at)
        if when is not None and (arrived is None or when <= arrived + MAX_PUBLISHED_AFTER_ARRIVAL):
            return published
    return received_at
