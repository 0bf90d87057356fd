from transforms.document import (
    DeadLetter,
    Document,
    Fingerprint,
    Mention,
    Segment,
    document_id,
)


def test_document_survives_json_round_trip() -> None:
    doc = Document(
        id="abc",
        origin="seeds/x.txt",
        content="Haftar’s forces — «quoted»",
        hints={"language": "en"},
        title="T",
        authors=["A B"],
        boilerplate=[Segment("outlet", "Daily Mail")],
        entities=[Mention("Haftar’s", "PER", 0, 8, "Khalifa Haftar", "Q1")],
        fingerprint=Fingerprint("00" * 32, "0123456789abcdef"),
    )
    assert Document.from_json(doc.to_json()) == doc


def test_as_raw_drops_what_the_transforms_added() -> None:
    doc = Document(id="i", origin="o", content="c", title="t", text="x", language="en")
    raw = doc.as_raw()
    assert (raw.id, raw.origin, raw.content) == ("i", "o", "c")
    assert raw.title is None
    assert raw.text == ""
    assert raw.language == "und"


def test_ids_come_from_url_first_then_whitespace_normalised_content() -> None:
    assert document_id(content="a  b\nc") == document_id(content="a b c")
    assert document_id(url="https://x/1", content="a") == document_id(url="https://x/1")
    assert document_id(url="https://x/1") != document_id(content="https://x/1")


def test_dead_letter_round_trip() -> None:
    letter = DeadLetter(stage="decode", reason="binary", message="m", origin="o")
    assert DeadLetter.from_json(letter.to_json()) == letter
