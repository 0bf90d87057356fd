"""Remove appeals, prompts, footers and caption debris from the article body.

The rules are data (``rules/boilerplate.yaml``); this module only applies them.
Nothing is silently dropped: every removed piece goes to ``doc.boilerplate`` as a
``Segment`` labelled with the rule's kind, so ``text`` plus the segments account
for every non-whitespace character of the input.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from transforms.document import Document, Segment

RULES_PATH = Path(__file__).resolve().parent / "rules" / "boilerplate.yaml"
_FLAGS = re.IGNORECASE | re.UNICODE

# A repeated line this short that reads like a caption ("Label: ...", or no final
# full stop) is a caption printed twice; longer repeats are left alone.
CAPTION_MAX_CHARS = 400
DUPLICATE_WINDOW = 3  # how many following non-empty lines to look at for a repeat
_CAPTION_LABEL = re.compile(r"^[\w'’ -]{2,40}:\s")


@dataclass(frozen=True)
class LineRule:
    kind: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class BlockRule:
    kind: str
    start: re.Pattern[str]
    end: re.Pattern[str] | None


@dataclass(frozen=True)
class Rules:
    line: tuple[LineRule, ...]
    block: tuple[BlockRule, ...]
    inline: tuple[LineRule, ...]


def _alternation(by_language: dict[str, list[str]] | None) -> re.Pattern[str] | None:
    """One compiled pattern from all languages' alternatives."""
    if not by_language:
        return None
    parts = [p for patterns in by_language.values() for p in patterns]
    return re.compile("|".join(f"(?:{p})" for p in parts), _FLAGS)


def _must(pattern: re.Pattern[str] | None, where: str) -> re.Pattern[str]:
    if pattern is None:
        raise ValueError(f"boilerplate rule {where} has no patterns; add some or remove the rule")
    return pattern


def parse_rules(data: dict[str, Any]) -> Rules:
    """Compile the YAML structure into rules; raises ``ValueError`` on a bad file."""
    line = tuple(
        LineRule(r["kind"], _must(_alternation(r.get("patterns")), r["kind"]))
        for r in data.get("line_rules") or []
    )
    block = tuple(
        BlockRule(
            r["kind"], _must(_alternation(r.get("start")), r["kind"]), _alternation(r.get("end"))
        )
        for r in data.get("block_rules") or []
    )
    inline = tuple(
        LineRule(r["kind"], _must(_alternation(r.get("patterns")), r["kind"]))
        for r in data.get("inline_rules") or []
    )
    return Rules(line, block, inline)


@functools.lru_cache(maxsize=4)
def load_rules(path: Path = RULES_PATH) -> Rules:
    """The compiled rules, read once per process (they are code, not state)."""
    with path.open(encoding="utf-8") as handle:
        return parse_rules(yaml.safe_load(handle))


def _norm(line: str) -> str:
    return " ".join(line.split())


def _looks_like_caption(line: str) -> bool:
    if len(line) > CAPTION_MAX_CHARS:
        return False
    return bool(_CAPTION_LABEL.match(line)) or not line.rstrip().endswith((".", "!", "?", "”", '"'))


def _strip_inline(lines: list[str], rules: Rules, removed: list[Segment]) -> list[str]:
    out = []
    for line in lines:
        for rule in rules.inline:
            for match in rule.pattern.finditer(line):
                removed.append(Segment(rule.kind, match.group(0)))
            line = rule.pattern.sub(" ", line)
        out.append(line)
    return out


def _line_kind(line: str, rules: Rules) -> str | None:
    for rule in rules.line:
        if rule.pattern.fullmatch(line):
            return rule.kind
    return None


def _apply_line_and_block_rules(
    lines: list[str], rules: Rules, removed: list[Segment]
) -> list[str]:
    kept: list[str] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped:
            kept.append("")
            i += 1
            continue
        block = next((b for b in rules.block if b.start.fullmatch(stripped)), None)
        if block is not None:
            j = i + 1
            while j < len(lines) and not (
                block.end is not None and block.end.fullmatch(lines[j].strip())
            ):
                j += 1
            end = min(j, len(lines) - 1)
            body = "\n".join(ln.strip() for ln in lines[i : end + 1] if ln.strip())
            removed.append(Segment(block.kind, body))
            i = end + 1
            continue
        kind = _line_kind(stripped, rules)
        if kind is not None:
            removed.append(Segment(kind, stripped))
        else:
            kept.append(lines[i])
        i += 1
    return kept


def _drop_duplicates(lines: list[str], removed: list[Segment]) -> list[str]:
    """A caption printed twice loses both copies; any other repeated line loses the repeat."""
    content = [(i, _norm(ln)) for i, ln in enumerate(lines) if ln.strip()]
    drop: dict[int, str] = {}
    for pos, (i, text) in enumerate(content):
        if i in drop:
            continue
        for j, other in content[pos + 1 : pos + 1 + DUPLICATE_WINDOW]:
            if other == text and j not in drop:
                if _looks_like_caption(text):
                    drop[i] = drop[j] = "duplicate_caption"
                else:
                    drop[j] = "duplicate_paragraph"
    for i in sorted(drop):
        removed.append(Segment(drop[i], lines[i].strip()))
    return [ln for i, ln in enumerate(lines) if i not in drop]


def _join(lines: list[str]) -> str:
    text = "\n".join(ln.rstrip() for ln in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def strip_boilerplate(doc: Document, rules: Rules | None = None) -> Document:
    """Return a copy of ``doc`` with boilerplate moved from ``text`` to ``boilerplate``."""
    rules = rules or load_rules()
    removed: list[Segment] = []
    lines = _strip_inline(doc.text.split("\n"), rules, removed)
    lines = _apply_line_and_block_rules(lines, rules, removed)
    lines = _drop_duplicates(lines, removed)
    return dataclasses.replace(doc, text=_join(lines), boilerplate=[*doc.boilerplate, *removed])
