"""``TrainedRecognizer``: the CRF finds and types names, the knowledge base links them.

Implements the ``Recognizer`` protocol of ``transforms.entities``. Per sentence the CRF
proposes PER/ORG/LOC spans and each span is looked up in the knowledge base. Where the
model's type and the KB entity's agree, the span is linked. Where they disagree
(measured on the dev splits, docs/entities.md):

- a person on one side only, on a single word ("Chad" or "Wagner" tagged PER; KB: the
  country, the group), is a namesake: the model's type stays and the span is not linked;
  a longer name spelled exactly as an alias ("Ansar al-Sharia") is the KB's entity;
- ORG against LOC is metonymy (Norwegian "USA" as a political actor is ORG in NorNE;
  "White House", "Kremlin") and stays linked when the text spells a KB alias (up to an
  inflection ending); a match made only by name normalisation ("Belga" the agency ~
  "Belgia", "Franco" ~ "France") is not linked.

KB aliases the model left untagged are not added (``KB_ONLY_SPANS``): on the dev splits
they were wrong three times in four ("IS", "Israeli", Dutch "Indien" = "if").
Languages the model was not trained on go to the rule recogniser. The model is opened
once per process, on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from transforms.entities import (
    Candidate,
    Entity,
    KnowledgeBase,
    RuleBasedRecognizer,
    load_knowledge_base,
)
from transforms.names import fold, name_stems
from transforms.ner.boundaries import BoundaryRules, mend_person_spans
from transforms.ner.consistency import (
    ConsistencyRules,
    TaggedSentence,
    make_consistent,
)
from transforms.ner.model import DEFAULT_MODEL, SequenceTagger, open_features, read_meta
from transforms.ner.tokenize import Token, tokenize

# Extra languages the model runs on, besides those it was trained on and their kin
# (``FeatureExtractor.kin_languages``): for measuring transfer (``benchmarks.ner --transfer``).
TRANSFER_LANGUAGES: frozenset[str] = frozenset()
# How a type disagreement is settled: "metonymy" (above), "model" (never link on a
# disagreement) or "kb" (always link; the KB's type wins): the alternatives measured.
DISAGREEMENT = "metonymy"
# Knowledge-base matches the model did not tag: "linked" (the rule gazetteer's links, filtered
# as in ``_linked_by_rules``), "none", "inner" (any KB match not sentence-initial) or "all".
KB_ONLY_SPANS = "linked"
# The document-level pass over the CRF's tags (``transforms.ner.consistency``).
CONSISTENCY = ConsistencyRules()
# Person-span edges at name particles and titles (``transforms.ner.boundaries``).
BOUNDARIES = BoundaryRules()
_LANGUAGE_ALIASES = {"no": "nb"}
MIN_LINKABLE_LETTERS = 4  # the linker's own floor for typo links


@dataclass
class TrainedRecognizer:
    """CRF spans and types, KB links; the rule recogniser for untrained languages."""

    knowledge_base: KnowledgeBase
    model_path: Path = DEFAULT_MODEL
    disagreement: str = DISAGREEMENT
    kb_only_spans: str = KB_ONLY_SPANS
    transfer_languages: frozenset[str] = TRANSFER_LANGUAGES
    consistency: ConsistencyRules = CONSISTENCY
    boundaries: BoundaryRules = BOUNDARIES
    _tagger: SequenceTagger | None = field(default=None, init=False, repr=False)
    _languages: frozenset[str] = field(default=frozenset(), init=False, repr=False)
    _fallback: RuleBasedRecognizer | None = field(default=None, init=False, repr=False)

    def _load(self) -> SequenceTagger:
        if self._tagger is None:
            from transforms.entities import default_lexicon

            features = open_features(self.model_path, self.knowledge_base)
            self._tagger = SequenceTagger(self.model_path, features)
            trained = frozenset(read_meta(self.model_path).get("config", {}).get("languages", []))
            kin = features.kin_languages(trained)
            self._languages = trained | kin | self.transfer_languages
            self._fallback = RuleBasedRecognizer(self.knowledge_base, default_lexicon())
        return self._tagger

    def handles(self, language: str) -> bool:
        """Whether the model (not the rule fallback) tags this language."""
        self._load()
        return _LANGUAGE_ALIASES.get(language, language) in self._languages

    def __call__(self, text: str, language: str) -> list[Candidate]:
        tagger = self._load()
        language = _LANGUAGE_ALIASES.get(language, language)
        if language not in self._languages:
            assert self._fallback is not None
            return self._fallback(text, language)
        sentences = tokenize(text)
        tagged: list[TaggedSentence] = []
        all_marks: list[list[str]] = []
        for sentence in sentences:
            words = [t.text for t in sentence]
            marks = tagger.features.gazetteer(words, language)
            tags = tagger.tag(words, language, marks)
            if self.boundaries.active:
                mend_person_spans(words, tags, self._is_title, self.boundaries)
            tagged.append(TaggedSentence(words, tags))
            all_marks.append(marks)
        self._make_consistent(tagged, language)
        found: list[Candidate] = []
        for sentence, one, marks in zip(sentences, tagged, all_marks, strict=True):
            words, tags = one.words, one.tags
            candidates = self._sentence_candidates(sentence, words, tags, marks, language)
            if self.kb_only_spans == "linked":
                candidates = self._with_kb_links(sentence, words, marks, candidates, language)
            found.extend(candidates)
            found.extend(self._linkable_words(sentence, words, tags, candidates, language))
        return found

    def _is_title(self, word: str) -> bool:
        assert self._fallback is not None
        return fold(word) in self._fallback.lexicon.titles

    def _make_consistent(self, tagged: list[TaggedSentence], language: str) -> None:
        """One reading per name in the document: the pass of ``transforms.ner.consistency``
        over all sentences' tags, before they become candidates (so the KB and the
        linker's namesake rules see a spread surname like any other span)."""
        if not self.consistency.active:
            return
        assert self._fallback is not None
        lexicon = self._fallback.lexicon
        common = lexicon.common_words.get(language, lexicon.all_common_words)

        def is_common(word: str) -> bool:  # ``Lexicon.is_common`` or a title, one fold
            folded = fold(word)
            return folded in common or folded in lexicon.titles

        make_consistent(tagged, is_common, self.consistency)

    def _linkable_words(
        self,
        sentence: list[Token],
        words: list[str],
        tags: list[str],
        taken: list[Candidate],
        language: str,
    ) -> list[Candidate]:
        """Capitalised words inside a sentence the model left untagged and the KB does not
        know, offered to the linker's typo and surname steps only ("støttet Hafta" in an
        article about Haftar): they become mentions only if they link."""
        assert self._fallback is not None
        lexicon = self._fallback.lexicon
        out: list[Candidate] = []
        # Untagged capitalised words after the first; a comprehension finds them fast.
        for i in [i for i, tag in enumerate(tags) if tag == "O" and i and words[i][:1].isupper()]:
            token = sentence[i]
            word = token.text
            if (
                len(word) >= MIN_LINKABLE_LETTERS
                and not word.isupper()
                and word.isalpha()
                and not lexicon.is_common(word, language)
                and not any(c.start < token.end and token.start < c.end for c in taken)
                # A KB match here was already weighed (and refused) in _with_kb_links:
                # "German" ~ Germany, "Belga" ~ Belgium only by normalisation.
                and not self.knowledge_base.lookup([word], language)[0]
            ):
                out.append(Candidate(token.start, token.end, "MISC", only_if_linked=True))
        return out

    def _with_kb_links(
        self,
        sentence: list[Token],
        words: list[str],
        marks: list[str],
        candidates: list[Candidate],
        language: str,
    ) -> list[Candidate]:
        """``candidates`` plus the knowledge-base matches the model did not tag, when the
        text spells a KB alias (up to an inflection ending) that is not a common word of
        the language: "Haftars talsmand", "de VN", "Navo-missie", "Poetin ontving" — not
        "Israeli" (a normalisation match), "IS" or a sentence-initial Dutch "Indien"."""
        kb = self.knowledge_base
        assert self._fallback is not None
        lexicon = self._fallback.lexicon
        kept = candidates
        for first, end_token, end in _kb_spans(kb, sentence, words, marks, language):
            start = sentence[first].start
            span_words = words[first:end_token]
            if end < sentence[end_token - 1].end:  # a compound's head: "Navo" of "Navo-missie"
                span_words = [_head(sentence[first], end)]
            ids, matched = kb.lookup(span_words, language)
            if not ids:
                continue
            entity = kb.entity(ids[0])
            inside = [c for c in kept if c.start < end and start < c.end]
            if inside:
                # The model cut a known longer name short ("Verenigde" of "Verenigde Naties"):
                # the whole alias wins; any other overlap leaves the model's span.
                if (
                    all(start <= c.start and c.end <= end and c.entity_id is None for c in inside)
                    and end - start > max(c.end - c.start for c in inside)
                    and _spelled_as_alias(entity, span_words, matched, language)
                ):
                    kept = [c for c in kept if c not in inside]
                    kept.append(Candidate(start, end, entity.label, entity.entity_id))
                continue
            if not _spelled_as_alias(entity, span_words, matched, language):
                continue
            if len(span_words) == 1 and (
                lexicon.is_common(span_words[0], language)
                or (first == 0 and lexicon.is_adjective(span_words[0]))
            ):
                continue
            kept = [*kept, Candidate(start, end, entity.label, entity.entity_id)]
        return kept

    def _sentence_candidates(
        self,
        sentence: list[Token],
        words: list[str],
        tags: list[str],
        marks: list[str],
        language: str,
    ) -> list[Candidate]:
        kb = self.knowledge_base
        out: list[Candidate] = []
        covered = [False] * len(words)
        i = 0
        while i < len(tags):
            tag = tags[i]
            if tag == "O":
                i += 1
                continue
            kind = tag[2:]
            j = i + 1
            while j < len(tags) and tags[j] == f"I-{kind}":
                j += 1
            start, end = sentence[i].start, sentence[j - 1].end
            ids, matched = kb.lookup(words[i:j], language)
            pieces = [] if ids else self._known_pieces(sentence, words, marks, i, j, language)
            if pieces:
                out.extend(pieces)
                covered[i:j] = [True] * (j - i)
                i = j
                continue
            linkable = True
            entity_id = None
            if ids:
                entity = kb.entity(ids[0])
                if self._links(kind, entity, words[i:j], matched, language):
                    entity_id = entity.entity_id
                    kind = entity.label
                else:
                    linkable = False
            out.append(Candidate(start, end, kind, entity_id, linkable=linkable))
            for k in range(i, j):
                covered[k] = True
            i = j
        if self.kb_only_spans in ("inner", "all"):
            out.extend(self._kb_only(sentence, words, marks, covered, language))
        return out

    def _known_pieces(
        self,
        sentence: list[Token],
        words: list[str],
        marks: list[str],
        first: int,
        end: int,
        language: str,
    ) -> list[Candidate]:
        """A model span that is two or more knowledge-base names side by side and not one
        ("Haftars Libische Nationale Leger": Haftar's army), as those names, each linked
        where its text spells the alias; else nothing (the span stays whole)."""
        if end - first < 2 or not marks[first].startswith("B-"):
            return []
        if not all(marks[first:end]) or sum(m.startswith("B-") for m in marks[first:end]) < 2:
            return []
        kb = self.knowledge_base
        out: list[Candidate] = []
        a = first
        while a < end:
            b = a + 1
            while b < end and marks[b].startswith("I-"):
                b += 1
            ids, matched = kb.lookup(words[a:b], language)
            if not ids:
                return []
            entity = kb.entity(ids[0])
            if not _spelled_as_alias(entity, words[a:b], matched, language):
                return []
            out.append(
                Candidate(sentence[a].start, sentence[b - 1].end, entity.label, entity.entity_id)
            )
            a = b
        return out

    def _links(
        self, kind: str, entity: Entity, words: list[str], matched: int, language: str
    ) -> bool:
        """Whether a model span of type ``kind`` is the KB entity its words matched."""
        if entity.label == kind or self.disagreement == "kb":
            return True
        if self.disagreement == "model":
            return False
        if "PER" in (kind, entity.label) and len(words) == 1:
            return False  # one shared word is a namesake: "Chad", "Wagner", "Roma"
        return _spelled_as_alias(entity, words, matched, language)

    def _kb_only(
        self,
        sentence: list[Token],
        words: list[str],
        marks: list[str],
        covered: list[bool],
        language: str,
    ) -> list[Candidate]:
        """Spans the KB gazetteer matched where the model tagged nothing."""
        kb = self.knowledge_base
        out: list[Candidate] = []
        i = 0
        while i < len(marks):
            if not marks[i].startswith("B-"):
                i += 1
                continue
            j = i + 1
            while j < len(marks) and marks[j].startswith("I-"):
                j += 1
            if not any(covered[i:j]) and (self.kb_only_spans == "all" or i > 0):
                ids, _ = kb.lookup(words[i:j], language)
                if ids:
                    entity = kb.entity(ids[0])
                    out.append(
                        Candidate(
                            sentence[i].start,
                            sentence[j - 1].end,
                            entity.label,
                            entity.entity_id,
                        )
                    )
            i = j
        return out


