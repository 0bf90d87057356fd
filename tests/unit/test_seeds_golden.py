"""The five seeds against their golden files, plus checks that need no golden file.

If a transform changes on purpose, regenerate with tests/golden/regenerate_seeds.py
and read the diff.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.golden.regenerate_seeds import GOLDEN, SEEDS, golden_record

SEED_PATHS = sorted(SEEDS.glob("*.txt"))


@pytest.mark.parametrize("path", SEED_PATHS, ids=lambda p: p.stem)
def test_seed_matches_its_golden_file(path: Path) -> None:
    expected = json.loads((GOLDEN / f"{path.stem}.json").read_text("utf-8"))
    assert golden_record(path) == expected


@pytest.mark.parametrize("path", SEED_PATHS, ids=lambda p: p.stem)
def test_no_word_of_a_seed_is_lost(path: Path) -> None:
    """Every word is in the clean text or in a labelled boilerplate segment."""
    record = golden_record(path)
    kept = " ".join(record["paragraphs"]) + " " + " ".join(s["text"] for s in record["boilerplate"])
    words = re.compile(r"\w+")
    missing = Counter(words.findall(path.read_text("utf-8"))) - Counter(words.findall(kept))
    assert not missing


@pytest.mark.parametrize(
    ("seed", "boilerplate_kinds", "forbidden_in_text"),
    [
        (
            "003_06b97083d1090c06",
            {"pressreader_footer", "caption_debris", "byline"},
            [
                "Newspapers in English",
                "Newspapers from United Kingdom",
                "??",
                "@dailymail",
                "Showdown: Troops",
            ],
        ),
        (
            "004_f464794b6c022489",
            {"donation_appeal"},
            ["We need your help", "chipping in", "Support us", "coronavirus pandemic"],
        ),
        ("001_204e7bf9a5c3d869", {"dateline"}, ["date 2019-04"]),
        ("002_8dc236b74e2f1f8d", {"dateline", "credit"}, ["date 2019-04", "Beeld REUTERS"]),
    ],
)
def test_boilerplate_does_not_come_back(
    seed: str, boilerplate_kinds: set[str], forbidden_in_text: list[str]
) -> None:
    record = golden_record(SEEDS / f"{seed}.txt")
    text = "\n\n".join(record["paragraphs"])
    assert boilerplate_kinds <= {s["kind"] for s in record["boilerplate"]}
    for phrase in forbidden_in_text:
        assert phrase not in text


def test_every_seed_links_khalifa_haftar_and_the_danish_typo() -> None:
    records = {p.stem: golden_record(p) for p in SEED_PATHS}
    for record in records.values():
        assert "Khalifa Haftar" in record["linked_entities"]
    assert "Hafta" in records["000_a7fe15a2b5f7bfad"]["linked_entities"]["Khalifa Haftar"]
    assert "Hafter" in records["004_f464794b6c022489"]["linked_entities"]["Khalifa Haftar"]
    assert "Khadafi" in records["001_204e7bf9a5c3d869"]["linked_entities"]["Muammar Gaddafi"]
