"""Generates the bad-input corpus at test time (nothing of it is committed).

``write_corpus(folder, per_kind)`` writes files of every kind the file connector may
meet; ``html_bombs(per_kind)`` makes raw HTML documents the way a feed fetch would.
Each item is named ``<kind>-<n>`` so a test can say which kind failed how.
Run ``python -m tests.data.bad_inputs.generate DIR`` to look at one.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path

from transforms.document import CONTENT_HTML, Document, document_id

SAMPLE = (
    "Le conseil municipal a voté le budget. Die Fähre über den Fluß fährt wieder. "
    "Новости дня: заседание совета. Türkiye'de seçim haftası. 東京の天気は晴れ。"
)


def _binary(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(200 + n)) + b"\x00\x01\x02"


def _truncated_utf8(rng: random.Random, n: int) -> bytes:
    # Cut inside a multi-byte character, then trail off into invalid continuation bytes.
    data = (SAMPLE * (1 + n % 3)).encode("utf-8")
    cut = next(i for i in range(len(data) - 1, 0, -1) if data[i] >= 0xC0) + 1
    return data[:cut] + bytes([0x80 | rng.getrandbits(6) for _ in range(16)]) + b"\xff\xfe"


def _mixed_encodings(rng: random.Random, n: int) -> bytes:
    parts = [
        SAMPLE.encode("utf-8"),
        SAMPLE.encode("utf-16-le"),
        "Fähre Fluß".encode("latin-1"),
        "заседание".encode("koi8-r"),
        "晴れ".encode("shift_jis"),
    ]
    rng.shuffle(parts)
    return b"\n".join(parts * (1 + n % 2))


def _nul_bytes(rng: random.Random, n: int) -> bytes:
    text = (SAMPLE + " ") * 5
    spots = sorted(rng.sample(range(len(text)), 12))
    out, last = [], 0
    for spot in spots:
        out.append(text[last:spot])
        out.append("\x00")
        last = spot
    out.append(text[last:])
    return "".join(out).encode("utf-8")


def _one_megabyte_line(rng: random.Random, n: int) -> bytes:
    # 1 MB, no newline, no word a tokenizer would recognise: x'es and digits.
    return (f"{n:04d}" + "x" * 1_048_572).encode()


def _control_noise(rng: random.Random, n: int) -> bytes:
    return bytes(rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 11, 14, 15, 16]) for _ in range(64 + n))


FILE_KINDS: dict[str, Callable[[random.Random, int], bytes]] = {
    "empty": lambda rng, n: b"",
    "whitespace": lambda rng, n: b" \n\t\r\n " * (1 + n % 50),
    "binary": _binary,
    "nul": _nul_bytes,
    "control": _control_noise,
    "truncated-utf8": _truncated_utf8,
    "mixed-encodings": _mixed_encodings,
    "one-mb-line": _one_megabyte_line,
    "bom-only": lambda rng, n: b"\xef\xbb\xbf" + b"\n" * (n % 4),
    "huge": lambda rng, n: b"",  # written sparse below: over max_document_bytes
}
HUGE_BYTES = 3_000_000


def write_corpus(folder: Path, per_kind: int, seed: int = 7) -> dict[Path, str]:
    """Write ``per_kind`` files of every kind; return path -> kind."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[Path, str] = {}
    for kind, make in FILE_KINDS.items():
        count = per_kind if kind not in ("one-mb-line", "huge") else max(2, per_kind // 20)
        for n in range(count):
            path = folder / f"{kind}-{n:04d}.txt"
            if kind == "huge":
                with path.open("wb") as out:
                    out.truncate(HUGE_BYTES + n)  # sparse: costs no disk
            else:
                path.write_bytes(make(rng, n))
            written[path] = kind
    return written


def _deep_nesting(n: int) -> str:
    depth = 5_000 + 1_000 * (n % 5)
    return "<html><body>" + "<div>" * depth + "x" + "</div>" * depth + "</body></html>"


def _unclosed(n: int) -> str:
    # A page that never finishes: cut mid-tag, thousands of open elements, no body text.
    return "<html><head><title>" + "<span><b><i>" * (2_000 + n) + "<a href='"


def _entity_bomb(n: int) -> str:
    return "<html><body><p>" + "&amp;" * 20_000 + "&#0;&#xD800;" + "</p></body></html>"


def _script_only(n: int) -> str:
    return (
        "<html><head><script>" + "var a=1;" * (5_000 + n) + "</script></head><body></body></html>"
    )


HTML_KINDS = {
    "html-deep-nesting": _deep_nesting,
    "html-unclosed": _unclosed,
    "html-entity-bomb": _entity_bomb,
    "html-script-only": _script_only,
}


def html_bombs(per_kind: int) -> dict[str, tuple[str, Document]]:
    """Raw HTML documents as a feed connector would publish them: id -> (kind, document)."""
    found: dict[str, tuple[str, Document]] = {}
    for kind, make in HTML_KINDS.items():
        for n in range(per_kind):
            url = f"http://127.0.0.1:9/bad/{kind}/{n}"
            doc = Document(
                id=document_id(url=url),
                origin=url,
                url=url,
                content=make(n),
                content_type=CONTENT_HTML,
                hints={"source": "bad-input-test"},
            )
            found[doc.id] = (kind, doc)
    return found


if __name__ == "__main__":
    written = write_corpus(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 10)
    print(f"wrote {len(written)} files to {sys.argv[1]}")
