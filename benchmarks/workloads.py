"""Synthetic workloads of realistic size and language mix, generated on the fly.

Plain-text articles are recombined from the real seed articles and the golden page
texts (six languages: da, nl, en, de, fr, es): an outlet line, a headline, a byline,
a dateline, eight to fourteen body paragraphs in one language with entity names swapped
for other spellings from the knowledge base, and often an appeal or newsletter
block and a doubled caption at the end, as PressReader dumps have. HTML pages wrap
the same kind of body in page furniture (cookie banner, navigation, paywall teaser,
related links, newsletter box, comments, "most read", footer, scripts and JSON-LD)
at the size of a real article page (about 20-40 KB).

Every document is a pure function of ``(seed, index)``, so 100 000 documents never
sit in memory at once and two runs measure the same data.
"""

from __future__ import annotations

import functools
import html
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from transforms.document import CONTENT_HTML, CONTENT_TEXT, Document, document_id

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
PAGES = ROOT / "tests" / "data" / "pages"
KB_FILE = ROOT / "transforms" / "kb" / "entities.yaml"

# Share of each language in the text workload (roughly an EU-desk monitoring mix).
LANGUAGE_MIX: dict[str, float] = {
    "en": 0.35,
    "da": 0.15,
    "nl": 0.15,
    "de": 0.15,
    "fr": 0.12,
    "es": 0.08,
}
_SEED_LANGUAGE = {"000": "da", "001": "nl", "002": "nl", "003": "en", "004": "en"}


def _months(names: str) -> tuple[str, ...]:
    return tuple(names.split())


@dataclass(frozen=True)
class _Language:
    outlets: tuple[str, ...]
    byline: str  # "By", "Af", ...
    joiner: str
    months: tuple[str, ...]
    appeals: tuple[str, ...]
    captions: tuple[str, ...]
    headlines: tuple[str, ...]


_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")  # fmt: skip
_LANGUAGES: dict[str, _Language] = {
    "en": _Language(
        outlets=("Daily Mail", "The Guardian", "The Canary", "The Independent", "Middle East Eye"),
        byline="By",
        joiner="and",
        months=_EN_MONTHS,
        appeals=(
            "Can you help by chipping in a few pounds each month?",
            "Sign up to our daily newsletter for the best of our journalism.",
            "Please support independent journalism today.",
        ),
        captions=("Showdown: Troops led by {PER} on the road to {LOC} yesterday",),
        headlines=(
            "{PER} vows to press on towards {LOC}",
            "Fears of escalation as {ORG} forces near {LOC}",
            "Who is {PER}? The commander at the gates of {LOC}",
        ),
    ),
    "da": _Language(
        outlets=("Politiken", "Berlingske", "Jyllands-Posten", "Fyens Stiftstidende"),
        byline="Af",
        joiner="og",
        months=_months(
            "januar februar marts april maj juni juli august september oktober november december"
        ),
        appeals=(
            "Støt vores uafhængige journalistik med et bidrag i dag.",
            "Tilmeld dig vores nyhedsbrev og få dagens vigtigste nyheder.",
        ),
        captions=("{PER} i {LOC}. Foto: Ritzau Scanpix",),
        headlines=("{PER} truer med at indtage {LOC}", "Derfor er {PER} tilbage i {LOC}"),
    ),
    "nl": _Language(
        outlets=("de Volkskrant", "NRC", "Trouw", "Het Parool"),
        byline="Door",
        joiner="en",
        months=_months(
            "januari februari maart april mei juni "
            "juli augustus september oktober november december"
        ),
        appeals=(
            "Steun onze onafhankelijke journalistiek met een bijdrage.",
            "Meld je aan voor onze nieuwsbrief en ontvang elke ochtend het nieuws.",
        ),
        captions=("Een poster van {PER} in {LOC}. Beeld REUTERS",),
        headlines=("{PER} rukt op naar {LOC}", "Wie is {PER}, de generaal van {LOC}?"),
    ),
    "de": _Language(
        outlets=("Rheinische Rundschau", "Süddeutsche Zeitung", "Der Tagesspiegel"),
        byline="Von",
        joiner="und",
        months=_months(
            "Januar Februar März April Mai Juni Juli August September Oktober November Dezember"
        ),
        appeals=(
            "Unterstützen Sie unseren unabhängigen Journalismus.",
            "Melden Sie sich jetzt für unseren Newsletter an.",
        ),
        captions=("{PER} in {LOC}. Foto: dpa",),
        headlines=("{PER} droht mit Vormarsch auf {LOC}", "Was will {PER} in {LOC}?"),
    ),
    "fr": _Language(
        outlets=("Le Monde", "Libération", "La Provence", "Le Figaro"),
        byline="Par",
        joiner="et",
        months=_months(
            "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
        ),
        appeals=(
            "Soutenez notre journalisme indépendant en faisant un don.",
            "Inscrivez-vous à notre newsletter quotidienne.",
        ),
        captions=("{PER} à {LOC}. Photo AFP",),
        headlines=("{PER} menace de marcher sur {LOC}", "Qui est {PER}, l'homme fort de {LOC} ?"),
    ),
    "es": _Language(
        outlets=("El País", "La Vanguardia", "El Mundo"),
        byline="Por",
        joiner="y",
        months=_months(
            "enero febrero marzo abril mayo junio "
            "julio agosto septiembre octubre noviembre diciembre"
        ),
        appeals=("Apoya nuestro periodismo con una suscripción.", "Suscríbete a nuestro boletín."),
        captions=("{PER} en {LOC}. Foto: EFE",),
        headlines=("{PER} amenaza con tomar {LOC}", "¿Quién es {PER}, el hombre fuerte de {LOC}?"),
    ),
}
_FIRST = ("Anna", "Lars", "Sophie", "Jan", "Julia", "Thomas", "Marie", "Pieter", "Laura", "Carlos",
          "Larisa", "Rasmus", "Inés", "Claire", "Mohamed", "Sara")  # fmt: skip
