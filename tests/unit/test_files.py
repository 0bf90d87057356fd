"""The seed connector: what it accepts, and a reason for everything it refuses."""

from pathlib import Path

from connectors.files import read_articles
from transforms.document import DeadLetter, Document

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def _by_name(items: list[Document | DeadLetter]) -> dict[str, Document | DeadLetter]:
    return {Path(item.origin).name: item for item in items}


def test_reads_every_seed_as_utf8_text() -> None:
    docs = list(read_articles([SEEDS], max_bytes=1_000_000))
    assert len(docs) == 5
    assert all(isinstance(d, Document) for d in docs)
    danish = _by_name(docs)["000_a7fe15a2b5f7bfad.txt"]
    assert isinstance(danish, Document)
    assert "Gaddafis hær" in danish.content


def test_latin1_danish_is_decoded(tmp_path: Path) -> None:
    text = (
        "Regeringen i København vil styrke forsvaret, siger ministeren. Øget støtte til "
        "Ukraine og flere penge til sundhedsvæsenet er også på vej, men økonomerne er "
        "bekymrede for gælden. Både oppositionen og fagbevægelsen kræver svar før året går."
    )
    (tmp_path / "latin1.txt").write_bytes(text.encode("latin-1"))
    (doc,) = read_articles([tmp_path], max_bytes=1_000_000)
    assert isinstance(doc, Document)
    assert doc.content == text


def test_bad_files_are_dead_letters_with_reasons_and_the_rest_flows(tmp_path: Path) -> None:
    (tmp_path / "a_good.txt").write_text("Haftar troops advanced on Tripoli on Thursday.")
    (tmp_path / "b_empty.txt").write_text("  \n\t\n")
    (tmp_path / "c_binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    (tmp_path / "d_huge.txt").write_text("word " * 500)
    (tmp_path / "e_undecodable.txt").write_bytes(bytes(range(128, 256)) * 4)
    items = _by_name(list(read_articles([tmp_path, tmp_path / "missing.txt"], max_bytes=2000)))
    assert isinstance(items["a_good.txt"], Document)
    reasons = {name: item.reason for name, item in items.items() if isinstance(item, DeadLetter)}
    assert reasons["b_empty.txt"] == "empty"
    assert reasons["c_binary.txt"] == "binary"
    assert reasons["d_huge.txt"] == "too_large"
    assert reasons["missing.txt"] == "missing"
    assert reasons["e_undecodable.txt"] in {"undecodable", "binary"}
    assert len(items) == 6


def test_same_text_same_id_whatever_the_path(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("Same story.\n")
    (tmp_path / "two.txt").write_text("Same  story.")
    first, second = read_articles([tmp_path], max_bytes=1000)
    assert isinstance(first, Document)
    assert isinstance(second, Document)
    assert first.id == second.id
