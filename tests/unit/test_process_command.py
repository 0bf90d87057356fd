"""`newsbeam process`: the offline contract other tools depend on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import main

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
CONTRACT_FIELDS = {
    "id",
    "origin",
    "source",
    "title",
    "authors",
    "published",
    "language",
    "language_score",
    "text",
    "boilerplate",
    "entities",
    "fingerprint",
}


def test_prints_one_json_object_per_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["process", str(SEEDS)]) == 0
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 5
    assert err == ""
    for record in records:
        assert set(record) >= CONTRACT_FIELDS
        assert isinstance(record["authors"], list)
        for entity in record["entities"]:
            assert record["text"][entity["start"] : entity["end"]] == entity["text"]
            assert set(entity) >= {"text", "label", "canonical", "start", "end"}
        for segment in record["boilerplate"]:
            assert set(segment) == {"kind", "text"}
    by_name = {Path(r["origin"]).name: r for r in records}
    mail = by_name["003_06b97083d1090c06.txt"]
    assert (mail["source"], mail["authors"]) == ("Daily Mail", ["Larisa Brown"])
    assert by_name["001_204e7bf9a5c3d869.txt"]["published"] == "2019-04"


def test_rejects_go_to_stderr_and_set_the_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    status = main(["process", str(tmp_path), str(SEEDS / "003_06b97083d1090c06.txt")])
    out, err = capsys.readouterr()
    assert status == 1
    assert len(out.splitlines()) == 1  # the good document is still printed
    lines = err.splitlines()
    assert len(lines) == 2
    assert any("empty.txt" in line and "empty" in line for line in lines)
    assert any("binary.txt" in line and "binary" in line for line in lines)


def test_the_knowledge_base_setting_reaches_the_transforms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_text(
        "entities:\n  - name: Zorblax Quint\n    type: PER\n    aliases: [Zorblax Quint, Quint]\n"
    )
    article = tmp_path / "a.txt"
    article.write_text("The envoy Zorblax Quint met officials in Geneva on Tuesday to talk trade.")
    assert main(["process", str(article)]) == 0
    default_run = json.loads(capsys.readouterr().out)
    assert "Zorblax Quint" not in {e["canonical"] for e in default_run["entities"]}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NEWSBEAM_KNOWLEDGE_BASE_FILE", str(kb))
        assert main(["process", str(article)]) == 0
    custom_run = json.loads(capsys.readouterr().out)
    assert "Zorblax Quint" in {e["canonical"] for e in custom_run["entities"]}


@pytest.mark.parametrize(
    "content",
    ["x" * 100_000, "& " * 500, "12 345 678 -- 9", "Hi."],
    ids=["one-long-word", "entities", "digits", "two-letters"],
)
def test_text_without_words_is_rejected_as_no_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    (tmp_path / "junk.txt").write_text(content)
    assert main(["process", str(tmp_path)]) == 1
    assert "no_words" in capsys.readouterr().err
