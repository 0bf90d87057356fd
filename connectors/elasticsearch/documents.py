"""The indexed form of articles and dead letters (fields in docs/index.md)."""

from __future__ import annotations

from typing import Any

from transforms.document import DeadLetter, Document, utc_now
from transforms.entities import KnowledgeBase
from transforms.facets import entity_facets, event_time, facet_name
from transforms.search_terms import document_search_text
from transforms.stories import story_bands


def entity_aliases(kb: KnowledgeBase, entity_id: str | None) -> str | None:
    """The searchable names of a linked entity, or None for an unlinked one."""
    return kb.search_words(entity_id) if entity_id and entity_id in kb.entities else None


ARTICLES_DATASET = "newsbeam.articles"
DEAD_LETTERS_DATASET = "newsbeam.dead_letters"


def article_source(doc: Document, kb: KnowledgeBase) -> dict[str, Any]:
    """The indexed form of an enriched document (fields documented in docs/index.md).

    ``kb`` is the knowledge base the entities were linked with: each linked entity carries
    the words of all its known spellings (``entities.aliases``), so Kibana's free-text search
    for any of them finds every article that names the entity.
    """
    entities: dict[str, dict[str, Any]] = {}
    for mention in doc.entities:
        key = facet_name(mention.canonical, mention.text)
        if not key:  # a mention of punctuation only names nothing
            continue
        entry = entities.get(key)
        if entry is None:
            entry = entities[key] = {
                "name": key,
                "canonical": mention.canonical,
                "id": mention.entity_id,
                "type": mention.label,
                "variants": [],
                "aliases": entity_aliases(kb, mention.entity_id),
                "count": 0,
            }
        entry["count"] += 1
        if mention.text not in entry["variants"]:
            entry["variants"].append(mention.text)
    linked = [e["canonical"] for e in entities.values() if e["canonical"]]
    return {
        "@timestamp": doc.received_at,
        "event_time": event_time(doc.published, doc.received_at),
        "event": {"ingested": utc_now(), "dataset": ARTICLES_DATASET},
        "id": doc.id,
        "title": doc.title,
        "text": doc.text,
        "search_text": document_search_text(doc.title, doc.text, doc.language, linked),
        "language": doc.language,
        "language_score": doc.language_score,
        "source": {"name": doc.source or doc.hints.get("source")},
        "authors": doc.authors,
        "published": doc.published,
        "url": doc.url,
        "origin": doc.origin,
        "notes": doc.notes,
        "extraction": {"method": doc.extraction_method},
        "entities": list(entities.values()),
        **entity_facets(doc.entities),
        "mentions": [
            {"text": m.text, "start": m.start, "end": m.end, "canonical": m.canonical}
            for m in doc.entities
        ],
        "story": {"id": doc.story_id or doc.id},
        "fingerprint": (
            {
                "content_hash": doc.fingerprint.content_hash,
                "simhash": doc.fingerprint.simhash,
                "bands": story_bands(doc.fingerprint.simhash),
            }
            if doc.fingerprint
            else None
        ),
        "boilerplate": [{"kind": s.kind, "text": s.text} for s in doc.boilerplate],
    }


def dead_letter_source(letter: DeadLetter) -> dict[str, Any]:
    """The indexed form of a dead letter: ``at`` becomes ``@timestamp``."""
    source = letter.to_dict()
    source["@timestamp"] = source.pop("at")
    source["event"] = {"ingested": utc_now(), "dataset": DEAD_LETTERS_DATASET}
    return source
