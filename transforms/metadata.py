"""Headline, outlet, byline, dateline and image credits from the text's own lines.

Plain-text articles (PressReader dumps, copied pages) carry their metadata as
lines of text. This transform lifts it into the document's fields and moves the
lines into ``doc.boilerplate``; it is conservative: a line is only taken when it
has the shape of metadata, and a field already set upstream (e.g. by HTML
extraction) is never overwritten with a weaker guess. Vocabulary lives in
``rules/metadata.yaml`` and ``rules/outlets.yaml``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from transforms.document import Document, Segment

RULES_DIR = Path(__file__).resolve().parent / "rules"
HEADER_LINES = 6  # metadata lines are only looked for among the first few lines
TITLE_MAX_WORDS = 30
OUTLET_MAX_WORDS = 5
BYLINE_MAX_CHARS = 200
# The run of non-word characters a line ends with; matched on the reversed line, once
# (a search for "[.:;]\W*$" tried every start in a 50k run of dots: quadratic).
_LEADING_NON_WORD = re.compile(r"\W*")
_INNER_SENTENCE = re.compile(r"[.!?][’”\"']?\s++[A-ZÀ-ÖØ-Þ]")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_NAME_TOKEN = re.compile(r"^[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.-]*$")
_NAME_PARTICLES = frozenset(
    {"van", "de", "der", "den", "von", "zu", "da", "del", "della", "di", "du", "la", "le", "bin",
     "ibn", "al", "el", "ter", "ten", "y", "dos", "das"}
)  # fmt: skip


@dataclass(frozen=True)
class MetadataRules:
    months: dict[str, int]
    known_outlets: frozenset[str]
    outlet_words: frozenset[str]
    date_line: re.Pattern[str]
    date_inline: re.Pattern[str]
    byline_opener: re.Pattern[str]
    joiners: frozenset[str]
    title_words: frozenset[str]
    credit_line: re.Pattern[str]
    credit_tail: re.Pattern[str]


def _words(items: list[str]) -> str:
    return "|".join(re.escape(i) for i in sorted(items, key=len, reverse=True))


def _date_pattern(months: list[str]) -> str:
    month = _words(months)
    return (
        r"(?P<iso>\d{4}(?:-\d{2}(?:-\d{2}"
        r"(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?)?)?)"
        rf"|(?P<d1>\d{{1,2}})\.?\s++(?:de\s++)?(?P<m1>{month})\.?,?\s++(?:de\s++)?(?P<y1>\d{{4}})"
        rf"|(?P<m2>{month})\.?\s++(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s++(?P<y2>\d{{4}})"
        rf"|(?P<m3>{month})\.?\s++(?P<y3>\d{{4}})"
    )


def build_rules(meta: dict[str, Any], outlets: dict[str, Any]) -> MetadataRules:
    """Compile the two YAML files into patterns; raises ``KeyError`` on a missing section.

    Every whitespace run is matched possessively (``\\s*+``, ``\\s++``: taken whole, never
    given back), and no two runs that could share characters stand side by side, so a line
    of 100k spaces or tabs costs one pass, not one per split of the run (issue 18: 10k
    spaces took 6 s). ``tests/unit/test_regex_linear.py`` holds each pattern to the one it
    replaced on short strings and to linear time on long runs.
    """
    months = {str(k).lower(): int(v) for k, v in meta["months"].items()}
    date = _date_pattern(list(months))
    label = rf"(?:(?:{_words(meta['date_labels'])})\s*+:?\s*+)"
    weekday = (
        rf"(?:(?!(?:{_words(list(months))})\b)[^\W\d]{{3,12}},?\s++(?:den\s++|le\s++|el\s++)?)"
    )
    time = (
        r"(?:,?\s*+(?:kl\.?|at|um|à|a las|om|-)?\s*+\d{1,2}[:.]\d{2}(?:\s*+(?:am|pm|[A-Z]{2,4}))?)"
    )
    labels = _words(meta["credit_labels"])
    agencies = _words(meta["credit_agencies"])
    credit_value = r"[\w&/.,' -]{1,50}"
    caps = r"[A-ZÆØÅ]{2,}+(?:[ /&-]++[A-ZÆØÅ][\w&.-]*+){0,3}"  # REUTERS, AFP / RITZAU
    return MetadataRules(
        months=months,
        known_outlets=frozenset(o.lower() for o in outlets["known"]),
        outlet_words=frozenset(w.lower() for w in outlets["name_words"]),
        date_line=re.compile(rf"{label}?{weekday}?(?:{date}){time}?\.?", re.IGNORECASE),
        date_inline=re.compile(
            rf"^\s*+{label}(?:{date}){time}?(?:\s*+[-–—:|]\s++|\s++)", re.IGNORECASE
        ),
        byline_opener=re.compile(
            rf"^[-–—•]?\s*+(?:{_words(meta['byline_openers'])})(?:\s*+:\s++|\s++)", re.IGNORECASE
        ),
        joiners=frozenset(meta["author_joiners"]),
        title_words=frozenset(w.lower() for w in meta["title_words"]),
        credit_line=re.compile(
            rf"\(?(?:(?i:{labels})(?:\s*+:\s*+{credit_value}|\s++(?:{caps}|(?i:{agencies})))"
            rf"|(?i:{agencies})(?:\s*+/\s*+{credit_value})?)\)?"
        ),
        # Searched in every line: it may only start where a whitespace run starts, so the
        # search does not re-scan the run from each of its characters.
        credit_tail=re.compile(
            rf"(?<!\s)\s++(?P<credit>\(?(?:{labels.title()}|{labels.upper()})"
            rf"(?:\s*+:\s*+(?:[A-ZÆØÅ][\w&/.' -]{{0,40}}|(?i:{agencies}))"
            rf"|\s++(?:{caps}|(?i:{agencies})))\)?"
            rf"|\((?i:{agencies})(?:\s*+/\s*+{credit_value})?\))\s*+$"
        ),
    )


@functools.lru_cache(maxsize=1)
def load_rules() -> MetadataRules:
    """The compiled vocabulary, read once per process."""
    with (RULES_DIR / "metadata.yaml").open(encoding="utf-8") as meta_file:
        meta = yaml.safe_load(meta_file)
    with (RULES_DIR / "outlets.yaml").open(encoding="utf-8") as outlets_file:
        outlets = yaml.safe_load(outlets_file)
    return build_rules(meta, outlets)


def parse_date(text: str, rules: MetadataRules | None = None) -> str | None:
    """An ISO 8601 date (YYYY, YYYY-MM or YYYY-MM-DD, or the full timestamp) or None."""
    rules = rules or load_rules()
    match = rules.date_line.fullmatch(text.strip()) or rules.date_inline.match(text.strip() + " ")
    if match is None:
        return None
    return _iso_from_match(match, rules)


def _iso_from_match(match: re.Match[str], rules: MetadataRules) -> str | None:
    groups = match.groupdict()
    if groups.get("iso"):
        iso = groups["iso"]
        parts = iso[:10].split("-")
        try:
            year = int(parts[0])
            month = int(parts[1]) if len(parts) > 1 else 1
            day = int(parts[2]) if len(parts) > 2 else 1
            dt.date(year, month, day)
        except ValueError:
            return None
        return iso if 1800 <= year <= 2200 else None
    for d, m, y in (("d1", "m1", "y1"), ("d2", "m2", "y2"), (None, "m3", "y3")):
        if groups.get(m):
            month = rules.months[groups[m].lower()]
            year = int(groups[y])
            if d is None:
                return f"{year:04d}-{month:02d}"
            try:
                return dt.date(year, month, int(groups[d])).isoformat()
            except ValueError:
                return None
    return None


def parse_byline(line: str, rules: MetadataRules | None = None) -> list[str] | None:
    """Author names from a byline line, or None when the line is not a byline."""
    rules = rules or load_rules()
    if len(line) > BYLINE_MAX_CHARS:
        return None
    opener = rules.byline_opener.match(line)
    if opener is None:
        return None
    tokens = _EMAIL.sub(" ", line[opener.end() :]).replace(",", " , ").split()
    authors: list[str] = []
    name: list[str] = []
    stopped_at = len(tokens)
    for index, token in enumerate(tokens):
        word = token.strip(",;|")
        if token in {",", "|", "/"} or word.lower() in rules.joiners:
            if len(name) >= 2:
                authors.append(" ".join(name))
            elif name:
                return None
            name = []
            continue
        if word.lower() in rules.title_words or not (
            _NAME_TOKEN.match(word) or (name and word.lower() in _NAME_PARTICLES)
        ):
            stopped_at = index
            break
        name.append(word)
    if len(name) >= 2:
        authors.append(" ".join(name))
    elif name:
        return None
    rest = [t.strip(",;|()") for t in tokens[stopped_at:]]
    rest_ok = all(
        not t or t.lower() in rules.title_words or t.lower() in rules.joiners or t in {"-", "–"}
        for t in rest
    )
    if not authors or not rest_ok or any(len(a.split()) > 4 for a in authors):
        return None
    return authors


def _is_outlet(line: str, rules: MetadataRules, hint: str | None) -> bool:
    key = line.strip(" .:-–—|").lower()
    if not key:
        return False
    if key in rules.known_outlets or (hint and key == hint.strip().lower()):
        return True
    words = key.split()
    capitalised = all(w[0].isupper() or w.lower() in _NAME_PARTICLES for w in line.split())
    return (
        len(words) <= OUTLET_MAX_WORDS
        and capitalised
        and not re.search(r"[.!?,;:]", line.strip())
        and any(w in rules.outlet_words for w in words)
    )


def _ends_sentence(line: str) -> bool:
    """Whether the line's final run of non-word characters holds a full stop, colon or
    semicolon ("Headline." or "Live:" is not a headline)."""
    tail = _LEADING_NON_WORD.match(line[::-1])
    return tail is not None and any(mark in tail.group(0) for mark in ".:;")


def _is_title(line: str, next_line: str | None) -> bool:
    """A headline: one short statement with no full stop, with body text after it."""
    if next_line is None:
        return False
    words = line.split()
    return (
        2 <= len(words) <= TITLE_MAX_WORDS
        and not _ends_sentence(line)
        and not _INNER_SENTENCE.search(line)
        and not line.startswith(("-", "–", "—", "•", "‘", "“", '"', "'"))
    )


def _take_credits(lines: list[str], rules: MetadataRules, removed: list[Segment]) -> list[str]:
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped and rules.credit_line.fullmatch(stripped):
            removed.append(Segment("credit", stripped))
            out.append("")
            continue
        tail = rules.credit_tail.search(line)
        if tail is not None and tail.start() > 0:
            removed.append(Segment("credit", tail.group("credit").strip()))
            line = line[: tail.start()].rstrip()
        out.append(line)
    return out


def extract_metadata(doc: Document) -> Document:
    """Return a copy of ``doc`` with title, source, authors and published filled from its lines."""
    rules = load_rules()
    removed: list[Segment] = []
    title, source, authors, published = doc.title, doc.source, list(doc.authors), doc.published
    lines = doc.text.split("\n")

    # A labelled date at the very start of the first paragraph ("date 2019-04 Haftar ...").
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is not None:
        inline = rules.date_inline.match(lines[first])
        if inline is not None and inline.end() < len(lines[first].rstrip()):
            iso = _iso_from_match(inline, rules)
            if iso is not None:
                removed.append(Segment("dateline", inline.group(0).strip()))
                published = published or iso
                lines[first] = lines[first][inline.end() :]

    header_seen = 0
    title_allowed = True
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if header_seen >= HEADER_LINES:
            break
        header_seen += 1
        next_line = next((ln.strip() for ln in lines[i + 1 :] if ln.strip()), None)
        byline = parse_byline(stripped, rules)
        date_match = rules.date_line.fullmatch(stripped)
        if date_match is not None and (iso := _iso_from_match(date_match, rules)) is not None:
            removed.append(Segment("dateline", stripped))
            published = published or iso
        elif byline is not None:
            removed.append(Segment("byline", stripped))
            authors = authors or byline
            title_allowed = False
        elif _is_outlet(stripped, rules, doc.hints.get("source")):
            removed.append(Segment("outlet", stripped))
            source = source or stripped.strip(" .:-–—|")
        elif doc.title and " ".join(stripped.split()) == " ".join(doc.title.split()):
            removed.append(Segment("title", stripped))
            title_allowed = False
        elif title_allowed and title is None and _is_title(stripped, next_line):
            removed.append(Segment("title", stripped))
            title = stripped
            title_allowed = False
        else:
            break  # the body has started
        lines[i] = ""

    lines = _take_credits(lines, rules, removed)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(ln.rstrip() for ln in lines)).strip()
    return dataclasses.replace(
        doc,
        text=text,
        title=title,
        source=source,
        authors=authors,
        published=published,
        boilerplate=[*doc.boilerplate, *removed],
    )