_LAST = ("Brown", "Jensen", "de Vries", "Becker", "Dubois", "García", "Krüger", "Nielsen",
         "Bakker", "Martin", "Boserup", "Fernández", "Smith", "Haddad")  # fmt: skip
_PARAGRAPH_SPLIT = re.compile(r"\n\s*\n")
LANGUAGE_SAMPLES = ROOT / "tests" / "data" / "language" / "long.tsv"
# The seeds hold no German, French or Spanish; these widen the three small pools.
_EXTRA_PARAGRAPHS: dict[str, tuple[str, ...]] = {
    "de": (
        "Der libysche General Khalifa Haftar hat seinen Truppen am Mittwoch den Befehl gegeben, "
        "auf die Hauptstadt Tripolis vorzurücken. UN-Generalsekretär António Guterres, der sich "
        "zu Gesprächen in Libyen aufhielt, rief alle Seiten zur Zurückhaltung auf und warnte vor "
        "einem neuen Bürgerkrieg in dem nordafrikanischen Land.",
        "Haftars selbst ernannte Libysche Nationalarmee kontrolliert bereits große Teile des "
        "Ostens und des Südens, darunter die wichtigsten Ölfelder. Unterstützt wird er nach "
        "Angaben von Diplomaten von Ägypten, den Vereinigten Arabischen Emiraten und Russland, "
        "während die Regierung in Tripolis auf die Türkei setzt.",
        "Die international anerkannte Regierung von Ministerpräsident Fayez al-Sarraj versetzte "
        "ihre Verbände in Alarmbereitschaft. Milizen aus Misrata und Zawiya kündigten an, die "
        "Hauptstadt zu verteidigen. Beobachter in Berlin und Brüssel fürchten neue "
        "Flüchtlingsbewegungen über das Mittelmeer.",
    ),
    "fr": (
        "Le maréchal Khalifa Haftar a ordonné mercredi à ses troupes de marcher sur Tripoli, "
        "siège du gouvernement reconnu par la communauté internationale. Le secrétaire général "
        "de l'ONU, António Guterres, en visite dans le pays, a appelé toutes les parties à la "
        "retenue et mis en garde contre une nouvelle guerre civile.",
        "L'Armée nationale libyenne autoproclamée de Haftar contrôle déjà l'essentiel de l'est "
        "et du sud du pays, dont les principaux champs pétroliers. Selon plusieurs diplomates, "
        "elle bénéficie du soutien de l'Égypte, des Émirats arabes unis et de la Russie, tandis "
        "que la Turquie appuie le gouvernement de Tripoli.",
        "Le gouvernement de Fayez al-Sarraj a placé ses forces en état d'alerte. Des milices de "
        "Misrata et de Zawiya ont promis de défendre la capitale. À Paris comme à Rome, on "
        "redoute une nouvelle vague de départs de migrants vers l'Europe.",
    ),
    "es": (
        "El mariscal Khalifa Haftar ordenó el miércoles a sus tropas avanzar sobre Trípoli, sede "
        "del gobierno reconocido por la comunidad internacional. El secretario general de la "
        "ONU, António Guterres, que se encontraba de visita en el país, pidió contención a todas "
        "las partes y advirtió del riesgo de una nueva guerra civil.",
        "El autoproclamado Ejército Nacional Libio de Haftar controla ya gran parte del este y "
        "del sur del país, incluidos los principales yacimientos de petróleo. Según varios "
        "diplomáticos, cuenta con el apoyo de Egipto, los Emiratos Árabes Unidos y Rusia, "
        "mientras Turquía respalda al gobierno de Trípoli.",
        "El gobierno de Fayez al Sarraj puso a sus fuerzas en estado de alerta. Milicias de "
        "Misrata y Zauiya prometieron defender la capital. En Madrid y Roma preocupa una nueva "
        "ola de salidas de migrantes hacia Europa.",
    ),
}


