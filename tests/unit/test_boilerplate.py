"""strip_boilerplate on the seeds and on articles written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.boilerplate import load_rules, parse_rules, strip_boilerplate
from transforms.document import Document, Segment

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def doc_of(text: str) -> Document:
    text = text.replace("\r\n", "\n").strip()
    return Document(id="t", origin="test", content=text, text=text)


def seed(prefix: str) -> Document:
    return doc_of(next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8"))


def removed(doc: Document) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in doc.boilerplate]


@pytest.mark.parametrize("prefix", ["000", "001", "002"])
def test_clean_seeds_are_untouched(prefix: str) -> None:
    before = seed(prefix)
    after = strip_boilerplate(before)
    assert after.text == before.text
    assert after.boilerplate == []


def test_seed_003_caption_debris_duplicate_caption_and_pressreader_footer() -> None:
    after = strip_boilerplate(seed("003"))
    assert "Showdown" not in after.text
    assert "??" not in after.text
    assert "Newspapers" not in after.text
    assert after.text.endswith("He returned to Libya in 2011.")
    caption = (
        "Showdown: Troops led by General Khalifa Haftar, inset, on the road to Tripoli yesterday"
    )
    assert removed(after) == [
        ("caption_debris", "??  ??"),
        ("pressreader_footer", "Newspapers in English"),
        ("pressreader_footer", "Newspapers from United Kingdom"),
        ("duplicate_caption", caption),
        ("duplicate_caption", caption),
    ]


def test_seed_004_whole_donation_appeal_goes_and_body_stays() -> None:
    before = seed("004")
    after = strip_boilerplate(before)
    assert after.text.endswith(
        "the Western-backed 2011 uprising that toppled and killed Muammar Gaddafi."
    )
    assert "We need your help" not in after.text
    assert "Support us" not in after.text
    [segment] = after.boilerplate
    assert segment.kind == "donation_appeal"
    assert segment.text.startswith("We need your help ...")
    assert segment.text.endswith("The Canary Support us")
    assert "He did this from exile in the US state of Virginia." in after.text


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("Tilmeld dig vores nyhedsbrev og få dagens vigtigste historier", "newsletter_prompt"),
        ("Meld je aan voor onze nieuwsbrief", "newsletter_prompt"),
        ("Abonnieren Sie unseren kostenlosen Newsletter", "newsletter_prompt"),
        ("Inscrivez-vous à notre newsletter quotidienne", "newsletter_prompt"),
        ("Suscríbete a nuestro boletín diario", "newsletter_prompt"),
        ("Meld deg på vårt nyhetsbrev", "newsletter_prompt"),
        ("Prenumerera på vårt nyhetsbrev", "newsletter_prompt"),
        ("Sign up for our Morning Briefing newsletter", "newsletter_prompt"),
        ("Følg os på Facebook og Instagram", "social_prompt"),
        ("Share  Tweet  Email  Print", "social_prompt"),
        ("Volg ons op X", "social_prompt"),
        ("Alle rechten voorbehouden.", "copyright"),
        ("© 2024 Bremer Morgenpost GmbH", "copyright"),
        ("Tous droits réservés", "copyright"),
        ("Bliv abonnent i dag og læs videre", "subscription_appeal"),
        ("Déjà abonné ? Connectez-vous", "subscription_appeal"),
        ("Lees ook: Kabinet valt over stikstof", "related_links"),
        ("Lesen Sie auch:", "related_links"),
        ("Wir verwenden Cookies, um Ihnen das beste Erlebnis zu bieten.", "cookie_notice"),
        ("Newspapers from Australia", "pressreader_footer"),
        ("Støt vores uafhængige journalistik", "donation_appeal"),
    ],
)
def test_line_rules_in_several_languages(line: str, kind: str) -> None:
    text = f"Det første afsnit er artiklens indhold.\n\n{line}\n\nThe last paragraph is body."
    after = strip_boilerplate(doc_of(text))
    assert removed(after) == [(kind, line)]
    assert after.text == "Det første afsnit er artiklens indhold.\n\nThe last paragraph is body."


@pytest.mark.parametrize(
    "sentence",
    [
        "The newsletter, which had 40,000 readers, was closed in March after a row over funding.",
        "Subscribers to the council's newsletter were told about the closure a week later.",
        "Support for the government fell to 31 per cent, the lowest level since 2011.",
        "We need your help to find the missing boy, police said on Sunday evening.",
        "Vi har brug for din hjælp, sagde borgmesteren til de frivillige ved diget.",
        "Lees ook het rapport van de inspectie, adviseerde de minister de Kamer.",
        "Follow the money, the prosecutor told the jury on the first day of the trial.",
        "Cookies and cakes were handed out to the volunteers at the flood barrier.",
    ],
)
def test_body_sentences_that_mention_trigger_words_stay(sentence: str) -> None:
    text = f"Opening paragraph of the story.\n\n{sentence}\n\nClosing paragraph of the story."
    after = strip_boilerplate(doc_of(text))
    assert after.text == text
    assert after.boilerplate == []


def test_dutch_appeal_block_runs_to_end_marker_and_later_body_stays() -> None:
    text = """De raad stemde in met het plan.

Wij hebben uw steun nodig

Onafhankelijke journalistiek kost geld. Elke bijdrage helpt.

Steun ons

Het debat wordt volgende week voortgezet."""
    after = strip_boilerplate(doc_of(text))
    assert (
        after.text == "De raad stemde in met het plan.\n\nHet debat wordt volgende week voortgezet."
    )
    assert [s.kind for s in after.boilerplate] == ["donation_appeal"]


def test_block_without_end_marker_runs_to_end_of_text() -> None:
    text = "Body one.\n\nWir brauchen Ihre Unterstützung!\n\nJeder Euro zählt.\n\nDanke."
    after = strip_boilerplate(doc_of(text))
    assert after.text == "Body one."
    assert after.boilerplate[0].text.endswith("Danke.")


def test_repeated_body_paragraph_keeps_first_copy() -> None:
    para = "The minister said the talks would resume on Monday."
    text = f"{para}\n\n{para}\n\nEnd of story."
    after = strip_boilerplate(doc_of(text))
    assert after.text == f"{para}\n\nEnd of story."
    assert removed(after) == [("duplicate_paragraph", para)]


def test_rules_file_compiles_and_bad_rule_is_a_clear_error() -> None:
    assert len(load_rules().line) >= 9
    with pytest.raises(ValueError, match="has no patterns"):
        parse_rules({"line_rules": [{"kind": "empty", "patterns": {}}]})


def test_input_is_not_mutated() -> None:
    before = seed("004")
    before.boilerplate.append(Segment("title", "x"))
    snapshot = before.to_json()
    after = strip_boilerplate(before)
    assert before.to_json() == snapshot
    assert after.boilerplate[0] == Segment("title", "x")


lines = st.sampled_from(
    ["??  ??", "Support us", "We need your help ...", "Newspapers in English", "Body text here.",
     "Share Tweet Email", "", "Caption: a thing", "Lees ook: iets"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=60), lines), max_size=12))
def test_never_raises_and_accounts_for_all_non_whitespace(parts: list[str]) -> None:
    before = doc_of("\n".join(parts))
    after = strip_boilerplate(before)
    kept = "".join(after.text.split()) + "".join("".join(s.text.split()) for s in after.boilerplate)
    assert sorted(kept) == sorted("".join(before.text.split()))
