"""The default recogniser: a KB gazetteer plus a finder of capitalised name sequences."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from transforms.entities.base import Candidate
from transforms.entities.knowledge_base import SHORT_ALIAS_LETTERS, AliasMatch, KnowledgeBase
from transforms.entities.lexicon import Lexicon
from transforms.entities.namesakes import given_name_before
from transforms.entities.tokens import (
    NameToken,
    apostrophe_cut,
    before_apostrophe,
    name_like,
    sentence_initial,
    tokenize_names,
)
from transforms.names import fold, has_clitics, name_key


@dataclass
class RuleBasedRecognizer:
    """KB gazetteer plus a capitalised-sequence proper-name finder."""

    knowledge_base: KnowledgeBase
    lexicon: Lexicon

    def __call__(self, text: str, language: str) -> list[Candidate]:
        tokens = tokenize_names(text, self.lexicon)
        taken = [False] * len(tokens)
        found = self._gazetteer(text, tokens, taken, language)
        found.extend(self._proper_names(text, tokens, taken, language))
        return found

    def _gazetteer(
        self, text: str, tokens: list[NameToken], taken: list[bool], language: str
    ) -> list[Candidate]:
        kb = self.knowledge_base
        candidates: list[Candidate] = []
        clitics = has_clitics(language)
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if not token.capitalised and fold(token.text) not in self.lexicon.connectors:
                i += 1
                continue
            first_key = name_key(token.text)
            if first_key:
                longest = max(
                    1,
                    kb.longest_alias_from_token(token.text, language)
                    if clitics
                    else kb.longest_alias_from(first_key),
                )
            elif i + 1 < len(tokens):  # "al Qaida": the particle does not count in the key
                longest = 1 + kb.longest_alias_from(name_key(tokens[i + 1].text))
            else:
                longest = 1
            run = 1
            while run < longest and i + run < len(tokens) and tokens[i + run - 1].joined_to_next:
                run += 1
            match: tuple[int, AliasMatch] | None = None
            for length in range(run, 0, -1):
                head = tokens[i + length - 1]
                if not head.capitalised:
                    continue
                words = [t.text for t in tokens[i : i + length]]
                found = kb.match(words, language)
                if found and not (
                    length == 1 and self._not_a_name(text, tokens, i, found, language)
                ):
                    match = (length, found)
                    break
            if match is None:
                match = _compound_head(kb, token.text, language)
            if match is None:
                i += 1
                continue
            length, found = match
            head = tokens[i + length - 1]
            matched = found.tail
            end = head.start + (
                matched
                if matched < len(head.text) and head.text[matched] == "-"
                else apostrophe_cut(head.text, matched)
            )
            eid = found.ids[0]
            start = token.start + found.lead
            given = (
                given_name_before(text, start, language, kb, self.lexicon, eid)
                if found.words == 1 and kb.has_full_name(eid)
                else None
            )
            if given is not None and i > 0 and not taken[i - 1]:
                # "Anna Hafter": one name, read as a whole; linking decides whose.
                candidates.append(Candidate(given.start, end, "PER"))
                taken[i - 1] = True
            else:
                candidates.append(Candidate(start, end, kb.entity(eid).label, eid))
            for j in range(i, i + length):
                taken[j] = True
            i += length
        return candidates

    def _not_a_name(
        self, text: str, tokens: list[NameToken], i: int, found: AliasMatch, language: str
    ) -> bool:
        """A one-word alias that is no name here: a short alias in an all-caps line, or a
        common word of the language at a sentence start ("Kad", Croatian "when", is Chad's
        key; "Mali", Slovak "they had")."""
        if _shouting_short(tokens, i, found.tail):
            return True
        words = self.lexicon.common_words.get(language)
        return (
            words is not None
            and fold(tokens[i].text) in words
            and sentence_initial(text, tokens[i].start)
        )

    def _proper_names(
        self, text: str, tokens: list[NameToken], taken: list[bool], language: str
    ) -> Iterator[Candidate]:
        lex = self.lexicon
        i = 0
        while i < len(tokens):
            if taken[i] or not name_like(tokens[i]):
                i += 1
                continue
            j = i  # extend over joined capitalised tokens and inner connectors
            while j + 1 < len(tokens) and tokens[j].joined_to_next and not taken[j + 1]:
                nxt = tokens[j + 1]
                if name_like(nxt):
                    j += 1
                    continue
                if (
                    fold(nxt.text) in lex.connectors
                    and nxt.joined_to_next
                    and j + 2 < len(tokens)
                    and not taken[j + 2]
                    and name_like(tokens[j + 2])
                ):
                    j += 2
                    continue
                break
            first, last = i, j
            i = j + 1
            while first <= last and (
                lex.is_common(tokens[first].text, language)
                or fold(tokens[first].text) in lex.titles
            ):
                first += 1
            while first <= last and (
                lex.is_common(tokens[last].text, language) or not tokens[last].capitalised
            ):
                last -= 1
            if first > last:
                continue
            span = tokens[first : last + 1]
            if len(span) == 1 and (language == "de" or sentence_initial(text, span[0].start)):
                continue  # a lone capitalised word there says nothing about names
            after_title = first > 0 and fold(tokens[first - 1].text) in lex.titles
            head = span[-1]
            end = head.start + apostrophe_cut(head.text, len(before_apostrophe(head.text)))
            yield Candidate(span[0].start, end, self._label(span, after_title))

    def _label(self, span: list[NameToken], after_title: bool) -> str:
        words = {fold(t.text) for t in span}
        if words & self.lexicon.org_words:
            return "ORG"
        if words & self.lexicon.loc_words:
            return "LOC"
        if after_title:
            return "PER"
        if 2 <= len(span) <= 4 and all(t.text[0].isupper() and not t.text.isupper() for t in span):
            return "PER"
        return "MISC"


def _compound_head(kb: KnowledgeBase, word: str, language: str) -> tuple[int, AliasMatch] | None:
    """A known name before a hyphenated lower-case tail: "Nato-ledet", "UN-backed"."""
    cut = word.find("-")
    if cut < 2 or not word[cut + 1 : cut + 2].islower():
        return None
    found = kb.match([word[:cut]], language)
    if found is None:
        return None
    return 1, AliasMatch(found.ids, found.lead, cut, found.key, found.words)


def _shouting_short(tokens: list[NameToken], i: int, matched: int) -> bool:
    """A short alias inside an all-caps line ("LET US GO") is not the alias."""
    if matched > SHORT_ALIAS_LETTERS + 2:
        return False

    def shouting(k: int) -> bool:
        return 0 <= k < len(tokens) and len(tokens[k].text) > 3 and tokens[k].text.isupper()

    return shouting(i - 1) or shouting(i + 1)
