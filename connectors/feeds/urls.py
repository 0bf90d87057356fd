"""One spelling per article URL, so one article fetched twice is one document."""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode, urlunsplit

from connectors.iri import BadURLError, split_uri

# Query parameters that only track the reader; removed so one article has one URL.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "ocid", "cmpid", "xtor", "smid",
        "ito", "ref_src", "ref_url", "ns_mchannel", "ns_source", "ns_campaign",
        "ns_linkname", "ns_fee", "at_medium", "at_campaign", "at_link", "at_ptr",
        "_ga", "_gl", "spm", "sr_share", "fromrss",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "at_custom", "pk_", "mtm_", "hmb_")


class CanonicalURL(NamedTuple):
    """A link's canonical spelling, or why it has none (``url`` is then empty)."""

    url: str
    problem: str | None = None
    reason: str | None = None


def canonicalize(url: str) -> CanonicalURL:
    """One spelling per article, or a sentence saying why ``url`` cannot be fetched.

    ASCII (IRIs percent-encoded as UTF-8, IDNA hosts), lower-case host, no default
    port, no user info, no fragment, no tracking parameters. Never raises: a bad
    port, an unclosed IPv6 bracket or a non-http(s) link is a ``problem``.
    """
    try:
        parts = split_uri(url)
    except BadURLError as exc:
        return CanonicalURL("", exc.message, exc.reason)
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in TRACKING_PARAMS and not key.lower().startswith(TRACKING_PREFIXES)
    ]
    return CanonicalURL(
        urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))
    )


def canonical_url(url: str) -> str:
    """The canonical spelling of ``url``, or "" when it cannot be fetched (see ``canonicalize``)."""
    return canonicalize(url).url
