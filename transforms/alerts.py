"""Watchlist rules and their evaluation over an enriched document: ``raise_alerts(watchlist, doc)``.

A watchlist is data an operator edits (``transforms/rules/watchlist.yaml`` or
``settings.watchlist_file``). A rule matches a canonical entity of the knowledge
base — so every spelling the linker resolves (Haftar, Hafter, Haftars, Chalifa
Haftar) counts — or a text query, narrowed by language, outlet and a minimum
number of mentions, and names where the alert is delivered.

Everything here is pure: no clients, no clocks except the ``alerted_at`` default.
The alert id is ``hash(rule, story)``, so the store that creates alerts with
op_type=create fires each rule at most once per story, across restarts and replays.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from transforms.document import Document, utc_now

DEFAULT_WATCHLIST_FILE = Path(__file__).resolve().parent / "rules" / "watchlist.yaml"

SINK_CONSOLE = "console"
SINK_WEBHOOK = "webhook"
WEBHOOK_FORMATS = ("json", "slack")
MIN_SECRET_LENGTH = 16  # an HMAC key short enough to guess protects nothing
SNIPPET_CONTEXT = 120  # characters of context on each side of the first mention

_RULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_RULE_KEYS = frozenset(
    {"name", "entity", "query", "languages", "outlets", "min_mentions", "sinks", "enabled"}
)


class WatchlistError(ValueError):
    """A watchlist that cannot be used; the message says which rule and what to fix."""


@dataclass(frozen=True)
class Sink:
    """Where an alert is delivered besides the alerts index and topic (which always get it)."""

    kind: str  # console | webhook
    url: str | None = None
    format: str = "json"  # webhook body: plain alert JSON, or a Slack-compatible message
    # HMAC-SHA256 signing key of a webhook (docs/alerts.md, "Signed webhooks"): the name of
    # an environment variable holding it, or the key itself. Never stored with an alert.
    secret_env: str | None = None
    secret: str | None = field(default=None, repr=False)

    def signing_key(self, environ: Mapping[str, str]) -> str | None:
        """The webhook's signing key, or ``None`` when it is not signed.

        Raises ``KeyError`` naming the variable when ``secret_env`` is not set."""
        if self.secret:
            return self.secret
        if self.secret_env:
            value = environ.get(self.secret_env)
            if not value:
                raise KeyError(self.secret_env)
            return value
        return None

    @property
    def key(self) -> str:
        """A stable short name: the delivery worker keeps one consumer group per sink."""
        if self.kind == SINK_CONSOLE:
            return SINK_CONSOLE
        digest = hashlib.sha256(f"{self.url}\x1f{self.format}".encode()).hexdigest()[:10]
        return f"{self.kind}-{digest}"

    def to_dict(self) -> dict[str, Any]:
        # Only whether and how it is signed: the key itself stays in the watchlist.
        signed = "env" if self.secret_env else ("inline" if self.secret else None)
        return {
            "kind": self.kind,
            "url": self.url,
            "format": self.format,
            "key": self.key,
            "signed": signed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sink:
        return cls(kind=str(data["kind"]), url=data.get("url"), format=data.get("format", "json"))


@dataclass(frozen=True)
class AlertRule:
    """One watch: an entity or phrases, optional filters, and delivery sinks."""

    name: str
    entity: str | None = None  # canonical name (or entity id) from the knowledge base
    query: tuple[str, ...] = ()  # phrases; any of them matches, whole words, any case
    languages: frozenset[str] = frozenset()  # empty: every language
    outlets: frozenset[str] = frozenset()  # case-folded outlet names; empty: every outlet
    min_mentions: int = 1
    sinks: tuple[Sink, ...] = (Sink(SINK_CONSOLE),)
    enabled: bool = True


@dataclass(frozen=True)
class Watchlist:
    rules: tuple[AlertRule, ...] = ()

    def rule(self, name: str) -> AlertRule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        known = ", ".join(r.name for r in self.rules) or "none"
        raise WatchlistError(f"no rule named {name!r} in the watchlist; rules are: {known}.")


@dataclass
class RuleMatch:
    """What a rule found in a document: the mentions as written and where they are."""

    variants: list[str]
    count: int
    first_start: int
    first_end: int


@dataclass
class Alert:
    """A rule firing on a story; the record every sink receives."""

    id: str
    rule: str
    entity: str | None
    query: list[str]
    variants: list[str]  # the matched mentions as written: "Hafter", "Haftars"
    mentions: int
    snippet: str
    title: str | None
    outlet: str | None
    language: str
    published: str | None
    url: str | None
    origin: str
    document_id: str
    story_id: str
    ingested_at: str
    alerted_at: str = field(default_factory=utc_now)
    sinks: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_json(cls, raw: str | bytes) -> Alert:
        return cls.from_dict(json.loads(raw))

    def delivery_sinks(self) -> list[Sink]:
        return [Sink.from_dict(s) for s in self.sinks]


# --- Reading the watchlist --------------------------------------------------------------------


def _strings(value: Any, where: str, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise WatchlistError(f"{where}: {what} must be a string or a list of non-empty strings.")
    return [v.strip() for v in value]


def _sink(raw: Any, where: str) -> Sink:
    if raw == SINK_CONSOLE or raw == {SINK_CONSOLE: None}:
        return Sink(SINK_CONSOLE)
    if isinstance(raw, dict) and SINK_WEBHOOK in raw:
        url = raw[SINK_WEBHOOK]
        fmt = raw.get("format", "json")
        unknown = set(raw) - {SINK_WEBHOOK, "format", "secret", "secret_env"}
        if unknown:
            raise WatchlistError(f"{where}: unknown webhook keys {sorted(unknown)}.")
        secret, secret_env = raw.get("secret"), raw.get("secret_env")
        if secret is not None and secret_env is not None:
            raise WatchlistError(f"{where}: give a webhook `secret` or `secret_env`, not both.")
        for name, value in (("secret", secret), ("secret_env", secret_env)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise WatchlistError(f"{where}: webhook {name} must be a non-empty string.")
        if isinstance(secret, str) and len(secret) < MIN_SECRET_LENGTH:
            raise WatchlistError(
                f"{where}: a webhook secret needs at least {MIN_SECRET_LENGTH} characters."
            )
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise WatchlistError(f"{where}: webhook must be an http(s) URL, got {url!r}.")
        if fmt not in WEBHOOK_FORMATS:
            raise WatchlistError(f"{where}: webhook format must be one of {WEBHOOK_FORMATS}.")
        return Sink(SINK_WEBHOOK, url=url, format=fmt, secret_env=secret_env, secret=secret)
    raise WatchlistError(
        f"{where}: a sink is `console` or `{{webhook: URL, format: json|slack}}`, got {raw!r} "
        "(every alert also goes to the alerts index and topic; they need no entry)."
    )


def parse_rule(raw: Any, position: int) -> AlertRule:
    """One rule from its YAML/TOML mapping, or a ``WatchlistError`` naming the problem."""
    where = f"rule #{position + 1}"
    if not isinstance(raw, dict):
        raise WatchlistError(f"{where} is not a mapping with name, entity or query, sinks.")
    name = raw.get("name")
    if not isinstance(name, str) or not _RULE_NAME.match(name):
        raise WatchlistError(
            f"{where}: name {name!r} must be letters, digits, '-', '_' or '.', up to 100."
        )
    where = f"rule {name!r}"
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise WatchlistError(
            f"{where}: unknown keys {sorted(unknown)}; known: {sorted(_RULE_KEYS)}."
        )
    entity = raw.get("entity")
    if entity is not None and (not isinstance(entity, str) or not entity.strip()):
        raise WatchlistError(f"{where}: entity must be a canonical name such as 'Khalifa Haftar'.")
    query = _strings(raw.get("query"), where, "query")
    if bool(entity) == bool(query):
        raise WatchlistError(f"{where}: give exactly one of `entity` or `query`.")
    min_mentions = raw.get("min_mentions", 1)
    if not isinstance(min_mentions, int) or isinstance(min_mentions, bool) or min_mentions < 1:
        raise WatchlistError(f"{where}: min_mentions must be a whole number of at least 1.")
    sinks_raw = raw.get("sinks", [SINK_CONSOLE])
    if not isinstance(sinks_raw, list):
        raise WatchlistError(f"{where}: sinks must be a list.")
    sinks = tuple(
        dict.fromkeys(_sink(s, f"{where} sink #{i + 1}") for i, s in enumerate(sinks_raw))
    )
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise WatchlistError(f"{where}: enabled must be true or false.")
    return AlertRule(
        name=name,
        entity=entity.strip() if entity else None,
        query=tuple(query),
        languages=frozenset(
            lang.lower() for lang in _strings(raw.get("languages"), where, "languages")
        ),
        outlets=frozenset(o.casefold() for o in _strings(raw.get("outlets"), where, "outlets")),
        min_mentions=min_mentions,
        sinks=sinks,
        enabled=enabled,
    )


def parse_watchlist(data: Any) -> Watchlist:
    """A watchlist from the parsed file: ``{rules: [...]}``."""
    if data is None:
        return Watchlist()
    if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
        raise WatchlistError("a watchlist is a mapping with a `rules:` list.")
    rules = tuple(parse_rule(raw, i) for i, raw in enumerate(data.get("rules") or []))
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise WatchlistError(f"rule names must be unique; repeated: {duplicates}.")
    return Watchlist(rules)


def load_watchlist(path: str | Path | None = None) -> Watchlist:
    """Read a YAML (or ``.toml``) watchlist; ``None`` or "" reads the packaged default."""
    file = Path(path) if path else DEFAULT_WATCHLIST_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise WatchlistError(f"cannot read watchlist {file}: {exc.strerror}.") from None
    try:
        if file.suffix == ".toml":
            import tomllib

            data: Any = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise WatchlistError(f"watchlist {file} does not parse: {exc}") from None
    try:
        return parse_watchlist(data)
    except WatchlistError as exc:
        raise WatchlistError(f"watchlist {file}: {exc}") from None


# --- Evaluating rules -------------------------------------------------------------------------


def outlet_of(doc: Document) -> str | None:
    return doc.source or doc.hints.get("source") or None


def _phrase_pattern(phrases: Sequence[str]) -> re.Pattern[str]:
    alternatives = "|".join(r"\s+".join(map(re.escape, p.split())) for p in phrases)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def match_rule(rule: AlertRule, doc: Document) -> RuleMatch | None:
    """What ``rule`` finds in ``doc``, or None when it does not fire (filters included)."""
    if not rule.enabled:
        return None
    if rule.languages and doc.language.lower() not in rule.languages:
        return None
    if rule.outlets and (outlet_of(doc) or "").casefold() not in rule.outlets:
        return None
    spans: list[tuple[int, int, str]]
    if rule.entity:
        spans = [
            (m.start, m.end, m.text)
            for m in doc.entities
            if rule.entity in (m.canonical, m.entity_id)
        ]
    else:
        spans = [
            (found.start(), found.end(), found.group(0))
            for found in _phrase_pattern(rule.query).finditer(doc.text)
        ]
    if len(spans) < rule.min_mentions or not spans:
        return None
    spans.sort()
    return RuleMatch(
        variants=list(dict.fromkeys(text for _, _, text in spans)),
        count=len(spans),
        first_start=spans[0][0],
        first_end=spans[0][1],
    )


def snippet(text: str, start: int, end: int, context: int = SNIPPET_CONTEXT) -> str:
    """The sentence-ish window around ``text[start:end]``, cut at spaces, one line."""
    left = max(0, start - context)
    right = min(len(text), end + context)
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space != -1 else left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space != -1 else right
    body = " ".join(text[left:right].split())
    return ("… " if left > 0 else "") + body + (" …" if right < len(text) else "")


def alert_id(rule: str, story_id: str) -> str:
    """The alert's id: one per rule per story, whoever raises it and however often."""
    return hashlib.sha256(f"alert\x1f{rule}\x1f{story_id}".encode()).hexdigest()[:24]


