"""Tag and link named entities across languages: ``tag_entities(doc)``.

Two steps, so a statistical model can replace the first without touching the
second:

1. A ``Recognizer`` turns (text, language) into ``Candidate`` spans. The default
   is the trained CRF of ``transforms.ner`` (``TrainedRecognizer``); languages it was
   not trained on get the ``RuleBasedRecognizer``: a knowledge-base gazetteer (dict
   lookups of normalised token n-grams, see ``transforms.names``) plus a finder of
   capitalised name sequences that skips sentence-initial common words.
2. ``link_candidates`` links the spans the recogniser left unlinked: by exact
   key, by surname co-reference inside the document, and last by edit
   distance, gated by context so a typo ("Hafta" in an article about Haftar)
   links while the Turkish word "hafta" (week) never does.

The knowledge base and word lists are data (``transforms/kb/``); the index is
built once per process, lazily, and only read afterwards.

Modules: ``base`` (Candidate, Recognizer), ``lexicon``, ``tokens``,
``knowledge_base`` (Entity, KnowledgeBase, loaders), ``rules``
(RuleBasedRecognizer), ``linking`` (link_candidates), ``tagger`` (tag_entities,
EntityTagger). Import from ``transforms.entities``; the split is internal.
"""

from transforms.entities.base import Candidate, Recognizer
from transforms.entities.knowledge_base import (
    DEFAULT_KB_FILE,
    LABELS,
    SHORT_ALIAS_LETTERS,
    Entity,
    KnowledgeBase,
    KnowledgeBaseError,
    load_knowledge_base,
)
from transforms.entities.lexicon import KB_DIR, LEXICON_FILE, Lexicon, default_lexicon
from transforms.entities.linking import link_candidates
from transforms.entities.rules import RuleBasedRecognizer
from transforms.entities.tagger import EntityTagger, tag_entities

__all__ = [
    "DEFAULT_KB_FILE",
    "KB_DIR",
    "LABELS",
    "LEXICON_FILE",
    "SHORT_ALIAS_LETTERS",
    "Candidate",
    "Entity",
    "EntityTagger",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Lexicon",
    "Recognizer",
    "RuleBasedRecognizer",
    "default_lexicon",
    "link_candidates",
    "load_knowledge_base",
    "tag_entities",
]
