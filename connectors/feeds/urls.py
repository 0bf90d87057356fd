"""One spelling per article URL, so one article fetched twice is one document."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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


def canonical_url(url: str) -> str:
    """One spelling per article: lower-case host, no default port, fragment or tracking."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in TRACKING_PARAMS and not key.lower().startswith(TRACKING_PREFIXES)
    ]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))
