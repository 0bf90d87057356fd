"""WARC archives written with warcio for the tests and the benchmark: real pages, real records."""

from __future__ import annotations

import gc
import warnings
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

PAGES = Path(__file__).resolve().parent / "data" / "pages"


def _http(content_type: str, status: str = "200 OK") -> StatusAndHeaders:
    return StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")


def write_warc(
    path: Path,
    pages: list[tuple[str, bytes]],
    *,
    gzip: bool = True,
    extras: bool = True,
    date: str = "2024-03-12T09:30:00Z",
) -> Path:
    """``pages`` as response records (with their requests), plus, with ``extras``, a
    warcinfo record, a PDF response, a revisit of the first page, a metadata record and
    a 404 page. ``gzip`` compresses per record, as crawlers do."""
    # warcio spools record blocks to temporary files it never closes; their ResourceWarning
    # would fire in a later test, so they are collected here, where it is ignored.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        _write(path, pages, gzip=gzip, extras=extras, date=date)
        gc.collect()
    return path


def _write(
    path: Path,
    pages: list[tuple[str, bytes]],
    *,
    gzip: bool = True,
    extras: bool = True,
    date: str,
) -> None:
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=gzip)
        if extras:
            writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests"}))
        for url, body in pages:
            writer.write_record(
                writer.create_warc_record(
                    url, "request", payload=BytesIO(b""),
                    http_headers=StatusAndHeaders(f"GET {url} HTTP/1.1", [], is_http_request=True),
                    warc_headers_dict={"WARC-Date": date},
                )
            )  # fmt: skip
            writer.write_record(
                writer.create_warc_record(
                    url,
                    "response",
                    payload=BytesIO(body),
                    http_headers=_http("text/html; charset=utf-8"),
                    warc_headers_dict={"WARC-Date": date},
                )
            )
        if extras:
            writer.write_record(
                writer.create_warc_record(
                    "https://files.example/report.pdf",
                    "response",
                    payload=BytesIO(b"%PDF-1.4 not a page"),
                    http_headers=_http("application/pdf"),
                )
            )
            first_url = pages[0][0]
            writer.write_record(
                writer.create_revisit_record(
                    first_url, digest="sha1:AAAA", refers_to_uri=first_url,
                    refers_to_date=date, http_headers=_http("text/html"),
                )
            )  # fmt: skip
            writer.write_record(
                writer.create_warc_record(
                    first_url, "metadata", payload=BytesIO(b"outlinks: 3"),
                    warc_content_type="application/warc-fields",
                )
            )  # fmt: skip
            writer.write_record(
                writer.create_warc_record(
                    "https://pages.test/gone",
                    "response",
                    payload=BytesIO(b"<html><body><p>Not found</p></body></html>"),
                    http_headers=_http("text/html", "404 Not Found"),
                )
            )


def golden_pages() -> list[tuple[str, bytes]]:
    """The golden article pages under their own URLs (one declares a canonical URL)."""
    return [
        (f"https://pages.test/{p.stem}?utm_source=feed", p.read_bytes())
        for p in sorted(PAGES.glob("*.html"))
    ]
