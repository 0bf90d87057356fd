"""No transform is super-linear in its input (issue 18, finding 2).

Two kinds of test:

- **Linear time.** Each public transform gets documents holding long runs (whitespace of
  every kind, punctuation, letters without spaces, mixed scripts), after the words the
  rules react to, at n and 4n characters; its CPU time may grow at most ``MAX_GROWTH``
  times (a quadratic pattern grows 16 times; CPU time, so the other tenants of the
  machine do not count). Times under ``FLOOR_S`` pass whatever the ratio: noise.
- **Same answers.** The patterns rewritten to be linear (possessive runs, anchored
  starts) accept exactly what the ones they replaced accepted, on short strings built
  from the tokens the rules react to (hypothesis); short strings are where the old
  patterns were fast.
"""

from __future__ import annotations

import contextlib
import gc
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms import boilerplate, metadata
from transforms.chain import enrich, extract_text
from transforms.document import CONTENT_HTML, Document, document_id
from transforms.entities import EntityTagger
from transforms.fingerprint import fingerprint
from transforms.html import MAX_ATTRIBUTES, bound_attributes, extract_html
from transforms.language import _NOISE, detect_language
from transforms.search_terms import document_search_text, query_terms

SMALL, LARGE = 20_000, 80_000
MAX_GROWTH = 8.0  # linear is 4x; quadratic 16x
FLOOR_S = 0.25

RUNS = {
    "spaces": " ",
    "tabs": "\t",
    "no-break spaces": "\u00a0",
    "mixed whitespace": " \t\u00a0\u2009\u3000",
    "dots": ".",
    "dots and spaces": ". ",
    "dashes": "-–—",
    "quotes": "\"'’”«»",
    "question marks": "?",
    "colons and slashes": ":/",
    "letters": "a",
    "hyphenated letters": "a-",
    "capitals": "AFP ",
    "vowels": "Aeiou",
    "mixed scripts": "aب中ж ",
    "digits": "1",
}
# Words the patterns react to: credit, date and byline labels, boilerplate openers, a name.
PREFIXES = ["", "Foto", "Photo: ", "Date ", "By ", "copyright", "Related", "AFP", "Khalifa Haftar"]
BODY = "Khalifa Haftar met officials in Tripoli on Monday, the ministry said.\n\n"

_TAGGER = EntityTagger()