@functools.lru_cache(maxsize=1)
def _paragraphs() -> dict[str, tuple[str, ...]]:
    """Body paragraphs per language from the seeds and the golden page texts."""
    pools: dict[str, list[str]] = {lang: [] for lang in LANGUAGE_MIX}
    sources = [(p, _SEED_LANGUAGE[p.name[:3]]) for p in sorted(SEEDS.glob("*.txt"))]
    sources += [(p, p.name[:2]) for p in sorted(PAGES.glob("*.expected.txt"))]
    for line in LANGUAGE_SAMPLES.read_text(encoding="utf-8").splitlines():
        lang, _, text = line.partition("\t")
        if lang in pools:
            pools[lang].append(text.strip())
    for lang, extra in _EXTRA_PARAGRAPHS.items():
        pools[lang] += extra
    for path, lang in sources:
        for block in _PARAGRAPH_SPLIT.split(path.read_text(encoding="utf-8")):
            block = " ".join(block.split())
            if len(block) >= 120:  # body paragraphs, not headings or furniture
                pools[lang].append(block)
    return {lang: tuple(blocks) for lang, blocks in pools.items()}


@functools.lru_cache(maxsize=1)
def _entities() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Knowledge-base spellings by type: each entry is (name, *aliases) of one entity."""
    data = yaml.safe_load(KB_FILE.read_text(encoding="utf-8"))
    by_type: dict[str, list[tuple[str, ...]]] = {}
    for entry in data["entities"]:
        names = (entry["name"], *(a for a in entry.get("aliases") or [] if a.isascii()))
        by_type.setdefault(entry["type"], []).append(tuple(names))
    return {kind: tuple(entries) for kind, entries in by_type.items()}


def _spelling(rng: random.Random, kind: str) -> str:
    return rng.choice(rng.choice(_entities()[kind]))


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        PER=_spelling(rng, "PER"), LOC=_spelling(rng, "LOC"), ORG=_spelling(rng, "ORG")
    )


_HAFTAR = re.compile(r"\b(?:Khalifa )?Haft[ae]r\b")


def _language(rng: random.Random) -> str:
    return rng.choices(list(LANGUAGE_MIX), weights=list(LANGUAGE_MIX.values()))[0]


def _body(rng: random.Random, lang: str, index: int) -> list[str]:
    pool = _paragraphs()[lang]
    count = rng.randint(8, 14)  # seed-sized bodies: 2.5-5 KB
    paragraphs = rng.sample(pool, min(count, len(pool)))
    while len(paragraphs) < count:  # the small pools repeat, never side by side
        extra = rng.choice(pool)
        if extra != paragraphs[-1]:
            paragraphs.append(extra)
    # Other spellings of the same man, as different outlets write him.
    haftar = rng.choice(_entities()["PER"][0])
    paragraphs = [_HAFTAR.sub(haftar, p) for p in paragraphs]
    # One sentence only this article has, so no two documents are copies.
    paragraphs.insert(
        rng.randint(1, len(paragraphs)),
        f"{_spelling(rng, 'PER')} ({index % 97 + 18}) — {_spelling(rng, 'LOC')}, "
        f"{_spelling(rng, 'ORG')}: {index} / {rng.randrange(10**6)}.",
    )
    return paragraphs


def _byline(rng: random.Random, spec: _Language) -> str:
    names = [f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(rng.choice((1, 1, 2)))]
    return f"{spec.byline} {f' {spec.joiner} '.join(names)}"


def _date(rng: random.Random, spec: _Language) -> tuple[int, int, int, str]:
    year, month, day = rng.randint(2015, 2024), rng.randint(1, 12), rng.randint(1, 28)
    style = rng.randrange(3)
    if style == 0:
        text = f"{year}-{month:02d}-{day:02d}"
    elif style == 1:
        text = f"{day} {spec.months[month - 1]} {year}"
    else:
        text = f"date {year}-{month:02d}"
    return year, month, day, text


def text_document(index: int, seed: int = 1) -> Document:
    """One seed-like plain-text article (3-6 KB), the same for the same ``(seed, index)``."""
    rng = random.Random(f"text:{seed}:{index}")
    lang = _language(rng)
    spec = _LANGUAGES[lang]
    lines: list[str] = []
    if rng.random() < 0.6:
        lines.append(rng.choice(spec.outlets))
    lines.append(_fill(rng.choice(spec.headlines), rng))
    if rng.random() < 0.7:
        lines.append(_byline(rng, spec))
    if rng.random() < 0.5:
        lines.append(_date(rng, spec)[3])
    lines += _body(rng, lang, index)
    if rng.random() < 0.3:
        caption = _fill(rng.choice(spec.captions), rng)
        lines += [f" ??  ?? {caption}", caption]
    if rng.random() < 0.5:
        lines += rng.sample(spec.appeals, rng.randint(1, len(spec.appeals)))
    content = "\n\n".join(lines) + "\n"
    return Document(
        id=document_id(content=content),
        origin=f"bench/text/{seed}/{index:06d}.txt",
        content=content,
        content_type=CONTENT_TEXT,
    )


def _links(rng: random.Random, count: int, words: list[str]) -> str:
    items = (
        f'<li><a href="/{rng.randrange(10**6)}">{" ".join(rng.sample(words, 5))}</a></li>'
        for _ in range(count)
    )
    return "<ul>" + "".join(items) + "</ul>"


def _script(rng: random.Random) -> str:
    # Tag managers, consent and ad code: inert bytes the parser still has to read past.
    calls = ";".join(
        f"window.dataLayer.push({{'event':'ev{n}','slot':'ad-{rng.randrange(999)}'}})"
        for n in range(rng.randint(40, 90))
    )
    return f"<script>window.dataLayer=window.dataLayer||[];{calls}</script>"


def html_document(index: int, seed: int = 1) -> Document:
    """One article page with realistic furniture (20-40 KB of HTML)."""
    rng = random.Random(f"html:{seed}:{index}")
    lang = _language(rng)
    spec = _LANGUAGES[lang]
    outlet = rng.choice(spec.outlets)
    title = _fill(rng.choice(spec.headlines), rng)
    byline = _byline(rng, spec)
    year, month, day, _ = _date(rng, spec)
    published = f"{year}-{month:02d}-{day:02d}"
    body = _body(rng, lang, index)
    words = " ".join(body).split()
    url = f"https://{re.sub(r'[^a-z]+', '', outlet.lower())}.example/{year}/{index}"
    esc = html.escape
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": title,
            "datePublished": published,
            "publisher": {"@type": "Organization", "name": outlet},
        },
        ensure_ascii=False,
    )
    paragraphs = "\n".join(f"<p>{esc(p)}</p>" for p in body)
    nav = _links(rng, rng.randint(15, 30), words)
    comments = "".join(
        f'<div class="comment"><b>{esc(rng.choice(_FIRST))}_{rng.randrange(99)}:</b> '
        f"{esc(' '.join(rng.sample(words, 12)))}</div>"
        for _ in range(rng.randint(2, 8))
    )
    page = f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{esc(title)} – {esc(outlet)}</title>
<meta property="og:site_name" content="{esc(outlet)}">
<meta property="og:title" content="{esc(title)}">
<meta name="author" content="{esc(byline.split(" ", 1)[1])}">
<meta name="date" content="{published}">
<link rel="canonical" href="{url}">
<script type="application/ld+json">{ld}</script>
<style>{"".join(f".c{n}{{margin:{n}px;color:#{n:03d}}}" for n in range(rng.randint(80, 160)))}
</style>
{_script(rng)}
</head>
<body>
<div id="cmp-banner"><p>{esc(rng.choice(spec.appeals))} Cookies: {esc(" ".join(words[:30]))}</p>
<button>OK</button><button>Settings</button></div>
<div class="header"><div class="logo">{esc(outlet)}</div><nav>{nav}</nav>
<div class="paywall-teaser">{esc(rng.choice(spec.appeals))}</div></div>
<div class="content-wrapper"><div class="main-column">
<article itemprop="articleBody" class="text">
<h1>{esc(title)}</h1>
<div class="byline">{esc(byline)} | {published}</div>
{paragraphs}
<div class="related">{_links(rng, 4, words)}</div>
</article>
<div class="newsletter-box"><h4>Newsletter</h4><p>{esc(spec.appeals[-1])}</p>
<input type="email"><button>OK</button></div>
<div class="comments"><h3>Comments</h3>{comments}</div>
</div>
<aside class="sidebar"><h3>Most read</h3>{_links(rng, 10, words)}
<h3>More</h3>{_links(rng, 10, words)}</aside></div>
<footer>{_links(rng, 12, words)} © {esc(outlet)}</footer>
{_script(rng)}
</body>
</html>
"""
    return Document(
        id=document_id(url=url),
        origin=url,
        content=page,
        content_type=CONTENT_HTML,
        url=url,
    )


def documents(kind: str, count: int, seed: int = 1, start: int = 0) -> Iterator[Document]:
    """``count`` documents of ``kind`` ("text" or "html"), generated one at a time."""
    make = text_document if kind == "text" else html_document
    for index in range(start, start + count):
        yield make(index, seed)
