"""The versions of the services newsbeam runs, locally (Maven Central) and in docker-compose.

One place, so ``infra/stack.py``, ``infra/maven/kafka/pom.xml`` (through -D properties),
``docker-compose.yml`` and ``tests/unit/test_compose.py`` cannot drift apart.
"""

from __future__ import annotations

ELASTICSEARCH_VERSION = "8.19.7"
# The minimal "integ-test" zip: the core server and its modules, no bundled JDK, no x-pack.
ELASTICSEARCH_ARTIFACT = (
    f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ELASTICSEARCH_VERSION}:zip"
)
KIBANA_VERSION = ELASTICSEARCH_VERSION  # Kibana only talks to the same minor of Elasticsearch.

KAFKA_VERSION = "3.9.1"
SCALA_BINARY_VERSION = "2.13"
KAFKA_ARTIFACT = f"org.apache.kafka:kafka_{SCALA_BINARY_VERSION}:{KAFKA_VERSION}"
SLF4J_VERSION = "1.7.36"  # Kafka 3.9 logs through slf4j 1.7; slf4j-reload4j is its binding.

# Images used by docker-compose.yml.
ELASTICSEARCH_IMAGE = f"docker.elastic.co/elasticsearch/elasticsearch:{ELASTICSEARCH_VERSION}"
KIBANA_IMAGE = f"docker.elastic.co/kibana/kibana:{KIBANA_VERSION}"
KAFKA_IMAGE = f"apache/kafka:{KAFKA_VERSION}"
PYTHON_IMAGE = "python:3.11-slim"

# Ports derived from the configured ones (documented in docs/operations.md).
KAFKA_CONTROLLER_PORT_OFFSET = 1  # KRaft controller listens on broker port + 1 (9093)
ELASTICSEARCH_TRANSPORT_PORT_OFFSET = 100  # node-to-node transport on http port + 100 (9300)
