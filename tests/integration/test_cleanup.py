"""A run's namespace is deleted from the real node and broker, and nothing beside it."""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from connectors.elasticsearch import client, ensure_index
from infra.cleanup import delete_namespaces
from pipelines.settings import Settings

pytestmark = pytest.mark.integration


def test_a_namespace_goes_with_its_templates_and_topics_and_its_neighbours_stay(
    test_settings: Settings,
) -> None:
    mine = test_settings
    # A neighbour whose names extend the namespace's without its separator: it must stay.
    neighbour = mine.replace(
        index_prefix=f"{mine.index_prefix}x", raw_topic=mine.raw_topic.replace(".raw", "x.raw")
    )
    es = client(mine)
    admin = KafkaAdminClient(bootstrap_servers=mine.kafka_bootstrap)
    try:
        for settings in (mine, neighbour):
            ensure_index(es, settings.articles_alias, "articles")
            ensure_index(es, settings.dlq_alias, "dead_letters")
        topics = [mine.raw_topic, mine.dlq_topic, neighbour.raw_topic]
        admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1) for t in topics])

        delete_namespaces(mine, [f"{mine.index_prefix}-"], [mine.raw_topic.removesuffix("raw")])

        left = {row["index"] for row in es.cat.indices(format="json", h="index").body}
        assert not {name for name in left if name.startswith(f"{mine.index_prefix}-")}
        assert f"{neighbour.articles_alias}-v1" in left
        templates = {t["name"] for t in es.indices.get_index_template().body["index_templates"]}
        assert not {name for name in templates if name.startswith(f"{mine.index_prefix}-")}
        remaining = set(admin.list_topics())
        assert not {mine.raw_topic, mine.dlq_topic} & remaining
        assert neighbour.raw_topic in remaining
        with pytest.raises(ValueError, match="empty prefix"):
            delete_namespaces(mine, [""], [])
    finally:
        delete_namespaces(mine, [neighbour.index_prefix], [neighbour.raw_topic])
        admin.close()
        es.close()
