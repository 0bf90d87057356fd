"""Is this surname the knowledge-base person, or someone else with the same name?

A surname alone ("Haftar", "Hafter", "Haftars") is shared by strangers: a Swiss
skier, a relative, anyone. So the linker (``transforms.entities.linking``) asks
the document: a full name written right before the surname decides it (the
entity's own given name links, another given name is a namesake), and a bare
surname links only with support — the full name elsewhere in the article, one of
the entity's roles as a title right before it ("Marshal Haftar", "المشير حفتر"),
or one of its context terms nearby ("Libya", "Benghazi", "LNA"), or two of its
related actors ("Russia" and "Egypt").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms.entities.knowledge_base import MIN_CONTEXT_PREFIX, KnowledgeBase, TermKeys
from transforms.entities.lexicon import Lexicon
from transforms.entities.tokens import TOKEN, sentence_initial
from transforms.names import clitic_stems, fold, has_clitics, name_key, name_stems

# Characters searched on each side of a bare surname for the entity's context terms:
# about two sentences of news prose.
SUPPORT_WINDOW = 250
# How far back a title or given name may start (characters) and how many words of a
# multi-word title ("field marshal") are read.
_LOOKBACK = 48
_TITLE_WORDS = 3
# Languages that capitalise every noun: a capitalised word before a surname there says
# nothing about given names ("Machthaber Haftar"), so only known given names count.
NOUN_CAPITALISING = frozenset({"de", "lb"})
# Languages whose common words (kb/lexicon.yaml) are listed fully enough that a
# capitalised word at a sentence start that is not one of them can be read as a given
# name ("Anna Hafter won"); elsewhere it must be a known given name.
SENTENCE_START_LANGUAGES = frozenset({"en", "da", "no", "nb", "nn", "sv", "nl", "fr", "es", "it"})
# A word as the tokeniser reads it (letters joined by inner apostrophes or hyphens).
_WORD = re.compile(r"[^\W_](?:[^\W_]|['’\-](?=[^\W_]))*")


@dataclass(frozen=True, slots=True)
class WordBefore:
    """The word written right before a span (only spaces between)."""

    start: int
    text: str


def word_before(text: str, start: int) -> WordBefore | None:
    """The word directly before ``text[start:]``, separated by spaces only."""
    i = start
    while i > 0 and text[i - 1] in " \u00a0\t":
        i -= 1
    if i == start or start - i > 2 or i == 0:
        return None
    floor = max(0, i - _LOOKBACK)
    j = i
    while j > floor and (text[j - 1].isalnum() or text[j - 1] in "'’-"):
        j -= 1
    found = _WORD.search(text, j, i)
    if found is None or found.end() != i:
        return None
    return WordBefore(found.start(), found.group(0))


def given_name_before(
    text: str, start: int, language: str, kb: KnowledgeBase, lexicon: Lexicon, entity_id: str
) -> WordBefore | None:
    """A given name written right before a surname of ``entity_id``, or None.

    Where capitals mark names (not German, not caseless scripts; at a sentence start
    only in ``SENTENCE_START_LANGUAGES``), any capitalised word that
    is not a common word, title, role, demonym or other knowledge-base name is taken as
    a given name; elsewhere only given names the knowledge base or the lexicon knows.
    """
    before = word_before(text, start)
    if before is None:
        return None
    word = before.text
    initial = word[0]
    if not initial.isalpha() or (initial.islower()) or (len(word) > 1 and word.isupper()):
        return None
    folded = fold(word)
    if (
        folded in lexicon.titles
        or folded in lexicon.connectors
        or lexicon.is_common(word, language)
        or lexicon.is_adjective(word)
        or is_role(word, entity_id, kb, language)
    ):
        return None
    known = kb.is_given_name(word) or folded in lexicon.given_names
    if known:
        return before
    if kb.match([word], language) is not None:
        return None  # another name of the knowledge base: "Libya's Haftar", "Ankara"
    caseless = not initial.isupper()
    if caseless or language in NOUN_CAPITALISING:
        return None
    if sentence_initial(text, before.start) and language not in SENTENCE_START_LANGUAGES:
        return None  # a capitalised preposition ("Według Haftara") a short list may miss
    return before


def is_role(word: str, entity_id: str, kb: KnowledgeBase, language: str) -> bool:
    """One of the entity's titles (``roles``), in any inflected form or with a clitic."""
    roles = kb.role_words(entity_id)
    if not roles:
        return False
    forms = [fold(word), *(fold(stem) for _, stem in clitic_stems(word, language))]
    for form in forms:
        if form in roles:
            return True
        for size in range(MIN_CONTEXT_PREFIX, len(form)):
            if form[:size] in roles:
                return True
    return False


def title_before(
    text: str, start: int, language: str, kb: KnowledgeBase, lexicon: Lexicon, entity_id: str
) -> bool:
    """One of the entity's roles written as a title right before the surname."""
    position = start
    for _ in range(_TITLE_WORDS):
        before = word_before(text, position)
        if before is None:
            return False
        if is_role(before.text, entity_id, kb, language):
            return True
        if fold(before.text) not in lexicon.titles:
            return False
        position = before.start
    return False


def context_near(
    text: str, start: int, end: int, language: str, kb: KnowledgeBase, entity_id: str
) -> bool:
    """One of the entity's context terms, or two different related terms, within
    ``SUPPORT_WINDOW`` characters of ``text[start:end]``."""
    context = kb.context_keys(entity_id, language)
    related = kb.related_keys(entity_id, language)
    if not context and not related:
        return False
    low = max(0, start - SUPPORT_WINDOW)
    high = min(len(text), end + SUPPORT_WINDOW)
    related_seen: set[int] = set()
    for found in TOKEN.finditer(text, low, high):
        if start <= found.start() < end:
            continue
        word = found.group(0)
        if _term_of(word, language, context) is not None:
            return True
        term = _term_of(word, language, related)
        if term is not None:
            related_seen.add(term)
            if len(related_seen) >= 2:
                return True
    return False


def _term_of(word: str, language: str, terms: TermKeys) -> int | None:
    """The number of the support term this written word is a form of, if any: the word,
    without a glued clitic, without a case ending, or (for long keys) a longer word."""
    if not terms or len(word) < 2:
        return None
    term = _term_of_form(word, terms)
    if term is not None:
        return term
    forms = [stem for _, stem in clitic_stems(word, language)] if has_clitics(language) else []
    forms.extend(stem for form in (word, *forms) for stem in name_stems(form, language))
    for form in forms:
        term = _term_of_form(form, terms)
        if term is not None:
            return term
    return None


def _term_of_form(form: str, terms: TermKeys) -> int | None:
    if form in terms.exact:
        return terms.exact[form]
    key = name_key(form)
    term = terms.keys.get(key)
    if term is not None:
        return term
    for size in range(MIN_CONTEXT_PREFIX, len(key)):
        term = terms.keys.get(key[:size])
        if term is not None:
            return term
    return None
