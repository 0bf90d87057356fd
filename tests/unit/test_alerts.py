"""Watchlist parsing and rule evaluation: pure functions over the document model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from transforms.alerts import (
    DEFAULT_WATCHLIST_FILE,
    Alert,
    AlertRule,
    Sink,
    WatchlistError,
    alert_id,
    load_watchlist,
    match_rule,
    parse_watchlist,
    raise_alerts,
    slack_message,
    snippet,
)
from transforms.document import Document, Mention

GERMAN = (
    "Der libysche General Chalifa Haftar hat am Mittwoch den Vormarsch auf Tripolis befohlen. "
    "Haftars Truppen stehen südlich der Hauptstadt."
)


def _doc(text: str, mentions: list[tuple[str, str | None]], **fields: Any) -> Document:
    entities: list[Mention] = []
    for surface, canonical in mentions:
        start = text.index(surface, entities[-1].end if entities else 0)
        entities.append(Mention(surface, "PER", start, start + len(surface), canonical))
    values: dict[str, Any] = {"language": "de", "title": "Vormarsch", "source": "Die Zeit"}
    values.update(fields)
    return Document(
        id="doc1", origin="de.txt", content=text, text=text, entities=entities, **values
    )


def test_packaged_watchlist_watches_khalifa_haftar() -> None:
    watchlist = load_watchlist()
    assert [r.entity for r in watchlist.rules] == ["Khalifa Haftar"]
    assert load_watchlist("") == watchlist
    assert DEFAULT_WATCHLIST_FILE.is_file()


def test_entity_rule_matches_every_linked_variant_as_written() -> None:
    rule = AlertRule(name="haftar", entity="Khalifa Haftar")
    doc = _doc(GERMAN, [("Chalifa Haftar", "Khalifa Haftar"), ("Haftars", "Khalifa Haftar")])
    found = match_rule(rule, doc)
    assert found is not None
    assert found.variants == ["Chalifa Haftar", "Haftars"]
    assert found.count == 2
    assert GERMAN[found.first_start : found.first_end] == "Chalifa Haftar"


def test_unlinked_or_other_entity_does_not_fire() -> None:
    rule = AlertRule(name="haftar", entity="Khalifa Haftar")
    text = "Bu hafta Saddam Haftar Bingazi'de konuştu."
    doc = _doc(text, [("Saddam Haftar", "Saddam Haftar")], language="tr")
    assert match_rule(rule, doc) is None
    assert raise_alerts([rule], doc) == []


def test_filters_language_outlet_and_minimum_mentions() -> None:
    doc = _doc(GERMAN, [("Chalifa Haftar", "Khalifa Haftar"), ("Haftars", "Khalifa Haftar")])
    base = AlertRule(name="r", entity="Khalifa Haftar")
    assert match_rule(replace(base, languages=frozenset({"en"})), doc) is None
    assert match_rule(replace(base, languages=frozenset({"de"})), doc) is not None
    assert match_rule(replace(base, outlets=frozenset({"reuters"})), doc) is None
    assert match_rule(replace(base, outlets=frozenset({"die zeit"})), doc) is not None
    assert match_rule(replace(base, min_mentions=3), doc) is None
    assert match_rule(replace(base, min_mentions=2), doc) is not None
    assert match_rule(replace(base, enabled=False), doc) is None


def test_query_rule_matches_whole_words_in_any_case() -> None:
    rule = AlertRule(name="tripoli", query=("march on Tripoli", "Tripolis"))
    doc = _doc("Haftar ordered a MARCH ON\nTRIPOLI; Tripolitania waits.", [])
    found = match_rule(rule, doc)
    assert found is not None
    assert found.variants == ["MARCH ON\nTRIPOLI"]
    assert match_rule(AlertRule(name="t", query=("Tripol",)), doc) is None


def test_alert_carries_what_the_issue_asks_for_and_one_id_per_rule_and_story() -> None:
    rule = AlertRule(name="haftar", entity="Khalifa Haftar", sinks=(Sink("console"),))
    doc = _doc(
        GERMAN,
        [("Chalifa Haftar", "Khalifa Haftar"), ("Haftars", "Khalifa Haftar")],
        published="2019-04-04",
        url="https://example.de/a",
        story_id="story9",
        received_at="2024-01-01T00:00:00.000Z",
    )
    (alert,) = raise_alerts([rule], doc, alerted_at="2024-01-01T00:00:01.000Z")
    assert alert.id == alert_id("haftar", "story9")
    assert alert.id != alert_id("haftar", "story8") != alert_id("other", "story9")
    assert alert.variants == ["Chalifa Haftar", "Haftars"]
    assert "Chalifa Haftar" in alert.snippet
    assert (alert.title, alert.outlet, alert.language) == ("Vormarsch", "Die Zeit", "de")
    assert (alert.published, alert.url, alert.story_id) == (
        "2019-04-04",
        "https://example.de/a",
        "story9",
    )
    assert alert.ingested_at == "2024-01-01T00:00:00.000Z"
    assert alert.alerted_at == "2024-01-01T00:00:01.000Z"
    assert Alert.from_json(alert.to_json()) == alert
    assert alert.delivery_sinks() == [Sink("console")]
    # Without a story the document is its own story.
    (alone,) = raise_alerts([rule], _doc(GERMAN, [("Haftars", "Khalifa Haftar")]))
    assert alone.story_id == "doc1"


def test_snippet_is_cut_at_spaces_and_marks_what_was_cut() -> None:
    text = "word " * 100 + "Haftar " + "more " * 100
    start = text.index("Haftar")
    cut = snippet(text, start, start + 6, context=30)
    assert cut.startswith("… word")
    assert cut.endswith("more …")
    assert "Haftar" in cut
    assert len(cut) < 80
    assert snippet("Haftar spoke.", 0, 6) == "Haftar spoke."


def test_slack_body_has_text_and_the_alert() -> None:
    rule = AlertRule(name="haftar", entity="Khalifa Haftar")
    (alert,) = raise_alerts([rule], _doc(GERMAN, [("Haftars", "Khalifa Haftar")]))
    body = slack_message(alert)
    assert "Khalifa Haftar" in body["text"]
    assert "Haftars" in body["text"]
    assert body["alert"]["id"] == alert.id


def test_parse_watchlist_reads_sinks_and_filters() -> None:
    watchlist = parse_watchlist(
        {
            "rules": [
                {
                    "name": "haftar-de",
                    "entity": "Khalifa Haftar",
                    "languages": ["DE", "nl"],
                    "outlets": "Die Zeit",
                    "min_mentions": 2,
                    "sinks": ["console", {"webhook": "http://127.0.0.1:9/x", "format": "slack"}],
                },
                {"name": "tripoli", "query": "march on Tripoli"},
            ]
        }
    )
    first, second = watchlist.rules
    assert first.languages == {"de", "nl"}
    assert first.outlets == {"die zeit"}
    assert first.sinks == (Sink("console"), Sink("webhook", "http://127.0.0.1:9/x", "slack"))
    assert first.sinks[1].key.startswith("webhook-")
    assert first.sinks[0].key == "console"
    assert second.query == ("march on Tripoli",)
    assert second.sinks == (Sink("console"),)
    assert watchlist.rule("tripoli") is second
    with pytest.raises(WatchlistError, match="no rule named 'nope'"):
        watchlist.rule("nope")


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"name": "x"}], "exactly one of `entity` or `query`"),
        ([{"name": "x", "entity": "A", "query": "b"}], "exactly one"),
        ([{"name": "bad name", "entity": "A"}], "name 'bad name'"),
        ([{"name": "x", "entity": "A", "colour": "red"}], "unknown keys"),
        ([{"name": "x", "entity": "A", "min_mentions": 0}], "min_mentions"),
        ([{"name": "x", "entity": "A", "sinks": ["pager"]}], "a sink is"),
        ([{"name": "x", "entity": "A", "sinks": [{"webhook": "ftp://h"}]}], "http"),
        ([{"name": "x", "entity": "A"}, {"name": "x", "query": "q"}], "unique"),
    ],
)
def test_bad_watchlists_say_what_to_fix(rules: list[dict[str, object]], message: str) -> None:
    with pytest.raises(WatchlistError, match=message):
        parse_watchlist({"rules": rules})


def test_load_watchlist_from_yaml_and_toml(tmp_path: Path) -> None:
    yaml_file = tmp_path / "w.yaml"
    yaml_file.write_text("rules:\n  - name: a\n    entity: Khalifa Haftar\n", encoding="utf-8")
    toml_file = tmp_path / "w.toml"
    toml_file.write_text('[[rules]]\nname = "a"\nentity = "Khalifa Haftar"\n', encoding="utf-8")
    assert load_watchlist(yaml_file) == load_watchlist(toml_file)
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [", encoding="utf-8")
    with pytest.raises(WatchlistError, match="does not parse"):
        load_watchlist(broken)
    with pytest.raises(WatchlistError, match="cannot read"):
        load_watchlist(tmp_path / "missing.yaml")
