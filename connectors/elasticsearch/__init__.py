"""Elasticsearch: the client, index templates behind aliases, the indexed form of
documents, and bulk writes.

Indices are versioned (``news-articles-v1``) behind an alias (``news-articles``)
that every reader and writer uses, so a mapping change is a reindex and an alias
swap. Documents are written with their own id, so a re-run overwrites.
Everything here works on the core-only node the local stack runs.

- ``client``: the client, credentials, CA, and one sentence per failure;
- ``layout``: index templates, versioned indices, aliases, migration;
- ``documents``: the indexed form of articles and dead letters;
- ``bulk``: bulk writes that never lose a request.
"""

from connectors.elasticsearch.bulk import BulkObserver, BulkWriter, IndexRequest
from connectors.elasticsearch.client import (
    RETRYABLE_STATUS,
    ElasticsearchAccessError,
    ElasticsearchSettings,
    ElasticsearchUnavailableError,
    check_access,
    client,
    describe_error,
    wait_until_ready,
)
from connectors.elasticsearch.documents import (
    ARTICLES_DATASET,
    DEAD_LETTERS_DATASET,
    article_source,
    dead_letter_source,
)
from connectors.elasticsearch.layout import (
    ARTICLE_DEFAULT_FIELDS,
    IndexLayoutError,
    Migration,
    article_mapping,
    copy_documents,
    ensure_index,
    ensure_indices,
    index_template,
    indices_behind,
    load_mapping,
    migrate_index,
    node_modules,
    put_index_template,
    write_index,
)

__all__ = [
    "ARTICLES_DATASET",
    "ARTICLE_DEFAULT_FIELDS",
    "DEAD_LETTERS_DATASET",
    "RETRYABLE_STATUS",
    "BulkObserver",
    "BulkWriter",
    "ElasticsearchAccessError",
    "ElasticsearchSettings",
    "ElasticsearchUnavailableError",
    "IndexLayoutError",
    "IndexRequest",
    "Migration",
    "article_mapping",
    "article_source",
    "check_access",
    "client",
    "copy_documents",
    "dead_letter_source",
    "describe_error",
    "ensure_index",
    "ensure_indices",
    "index_template",
    "indices_behind",
    "load_mapping",
    "migrate_index",
    "node_modules",
    "put_index_template",
    "wait_until_ready",
    "write_index",
]
