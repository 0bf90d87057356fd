"""The real broker and the real search node do what the pipeline relies on.

No project code between the test and the service: if one of these fails, the stack
(versions, config) is wrong, not the pipeline. Each test has its own topic/index.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from pipelines.settings import Settings
from transforms.document import Document, document_id

pytestmark = pytest.mark.integration

ARTICLES = [
    ("en", "Forces loyal to Khalifa Haftar advanced on Tripoli on Thursday."),
    ("ar", "تقدمت قوات خليفة حفتر نحو طرابلس يوم الخميس."),
    ("fr", "Les forces du maréchal Haftar ont avancé vers Tripoli jeudi."),
]


@pytest.fixture
def topic(test_settings: Settings) -> Iterator[str]:
    name = test_settings.raw_topic
    admin = KafkaAdminClient(bootstrap_servers=test_settings.kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(name=name, num_partitions=1, replication_factor=1)])
        yield name
        admin.delete_topics([name])
    finally:
        admin.close()


@pytest.fixture
def es(test_settings: Settings) -> Iterator[Elasticsearch]:
    # The secured local node: the credential and CA that load() picked up, passed by hand.
    client = Elasticsearch(
        test_settings.es_url,
        basic_auth=(test_settings.es_username or "", test_settings.es_password or ""),
        ca_certs=test_settings.es_ca_file,
        request_timeout=30,
    )
    yield client
    # By name: Elasticsearch 8 refuses wildcard deletes (action.destructive_requires_name).
    client.indices.delete(index=test_settings.articles_alias, ignore_unavailable=True)
    client.close()


def _documents() -> list[Document]:
    return [
        Document(id=document_id(content=text), origin=f"test:{lang}", content=text)
        for lang, text in ARTICLES
    ]


def test_documents_round_trip_through_the_broker_in_order(
    test_settings: Settings, topic: str
) -> None:
    sent = _documents()
    producer = KafkaProducer(
        bootstrap_servers=test_settings.kafka_bootstrap,
        acks="all",
        key_serializer=str.encode,
        value_serializer=str.encode,
    )
    try:
        for doc in sent:
            producer.send(topic, key=doc.id, value=doc.to_json())
        producer.flush(timeout=30)
    finally:
        producer.close()

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=test_settings.kafka_bootstrap,
        group_id=test_settings.consumer_group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=20_000,
    )
    try:
        received = []
        for message in consumer:
            received.append(message)
            if len(received) == len(sent):
                break
        consumer.commit()
    finally:
        consumer.close()

    assert [m.key.decode() for m in received] == [doc.id for doc in sent]
    assert [Document.from_json(m.value) for m in received] == sent
    assert [m.offset for m in received] == [0, 1, 2]


def test_a_committed_group_does_not_see_old_messages_again(
    test_settings: Settings, topic: str
) -> None:
    producer = KafkaProducer(bootstrap_servers=test_settings.kafka_bootstrap)
    try:
        producer.send(topic, b"first")
        producer.flush(timeout=30)
        settings = {
            "bootstrap_servers": test_settings.kafka_bootstrap,
            "group_id": test_settings.consumer_group,
            "auto_offset_reset": "earliest",
            "enable_auto_commit": False,
            "consumer_timeout_ms": 20_000,
        }
        first = KafkaConsumer(topic, **settings)
        try:
            assert next(iter(first)).value == b"first"
            first.commit()
        finally:
            first.close()
        producer.send(topic, b"second")
        producer.flush(timeout=30)
    finally:
        producer.close()

    again = KafkaConsumer(topic, **settings)
    try:
        assert next(iter(again)).value == b"second"
    finally:
        again.close()


def test_index_refresh_and_search_in_three_scripts(
    test_settings: Settings, es: Elasticsearch
) -> None:
    index = test_settings.articles_alias
    es.indices.create(
        index=index,
        mappings={
            "properties": {
                "text": {"type": "text"},
                "language": {"type": "keyword"},
                "entities": {"type": "keyword"},
            }
        },
    )
    for doc, (lang, _) in zip(_documents(), ARTICLES, strict=True):
        body = {"text": doc.content, "language": lang, "entities": ["Khalifa Haftar"]}
        es.index(index=index, id=doc.id, document=body)
    # Indexing the same id again overwrites: the count stays at three.
    first = _documents()[0]
    es.index(index=index, id=first.id, document={"text": first.content, "language": "en"})
    es.indices.refresh(index=index)

    assert es.count(index=index)["count"] == 3
    arabic = es.search(index=index, query={"match": {"text": "حفتر"}})["hits"]["hits"]
    assert [hit["_source"]["language"] for hit in arabic] == ["ar"]
    latin = es.search(index=index, query={"match": {"text": "haftar"}})["hits"]["hits"]
    assert sorted(hit["_source"]["language"] for hit in latin) == ["en", "fr"]
    linked = es.search(index=index, query={"term": {"entities": "Khalifa Haftar"}})
    assert linked["hits"]["total"]["value"] == 2  # the overwritten English one has none now


def test_the_node_is_the_pinned_version_and_healthy(
    test_settings: Settings, es: Elasticsearch
) -> None:
    from infra.versions import ELASTICSEARCH_VERSION

    # Not es.info(): the minimal distribution has no `rest-root` module, so GET / is 405.
    nodes = es.nodes.info(node_id="_local")["nodes"]
    assert [node["version"] for node in nodes.values()] == [ELASTICSEARCH_VERSION]
    health = es.cluster.health()
    assert health["status"] in ("green", "yellow")
    assert health["number_of_nodes"] == 1
