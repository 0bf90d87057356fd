"""Mending the edges of person spans the CRF cut at a name particle or ran over a title.

- **particles between two parts** ("Marloes | van der | Meulen"): two person spans with
  only name particles between them are one name;
- **a title in front** ("President Macron", "Minister Ollongren"): CoNLL-style names do not
  include the title, and the linker reads the name without it.

Rules over one sentence's IOB2 tags, run before the document pass; which run is a
``BoundaryRules`` value. docs/entities.md has what each did on the dev splits and the news
check (small gains, no loss; a third rule, a capitalised particle before a surname, "zei
Van Gerwen", changed nothing measurable and was dropped).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Lower-case words that stand inside surnames in the languages the model knows.
PARTICLES = frozenset(
    {"van", "der", "den", "de", "het", "'t", "ter", "ten", "von", "zu", "vom", "zur", "du",
     "des", "le", "la", "da", "das", "dos", "di", "del", "della", "af", "al", "el", "bin", "ibn"}
)  # fmt: skip


@dataclass(frozen=True)
class BoundaryRules:
    join_particles: bool = True
    drop_title: bool = True

    @property
    def active(self) -> bool:
        return self.join_particles or self.drop_title


NO_BOUNDARY_RULES = BoundaryRules(join_particles=False, drop_title=False)


def mend_person_spans(
    words: list[str], tags: list[str], is_title: Callable[[str], bool], rules: BoundaryRules
) -> None:
    """Rewrite ``tags`` (IOB2) of one sentence in place."""
    if "B-PER" not in tags:
        return
    if rules.join_particles:
        _join_across_particles(words, tags)
    if rules.drop_title:
        _drop_titles(words, tags, is_title)


def _join_across_particles(words: list[str], tags: list[str]) -> None:
    i = 1
    while i < len(tags):
        if tags[i] == "O" and words[i] in PARTICLES and tags[i - 1] in ("B-PER", "I-PER"):
            j = i
            while j < len(tags) and tags[j] == "O" and words[j] in PARTICLES:
                j += 1
            if j < len(tags) and tags[j] == "B-PER":
                for k in range(i, j + 1):
                    tags[k] = "I-PER"
            i = j
        i += 1


def _drop_titles(words: list[str], tags: list[str], is_title: Callable[[str], bool]) -> None:
    for i, tag in enumerate(tags):
        if tag != "B-PER":
            continue
        while i + 1 < len(tags) and tags[i + 1] == "I-PER" and is_title(words[i]):
            tags[i] = "O"
            tags[i + 1] = "B-PER"
            i += 1
