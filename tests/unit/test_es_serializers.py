"""The Elasticsearch client's orjson bodies mean what the standard library's meant."""

from __future__ import annotations

import json

import orjson
from elasticsearch.serializer import JsonSerializer, NdjsonSerializer

from connectors.elasticsearch.client import _serializers

ARTICLE = {
    "title": "Haftar’s forces advance on Tripoli",
    "text": 'Libië, Ægypten, حفتر — and quotes " and \\ backslashes\n',
    "language_score": 0.97,
    "entities": [{"name": "Khalifa Haftar", "count": 3, "canonical": None, "linked": True}],
}
# orjson refuses both: a lone surrogate (from a badly decoded page) and a key that is not a str.
ODD = {"text": "broken \ud800 half", 7: "a number as key"}


def test_every_json_media_type_goes_through_orjson_and_means_the_same() -> None:
    serializers = _serializers()
    assert len(serializers) == 4  # JSON and NDJSON, plain and compatibility-mode media types
    for mimetype, serializer in serializers.items():
        if "ndjson" in mimetype:
            lines = [{"index": {"_index": "a", "_id": "1"}}, ARTICLE]
            ours = [json.loads(line) for line in serializer.dumps(lines).splitlines()]
            assert ours == lines
            assert serializer.dumps(lines).endswith(b"\n")
        else:
            assert serializer.dumps(ARTICLE) == orjson.dumps(ARTICLE)
            assert json.loads(serializer.dumps(ARTICLE)) == ARTICLE
            assert serializer.loads(json.dumps(ARTICLE).encode()) == ARTICLE


def test_what_orjson_refuses_is_encoded_as_the_standard_library_did() -> None:
    serializers = _serializers()
    plain = next(s for m, s in serializers.items() if m == JsonSerializer.mimetype)
    lines = next(s for m, s in serializers.items() if m == NdjsonSerializer.mimetype)
    assert plain.dumps(ODD) == JsonSerializer().dumps(ODD)
    assert lines.dumps([ODD, ARTICLE]) == NdjsonSerializer().dumps([ODD, ARTICLE])
