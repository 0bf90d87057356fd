"""WARC archives and saved HTML pages as input: records in, documents and counted skips out."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from connectors.files import ReadTally, read_articles
from connectors.pages import canonical_url
from connectors.warc import capture_time, is_html
from pipelines.cli import main
from tests.warc_pages import PAGES, golden_pages, write_warc
from transforms.document import CONTENT_HTML, DeadLetter, Document, document_id

MAX = 5_000_000


def _read(path: Path) -> tuple[list[Document], list[DeadLetter], ReadTally]:
    tally = ReadTally()
    items = list(read_articles([path], MAX, tally))
    docs = [i for i in items if isinstance(i, Document)]
    return docs, [i for i in items if isinstance(i, DeadLetter)], tally


@pytest.mark.parametrize("compressed", [True, False], ids=["gzip-per-record", "plain"])
def test_html_responses_become_documents_and_the_rest_is_counted(
    tmp_path: Path, compressed: bool
) -> None:
    pages = golden_pages()
    name = "crawl.warc.gz" if compressed else "crawl.warc"
    docs, letters, tally = _read(write_warc(tmp_path / name, pages, gzip=compressed))
    assert letters == []
    assert len(docs) == len(pages) == 6
    assert all(d.content_type == CONTENT_HTML for d in docs)
    assert {d.received_at for d in docs} == {"2024-03-12T09:30:00.000Z"}
    assert [d.origin for d in docs] == [url for url, _ in pages]
    # warcinfo, one request per page, the PDF, the revisit, the metadata record, the 404.
    assert tally.records == 1 + 2 * 6 + 4
    assert tally.skipped == {
        "warcinfo": 1, "request": 6, "non_html": 1, "revisit": 1, "metadata": 1, "http_404": 1,
    }  # fmt: skip


def test_ids_come_from_the_canonical_url_else_the_target_uri(tmp_path: Path) -> None:
    docs, _, _ = _read(write_warc(tmp_path / "c.warc.gz", golden_pages()))
    by_stem = {d.origin.split("/")[-1].split("?")[0]: d for d in docs}
    tripoli = by_stem["en-haftar-tripoli"]
    canonical = "https://meridian.example/world/africa/haftar-forces-pull-back-tripoli"
    assert tripoli.url == canonical
    assert tripoli.id == document_id(url=canonical)
    for stem, doc in by_stem.items():
        assert doc.id == document_id(url=doc.url), stem
    # The same pages crawled again: the same ids, so a re-run overwrites.
    again, _, _ = _read(write_warc(tmp_path / "again.warc.gz", golden_pages()))
    assert sorted(d.id for d in again) == sorted(d.id for d in docs)


def test_a_truncated_archive_keeps_what_it_read_and_dead_letters_the_rest(
    tmp_path: Path,
) -> None:
    full = write_warc(tmp_path / "full.warc.gz", golden_pages(), extras=False)
    data = full.read_bytes()
    complete, _, _ = _read(full)
    for cut in (len(data) - 40, len(data) - 700, len(data) // 2):
        cut_file = tmp_path / f"cut{cut}.warc.gz"
        cut_file.write_bytes(data[:cut])
        docs, letters, _ = _read(cut_file)
        assert len(letters) == 1, cut
        assert letters[0].reason == "truncated_archive"
        assert f"the {len(docs)} HTML pages before it were read" in letters[0].message
        assert 0 < len(docs) < len(complete)
        assert [d.id for d in docs] == [d.id for d in complete[: len(docs)]]


def test_garbage_in_an_archive_is_a_corrupt_archive_dead_letter(tmp_path: Path) -> None:
    good = write_warc(tmp_path / "g.warc", golden_pages()[:2], extras=False).read_bytes()
    broken = tmp_path / "broken.warc"
    broken.write_bytes(good + b"this is not a WARC record at all\r\n" * 20)
    docs, letters, _ = _read(broken)
    assert len(docs) == 2
    assert [letter.reason for letter in letters] in (["corrupt_archive"], ["truncated_archive"])
    not_warc = tmp_path / "not.warc.gz"
    not_warc.write_bytes(b"\x1f\x8b\x08\x00garbage")
    docs, letters, _ = _read(not_warc)
    assert docs == []
    assert [letter.reason for letter in letters] in (["corrupt_archive"], ["truncated_archive"])


def test_html_is_recognised_by_type_or_by_its_first_bytes() -> None:
    assert is_html("text/html; charset=iso-8859-1", b"")
    assert is_html("application/xhtml+xml", b"")
    assert is_html(None, b"  <!DOCTYPE html><html><body>")
    assert is_html("application/octet-stream", b"<!-- cached --><html lang=en>")
    assert not is_html("application/json", b"<html>")
    assert not is_html("", b"%PDF-1.4")
    assert capture_time("2024-03-12T09:30:00Z") == "2024-03-12T09:30:00.000Z"
    assert capture_time("2024-03-12T09:30:00.123456Z") == "2024-03-12T09:30:00.123Z"
    assert capture_time("yesterday") is None


def test_saved_pages_are_html_documents_with_their_canonical_url(tmp_path: Path) -> None:
    source = (PAGES / "en-haftar-tripoli.html").read_bytes()
    (tmp_path / "a.html").write_bytes(source)
    (tmp_path / "b.htm").write_bytes((PAGES / "de-bahnstreik.html").read_bytes())
    (tmp_path / "c.html.gz").write_bytes(gzip.compress(source))
    (tmp_path / "d.html.gz").write_bytes(b"not gzip at all")
    items = {Path(i.origin).name: i for i in read_articles([tmp_path], MAX)}
    a, b, c = items["a.html"], items["b.htm"], items["c.html.gz"]
    assert isinstance(a, Document)
    assert isinstance(b, Document)
    assert isinstance(c, Document)
    assert a.content_type == b.content_type == CONTENT_HTML
    assert a.url == "https://meridian.example/world/africa/haftar-forces-pull-back-tripoli"
    assert c.id == a.id  # the same page, saved twice: one document
    assert b.url is None
    assert b.id == document_id(content=b.content)
    letter = items["d.html.gz"]
    assert isinstance(letter, DeadLetter)
    assert letter.reason == "bad_gzip"


def test_canonical_url_prefers_the_link_and_resolves_relative_ones() -> None:
    head = '<html><head><meta property="og:url" content="https://a.example/og">{}</head>'
    assert canonical_url(head.format('<link rel="canonical" href="https://a.example/c">')) == (
        "https://a.example/c"
    )
    assert canonical_url(head.format("")) == "https://a.example/og"
    relative = '<head><link rel="canonical" href="/news/1"></head>'
    assert canonical_url(relative, base="https://b.example/x?y=1") == "https://b.example/news/1"
    assert canonical_url(relative) is None
    assert canonical_url("<p>no head at all</p>") is None


def test_process_reads_a_page_and_an_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.html"
    page.write_bytes((PAGES / "nl-dijkversterking.html").read_bytes())
    archive = write_warc(tmp_path / "crawl.warc.gz", golden_pages())
    video = PAGES / "collapse" / "en-video-page.html"
    no_article = write_warc(
        tmp_path / "video.warc.gz", [("https://v.example/1", video.read_bytes())], extras=False
    )
    status = main(["process", str(page), str(archive), str(no_article)])
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 1  # the video page is rejected, the rest printed
    assert len(records) == 1 + 6
    assert records[0]["origin"] == str(page)
    assert records[0]["language"] == "nl"
    assert {r["extraction_method"] for r in records} == {"precision"}
    assert "https://v.example/1: rejected at extract: no_article" in err
    summary = [line for line in err.splitlines() if line.startswith("newsbeam: done:")]
    assert len(summary) == 1
    assert "7 documents processed, 1 rejected" in summary[0]
    assert "revisit 1" in summary[0]
    assert "non_html 1" in summary[0]


def test_progress_prints_a_line_every_interval_and_a_summary() -> None:
    import io

    from pipelines.progress import Progress

    now = [0.0]
    out = io.StringIO()
    tally = ReadTally()
    progress = Progress(out, tally, verb="published", every_s=10, clock=lambda: now[0])
    for step in range(30):
        now[0] = step * 1.0
        tally.records += 1
        if step % 3 == 0:
            tally.skip("non_html")
        else:
            progress.accept()
    progress.reject()
    progress.summary()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3  # at 10 s and 20 s, then the summary
    assert lines[0].startswith("newsbeam: progress: 11 records read, 7 documents published")
    assert lines[-1].startswith(
        "newsbeam: done: 30 records read, 20 documents published, 1 rejected"
    )
    assert "10 skipped (non_html 10)" in lines[-1]
    assert "records/s" in lines[-1]
    quiet = io.StringIO()
    Progress(quiet, ReadTally(), verb="processed").summary()
    assert quiet.getvalue() == ""  # short runs with nothing skipped keep stderr for rejects


def test_an_archive_gzipped_as_one_file_is_read_and_its_truncation_noticed(
    tmp_path: Path,
) -> None:
    plain = write_warc(tmp_path / "crawl.warc", golden_pages())
    whole = tmp_path / "whole.warc.gz"  # `gzip crawl.warc`, not gzip per record
    whole.write_bytes(gzip.compress(plain.read_bytes()))
    docs, letters, tally = _read(whole)
    assert letters == []
    assert len(docs) == 6
    assert tally.records == 1 + 2 * 6 + 4  # nothing counted twice after the restart
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    docs, letters, _ = _read(cut)
    assert 0 < len(docs) < 6
    assert [letter.reason for letter in letters] == ["truncated_archive"]
