"""Deleting what test and benchmark runs created on the stack, by name.

Each run works in its own namespace (an index prefix such as ``t-<test>-<id>``, a topic
prefix such as ``t.<test>-<id>.``) on the shared local node and broker, and removes it
afterwards: otherwise repeated runs pile up indices (a node holds at most 1,000 shards
by default, and every index here has one) and topics. Names are listed and deleted one
by one, because Elasticsearch 8 refuses wildcard deletes (``action.destructive_requires_name``).
"""

from __future__ import annotations

from collections.abc import Iterable

from kafka import KafkaAdminClient

from connectors.elasticsearch import client
from pipelines.settings import Settings

_DELETE_AT_ONCE = 40  # index names per delete request: the request line stays short


def delete_namespaces(
    settings: Settings, index_prefixes: Iterable[str], topic_prefixes: Iterable[str]
) -> None:
    """Delete the indices and index templates whose names start with one of
    ``index_prefixes``, and the topics that start with one of ``topic_prefixes``.

    ``settings`` only says where the node and the broker are. An empty prefix is refused:
    it would match everything.
    """
    indexed = tuple(sorted(set(index_prefixes)))
    topical = tuple(sorted(set(topic_prefixes)))
    if "" in indexed or "" in topical:
        raise ValueError("an empty prefix would delete every index or topic")
    if indexed:
        es = client(settings)
        try:
            rows: list[dict[str, str]] = es.cat.indices(  # type: ignore[assignment]
                format="json", h="index", expand_wildcards="all"
            ).body
            names = sorted(row["index"] for row in rows if row["index"].startswith(indexed))
            for start in range(0, len(names), _DELETE_AT_ONCE):
                batch = names[start : start + _DELETE_AT_ONCE]
                es.indices.delete(index=batch, ignore_unavailable=True)
            templates = es.indices.get_index_template().body.get("index_templates", [])
            for template in templates:
                if template["name"].startswith(indexed):
                    es.indices.delete_index_template(name=template["name"])
        finally:
            es.close()
    if topical:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id="newsbeam-cleanup",
            **settings.kafka_options,
        )
        try:
            doomed = sorted(topic for topic in admin.list_topics() if topic.startswith(topical))
            if doomed:
                admin.delete_topics(doomed)
        finally:
            admin.close()