def _kb_spans(
    kb: KnowledgeBase, sentence: list[Token], words: list[str], marks: list[str], language: str
) -> list[tuple[int, int, int]]:
    """(first token, end token, end char) of each KB match in the gazetteer marks, plus
    the head of a hyphenated compound with a lower-case tail ("Nato-ledet", "UN-backed")."""
    found: list[tuple[int, int, int]] = []
    after = 0  # the end of the last match: tokens before it are inside it
    # Only a marked or hyphenated token can start one; a comprehension finds them fast.
    for i in [i for i, word in enumerate(words) if marks[i] or "-" in word]:
        if i < after:
            continue
        if marks[i].startswith("B-"):
            j = i + 1
            while j < len(marks) and marks[j].startswith("I-"):
                j += 1
            found.append((i, j, sentence[j - 1].end))
            after = j
            continue
        word = words[i]
        cut = word.find("-")
        if (
            cut >= 2
            and word[cut + 1 : cut + 2].islower()
            and word[:1].isupper()
            and kb.lookup([word[:cut]], language)[0]
        ):
            found.append((i, i + 1, sentence[i].start + cut))
    return found


def _head(token: Token, end: int) -> str:
    """The part of a token before ``end`` (a character offset)."""
    return token.text[: end - token.start]


def _spelled_as_alias(entity: Entity, words: list[str], matched: int, language: str) -> bool:
    """The words spell one of the entity's aliases (case, accents and an inflection ending
    of ``language`` aside: Croatian "Haftara", Finnish "Haftarin"), rather than matching
    only through name normalisation ("Belga" ~ "Belgia")."""
    aliases = {fold(alias) for alias in entity.aliases}
    last = words[-1]
    return any(
        fold(" ".join([*words[:-1], form])) in aliases
        for form in (last[:matched], *name_stems(last, language))
    )


@lru_cache(maxsize=8)
def trained_recognizer(knowledge_base: KnowledgeBase) -> TrainedRecognizer:
    """The recogniser for a (cached, read-only) knowledge base, built once per process."""
    return TrainedRecognizer(knowledge_base)


def default_recognizer(knowledge_base: KnowledgeBase | None = None) -> TrainedRecognizer:
    return trained_recognizer(knowledge_base or load_knowledge_base())