def make_alert(
    rule: AlertRule, doc: Document, found: RuleMatch, alerted_at: str | None = None
) -> Alert:
    story = doc.story_id or doc.id
    return Alert(
        id=alert_id(rule.name, story),
        rule=rule.name,
        entity=rule.entity,
        query=list(rule.query),
        variants=found.variants,
        mentions=found.count,
        snippet=snippet(doc.text, found.first_start, found.first_end),
        title=doc.title,
        outlet=outlet_of(doc),
        language=doc.language,
        published=doc.published,
        url=doc.url,
        origin=doc.origin,
        document_id=doc.id,
        story_id=story,
        ingested_at=doc.received_at,
        alerted_at=alerted_at or utc_now(),
        sinks=[s.to_dict() for s in rule.sinks],
    )


def raise_alerts(
    watchlist: Watchlist | Iterable[AlertRule], doc: Document, alerted_at: str | None = None
) -> list[Alert]:
    """Every alert the rules raise on one enriched document (at most one per rule)."""
    rules = watchlist.rules if isinstance(watchlist, Watchlist) else tuple(watchlist)
    alerts = []
    for rule in rules:
        found = match_rule(rule, doc)
        if found is not None:
            alerts.append(make_alert(rule, doc, found, alerted_at))
    return alerts


# --- Messages ---------------------------------------------------------------------------------


def alert_headline(alert: Alert) -> str:
    """One line for the console and chat: rule, entity, variants, outlet, title."""
    what = alert.entity or " | ".join(alert.query)
    variants = ", ".join(alert.variants)
    return (
        f"[{alert.rule}] {what} ({variants}) in {alert.outlet or 'unknown outlet'} "
        f"[{alert.language}]: {alert.title or alert.url or alert.origin}"
    )


def slack_message(alert: Alert) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook body (``text`` plus blocks), alert attached."""
    link = alert.url or alert.origin
    return {
        "text": alert_headline(alert),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{alert_headline(alert)}*"}},
            {"type": "section", "text": {"type": "plain_text", "text": alert.snippet[:2900]}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"story {alert.story_id} · published {alert.published or '?'} "
                        f"· {link}",
                    }
                ],
            },
        ],
        "alert": alert.to_dict(),
    }