def _document(prefixes: list[str], run: str, size: int) -> Document:
    """Two copies of a line per prefix, each the prefix then a run, ``size`` characters in all."""
    each = size // (2 * len(prefixes))
    filler = (run * (each // len(run) + 1))[:each]
    lines = [f"{prefix}{filler}x." for prefix in prefixes]
    text = "\n\n".join([*lines, BODY, *lines, BODY])
    return Document(id=document_id(content=text), origin="test", content=text, text=text)


def _html(doc: Document) -> Document:
    page = f"<html><body><article><p>{doc.text}</p><p>{BODY * 3}</p></article></body></html>"
    return Document(id=doc.id, origin=doc.origin, content=page, content_type=CONTENT_HTML)


# The transforms whose patterns look at where a line starts (header lines, credits):
# each prefix gets its own document, so it is the first line.
LINE_TRANSFORMS: dict[str, Callable[[Document], Any]] = {
    "extract (text)": extract_text,
    "metadata": metadata.extract_metadata,
    "boilerplate": boilerplate.strip_boilerplate,
    "parse_date": lambda doc: metadata.parse_date(doc.text.split("\n", 1)[0]),
}
TRANSFORMS: dict[str, Callable[[Document], Any]] = {
    **LINE_TRANSFORMS,
    "extract (html)": lambda doc: extract_html(_html(doc)),
    "language": detect_language,
    "entities": _TAGGER,
    "fingerprint": fingerprint,
    "search text": lambda doc: document_search_text(doc.title, doc.text, "en"),
    "query terms": lambda doc: query_terms(doc.text),
    "whole chain": enrich,
}


def _cpu_s(call: Callable[[Document], Any], doc: Document) -> float:
    """CPU of this thread only, without garbage collection: the process's clock also counts
    threads earlier tests left behind, and a collection's cost grows with everything the
    test session holds; either made a linear transform look super-linear."""
    gc.collect()
    gc.disable()  # a collection walks every object the whole test session keeps alive
    try:
        started = time.thread_time()
        with contextlib.suppress(Exception):  # a rejection is an answer; only its time counts
            call(doc)
        return time.thread_time() - started
    finally:
        gc.enable()


def _growth_ok(call: Callable[[Document], Any], small: Document, large: Document) -> str:
    """'' when the time grew linearly, else what was measured (measured twice before failing)."""
    for _ in range(2):
        t_small, t_large = _cpu_s(call, small), _cpu_s(call, large)
        if t_large < FLOOR_S or t_large < MAX_GROWTH * t_small:
            return ""
    return f"{t_small:.3f} s at {SMALL:,} characters, {t_large:.3f} s at {LARGE:,}"


def _slow(
    transforms: dict[str, Callable[[Document], Any]], small: Document, large: Document
) -> dict[str, str]:
    return {
        name: found
        for name, call in transforms.items()
        if (found := _growth_ok(call, small, large))
    }


@pytest.mark.parametrize("run_name", list(RUNS))
def test_every_transform_is_linear_in_long_runs(run_name: str) -> None:
    run = RUNS[run_name]
    small, large = _document(PREFIXES, run, SMALL), _document(PREFIXES, run, LARGE)
    slow = _slow(TRANSFORMS, small, large)
    assert not slow, f"super-linear in runs of {run_name}: {slow}"


@pytest.mark.parametrize("run_name", list(RUNS))
@pytest.mark.parametrize("prefix", PREFIXES)
def test_line_patterns_are_linear_after_the_words_they_react_to(prefix: str, run_name: str) -> None:
    run = RUNS[run_name]
    small, large = _document([prefix], run, SMALL), _document([prefix], run, LARGE)
    slow = _slow(LINE_TRANSFORMS, small, large)
    assert not slow, f"super-linear after {prefix!r} in a run of {run_name}: {slow}"


@pytest.mark.parametrize(
    ("attribute", "separator"),
    [('a{i}="v"', " "), ("a{i}", " "), ('a{i}="v"', ""), ("a{i}=v", "\n"), ('a="v"', " "),
     ('a{i}="<b>"', " ")],
    ids=["valued", "bare", "no space", "unquoted", "repeated name", "markup in value"],
)  # fmt: skip
def test_an_element_with_tens_of_thousands_of_attributes_parses_in_linear_time(
    attribute: str, separator: str
) -> None:
    """64k attributes on one element took 121 s in lxml (quadratic); the flood is cut first."""

    def page(count: int) -> Document:
        attributes = separator.join(attribute.format(i=i) for i in range(count))
        article = f"<article><p>{BODY * 3}</p></article>"
        html = f"<html><body><div {attributes}>x</div>{article}</body></html>"
        return Document(id="p", origin="test", content=html, content_type=CONTENT_HTML)

    small, large = page(16_000), page(64_000)
    assert not _growth_ok(extract_html, small, large)
    extracted = extract_html(large)
    assert "Khalifa Haftar met officials" in extracted.text
    assert any("attributes dropped" in note for note in extracted.notes)


def test_ordinary_elements_keep_their_attributes() -> None:
    many = " ".join(f'data-x{i}="{i}"' for i in range(MAX_ATTRIBUTES - 1))  # and a class
    page = f'<div class="article-body" {many}><p lang="en">text</p></div><br/><img src=a.png>'
    assert bound_attributes(page) == (page, 0)
    flooded = page.replace("<br/>", f"<br {many} one=1 more/>")
    assert bound_attributes(flooded) == (page, 1)


# --------------------------------------------------------------------------- same answers
# The patterns as they were before they were made linear: the reference on short strings.


def _old_metadata_patterns() -> dict[str, re.Pattern[str]]:
    with (metadata.RULES_DIR / "metadata.yaml").open(encoding="utf-8") as handle:
        meta = yaml.safe_load(handle)
    words = metadata._words
    months = [str(k).lower() for k in meta["months"]]
    month = words(months)
    date = (
        r"(?P<iso>\d{4}(?:-\d{2}(?:-\d{2}"
        r"(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?)?)?)"
        rf"|(?P<d1>\d{{1,2}})\.?\s+(?:de\s+)?(?P<m1>{month})\.?,?\s+(?:de\s+)?(?P<y1>\d{{4}})"
        rf"|(?P<m2>{month})\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{{4}})"
        rf"|(?P<m3>{month})\.?\s+(?P<y3>\d{{4}})"
    )
    label = rf"(?:(?:{words(meta['date_labels'])})\s*:?\s*)"
    weekday = rf"(?:(?!(?:{month})\b)[^\W\d]{{3,12}},?\s+(?:den\s+|le\s+|el\s+)?)"
    clock = r"(?:,?\s*(?:kl\.?|at|um|à|a las|om|-)?\s*\d{1,2}[:.]\d{2}(?:\s*(?:am|pm|[A-Z]{2,4}))?)"
    labels = words(meta["credit_labels"])
    agencies = words(meta["credit_agencies"])
    value = r"[\w&/.,' -]{1,50}"
    caps = r"[A-ZÆØÅ]{2,}(?:[ /&-]+[A-ZÆØÅ][\w&.-]*){0,3}"
    return {
        "date_line": re.compile(rf"{label}?{weekday}?(?:{date}){clock}?\.?", re.IGNORECASE),
        "date_inline": re.compile(rf"^\s*{label}(?:{date}){clock}?\s*[-–—:|]?\s+", re.IGNORECASE),
        "byline_opener": re.compile(
            rf"^[-–—•]?\s*(?:{words(meta['byline_openers'])})\s*:?\s+", re.IGNORECASE
        ),
        "credit_line": re.compile(
            rf"\(?(?:(?i:{labels})\s*(?::\s*{value}|\s+(?:{caps}|(?i:{agencies})))"
            rf"|(?i:{agencies})(?:\s*/\s*{value})?)\)?"
        ),
        "credit_tail": re.compile(
            rf"\s+(?P<credit>\(?(?:{labels.title()}|{labels.upper()})"
            rf"\s*(?::\s*(?:[A-ZÆØÅ][\w&/.' -]{{0,40}}|(?i:{agencies}))"
            rf"|\s+(?:{caps}|(?i:{agencies})))\)?"
            rf"|\((?i:{agencies})(?:\s*/\s*{value})?\))\s*$"
        ),
    }


OLD = _old_metadata_patterns()
NEW = metadata.load_rules()
TOKENS = [
    " ", "  ", "\t", "\u00a0", ":", ".", ",", ";", "-", "–", "/", "&", "(", ")", "?", "??", "|",
    "Foto", "FOTO", "Photo", "photo", "AFP", "Reuters", "Getty Images", "RITZAU", "Scanpix",
    "AB", "X", "x", "Date", "Updated", "By", "af", "Monday", "den", "le", "de", "May", "maj",
    "2019", "2019-04-05", "12", "5", "12:30", "kl.", "at", "am", "CET", "copyright", "©",
    "(c)", "Related", "read more", "share", "tweet", "subscribe", "Khalifa", "»", "’", "é",
]  # fmt: skip
LINES = st.lists(st.sampled_from(TOKENS), max_size=14).map("".join)


def _spans(match: re.Match[str] | None) -> Any:
    return None if match is None else (match.span(), match.groupdict())


@settings(max_examples=1500, deadline=None)
@given(LINES)
def test_metadata_patterns_answer_as_before(line: str) -> None:
    for name in ("date_line", "credit_line"):
        old, new = OLD[name].fullmatch(line), getattr(NEW, name).fullmatch(line)
        assert _spans(old) == _spans(new), (name, line)
    for name in ("date_inline", "byline_opener"):
        assert _spans(OLD[name].match(line)) == _spans(getattr(NEW, name).match(line)), (name, line)
    old_tail, new_tail = OLD["credit_tail"].search(line), NEW.credit_tail.search(line)
    assert (old_tail and (old_tail.start(), old_tail.group("credit"))) == (
        new_tail and (new_tail.start(), new_tail.group("credit"))
    ), line
    assert bool(re.search(r"[.:;]\W*$", line)) == metadata._ends_sentence(line), line


# The boilerplate rules as they were (new form -> old form); the rest did not change.
OLD_BOILERPLATE_FORMS = {
    r"[\s|·•,/]*+){2,}": r"[\s|·•,/]*){2,}",
    r"copyright(\s*+(©|\(c\)))?)\s*+(\d{4}": r"copyright\s*(©|\(c\))?)\s*(\d{4}",
    r"\s*+([:|›»>–-]\s*+.{0,140})?": r"\s*([:|›»>–-]\s*.{0,140})?",
    r"'\s*+\?[?\s]*+'": r"'[?\s]*\?[?\s]*'",
    r"'\?\?(?:\s++\?\?)+'": r"'\?\?(\s+\?\?)+'",
}


def _old_boilerplate_rules() -> boilerplate.Rules:
    text = boilerplate.RULES_PATH.read_text(encoding="utf-8")
    for new, old in OLD_BOILERPLATE_FORMS.items():
        assert new in text, new
        text = text.replace(new, old)
    return boilerplate.parse_rules(yaml.safe_load(text))


OLD_RULES = _old_boilerplate_rules()
NEW_RULES = boilerplate.load_rules()
BOILERPLATE_TOKENS = [
    *TOKENS, "related articles", "read more", "share", "tweet", "e-mail", "print", "copy link",
    "all rights reserved", "2024", "Reuters", "læs også", "›", ">", "?", " ?", "? ?",
]  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(BOILERPLATE_TOKENS), max_size=12).map("".join))
def test_boilerplate_rules_answer_as_before(line: str) -> None:
    for old, new in zip(OLD_RULES.line, NEW_RULES.line, strict=True):
        assert bool(old.pattern.fullmatch(line)) == bool(new.pattern.fullmatch(line)), (
            old.kind,
            line,
        )
    for old, new in zip(OLD_RULES.inline, NEW_RULES.inline, strict=True):
        old_spans = [m.span() for m in old.pattern.finditer(line)]
        assert old_spans == [m.span() for m in new.pattern.finditer(line)], line


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "1", "_", " ", "@", "x@y", "http://", "www.", "."]), max_size=12
    ).map("".join)
)
def test_language_noise_pattern_answers_as_before(text: str) -> None:
    old = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|[0-9_]+")
    assert old.sub(" ", text) == _NOISE.sub(" ", text)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="aeioubxAE'-", max_size=12))
def test_name_keys_lose_trailing_vowels_as_before(token: str) -> None:
    from transforms.names import PARTICLES, fold, name_key, skeleton

    old = re.compile(r"(?<=....)[aeiou]+$")
    expected = "" if fold(token) in PARTICLES else old.sub("", skeleton(token))
    assert name_key(token) == expected


def test_name_keys_are_linear_in_a_long_run_of_vowels() -> None:
    from transforms.names import name_key, skeleton

    def key(doc: Document) -> Any:
        name_key.cache_clear()  # a cached answer would hide the cost on the second try
        skeleton.cache_clear()
        return name_key(doc.text)

    def token(size: int) -> Document:
        text = "B" + "aeiou" * (size // 5) + "x"
        return Document(id=str(size), origin="test", content=text, text=text)

    assert not _growth_ok(key, token(SMALL), token(LARGE))
