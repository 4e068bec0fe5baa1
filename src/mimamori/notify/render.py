"""How a notice looks: e-mail (subject, plain text, HTML), chat text and the telephone texts.

Fixed words come from the Babel domain ``notify`` (``notify/locale/{ja,en}/LC_MESSAGES/notify.po``,
English message ids, compiled in memory once, like ``triage.guidance``). Everything else in a notice may
come from logs and is treated as hostile: ``prepare`` flattens one-line fields (no CR/LF, no control or
bidi characters: no header injection, no spoofed text), caps lengths, keeps only http(s) links and a
valid ``#rrggbb`` colour, defangs URLs in log text (``hxxps://evil[.]example``: not clickable); the HTML
template autoescapes; Slack and Teams escape for their own markup.
"""

from __future__ import annotations

import gettext
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import jinja2
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from mimamori.notify.message import Branding, Notice, NoticeKind

LANGUAGES = ("ja", "en")
DOMAIN = "notify"
DISPLAY_TZ = ZoneInfo("Asia/Tokyo")
DEFAULT_COLOR = Branding().color
SEVERITIES = {"high": "High", "medium": "Medium", "low": "Low"}
SEVERITY_COLORS = {"high": "#c62828", "medium": "#ef6c00", "low": "#2e7d32"}
KIND_TAGS = {
    NoticeKind.INCIDENT: "Action needed",
    NoticeKind.ESCALATION: "Not yet acknowledged",
    NoticeKind.DIGEST: "Daily summary",
    NoticeKind.SENSOR_SILENT: "Monitoring interrupted",
    NoticeKind.SENSOR_RECOVERED: "Monitoring resumed",
    NoticeKind.TEST: "Test",
    NoticeKind.TICKET: "Customer request",
}
ACK_KINDS = frozenset({NoticeKind.INCIDENT, NoticeKind.ESCALATION})
MAX_LINE = 200  # characters of a one-line field (title, device, fact value)
MAX_TEXT = 2000  # characters of the summary
MAX_ITEMS = 200  # digest lines shown (the portal has the rest)
SMS_ASCII, SMS_UNICODE = 160, 70  # one SMS: GSM-7 text, or UCS-2 text (any Japanese)
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_STRIP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


# ---- fixed words -------------------------------------------------------------------------------------


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled ``notify`` catalogue of ``language`` (unknown languages get Japanese)."""
    language = language if language in LANGUAGES else LANGUAGES[0]
    path = resources.files("mimamori") / "notify" / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@dataclass(frozen=True, slots=True)
class Labels:
    """``L("I have seen this")`` in one language; ``%(name)s`` values are filled in, never raising."""

    language: str

    def __call__(self, msgid: str, **values: object) -> str:
        text = translations(self.language).gettext(msgid)
        if not values:
            return text
        try:
            return text % {k: str(v) for k, v in values.items()}
        except (KeyError, TypeError, ValueError):
            return text


# ---- cleaning hostile text ---------------------------------------------------------------------------


def one_line(value: object, limit: int = MAX_LINE) -> str:
    """``value`` as one line: whitespace runs (CR/LF included) become one space; control, format (bidi
    overrides, zero-width) and separator characters are dropped; at most ``limit`` characters."""
    text = str(value)
    if not text.isprintable():  # printable text has no character of those categories: nothing to drop
        text = "".join(c for c in text if unicodedata.category(c) not in _STRIP_CATEGORIES or c in "\t\n\r")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def paragraphs(value: object, limit: int = MAX_TEXT) -> tuple[str, ...]:
    """``value`` as clean one-line paragraphs (split at line breaks), ``limit`` characters in all."""
    lines = [one_line(p, limit) for p in re.split(r"[\r\n\u2028\u2029\x85]+", str(value)[: limit * 2])]
    kept = [p for p in lines if p]
    total = one_line(" ".join(kept), limit)
    return tuple(kept) if sum(map(len, kept)) <= limit else (total,)


_URL = re.compile(r"\bhttp(s?)://([^\s/?#<>\"'\\]+)", re.IGNORECASE)


def defang(text: str) -> str:
    """URLs inside text from logs made non-clickable, as analysts write them: ``hxxps://evil[.]example/``
    (mail clients, Slack and Teams would otherwise turn an attacker's URL into a link)."""
    return _URL.sub(lambda m: f"hxxp{m.group(1).lower()}://" + m.group(2).replace(".", "[.]"), text)


def safe_url(value: str | None) -> str | None:
    """``value`` if it is one clean absolute http(s) URL, else None (no ``javascript:`` links)."""
    if not value:
        return None
    url = value.strip()
    if len(url) > 2048 or any(c.isspace() or unicodedata.category(c) in _STRIP_CATEGORIES for c in url):
        return None
    return url if re.match(r"https?://[^/?#]+", url, re.IGNORECASE) else None


def safe_color(value: str) -> str:
    return value if _COLOR.fullmatch(value or "") else DEFAULT_COLOR


def format_time(when: datetime | None) -> str:
    """Japan time, the same for both languages ("2026-11-26 19:25 JST"); naive means UTC."""
    if when is None:
        return ""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M JST")


# ---- the prepared view -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Item:
    severity: str  # the translated label ("緊急度 高")
    color: str
    title: str
    device: str
    when: str
    url: str | None


@dataclass(frozen=True, slots=True)
class View:
    """A notice cleaned for rendering: every string is one safe line (or a tuple of them)."""

    kind: NoticeKind
    language: str
    brand: str
    color: str
    logo_url: str | None
    footer: tuple[str, ...]
    tags: str  # "要対応・緊急度 高"
    severity: str  # translated label, "" when none
    severity_color: str
    title: str
    tenant: str
    summary: tuple[str, ...]
    steps: tuple[str, ...]
    facts: tuple[Row, ...]
    items: tuple[Item, ...]
    more_items: int
    ack_url: str | None
    portal_url: str | None
    reminder: str  # "まだ誰も確認していません(1 回目の再通知)。" for escalations

    @property
    def labels(self) -> Labels:
        return Labels(self.language)


def prepare(notice: Notice, branding: Branding | None = None) -> View:
    """Clean ``notice`` (hostile text) and translate the fixed words, once for every renderer."""
    brand = branding or Branding()
    language = notice.language if notice.language in LANGUAGES else LANGUAGES[0]
    L = Labels(language)
    severity = L(SEVERITIES[notice.severity]) if notice.severity in SEVERITIES else ""
    tags = L(" · ").join(t for t in (L(KIND_TAGS.get(notice.kind, "Test")), severity) if t)
    items = tuple(
        Item(
            severity=L(SEVERITIES.get(item.severity, "Low")),
            color=SEVERITY_COLORS.get(item.severity, SEVERITY_COLORS["low"]),
            title=defang(one_line(item.title)),
            device=defang(one_line(item.device)),
            when=format_time(item.when),
            url=safe_url(item.url),
        )
        for item in notice.items[:MAX_ITEMS]
    )
    step = notice.escalation_step
    return View(
        kind=notice.kind,
        language=language,
        brand=one_line(brand.name, 80) or "mimamori",
        color=safe_color(brand.color),
        logo_url=logo if (logo := safe_url(brand.logo_url)) and logo.lower().startswith("https://") else None,
        footer=paragraphs(brand.footer, 500),
        tags=tags,
        severity=severity,
        severity_color=SEVERITY_COLORS.get(notice.severity or "", "#546e7a"),
        title=defang(one_line(notice.title)),
        tenant=defang(one_line(notice.tenant_name, 100)),
        summary=tuple(defang(p) for p in paragraphs(notice.summary)),
        steps=tuple(defang(s) for s in (one_line(s, 500) for s in notice.steps[:3]) if s),
        facts=tuple(
            Row(defang(one_line(f.label, 60)), defang(one_line(f.value, 500))) for f in notice.facts[:20]
        ),
        items=items,
        more_items=max(0, len(notice.items) - MAX_ITEMS),
        ack_url=safe_url(notice.ack_url) if notice.kind in ACK_KINDS else None,
        portal_url=safe_url(notice.portal_url),
        reminder=L("Nobody has acknowledged this yet (reminder %(step)s).", step=step)
        if notice.kind is NoticeKind.ESCALATION and step > 0
        else "",
    )


# ---- e-mail ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmailContent:
    subject: str  # one line, no CR/LF
    text: str
    html: str


@cache
def _environment() -> jinja2.Environment:
    """The templates: ``*.html`` autoescaped, ``*.txt`` plain text."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("mimamori.notify", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True, default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def subject(view: View) -> str:
    """ "【要対応・緊急度 高】<title> - <brand>" / "[Action needed · High] <title> - <brand>"."""
    line = view.labels("[%(tags)s] %(title)s - %(brand)s", tags=view.tags, title=view.title, brand=view.brand)
    return one_line(line, 250)


def render_email(notice: Notice, branding: Branding | None = None) -> EmailContent:
    """The e-mail of ``notice``: subject, plain text and HTML saying the same, in ``notice.language``."""
    view = prepare(notice, branding)
    title = subject(view)
    context = {"v": view, "L": view.labels, "subject": title}
    text = _environment().get_template("email.txt").render(context)
    html = _environment().get_template("email.html").render(context)
    return EmailContent(subject=title, text=re.sub(r"\n{3,}", "\n\n", text), html=html)


# ---- chat and telephone ------------------------------------------------------------------------------


def render_chat_text(notice: Notice) -> str:
    """The notice as plain text lines (Slack/Teams fallback text; the channels escape it)."""
    view = prepare(notice)
    L = view.labels
    lines = [L("[%(tags)s] %(title)s", tags=view.tags, title=view.title)]
    if view.tenant:
        lines.append(f"{L('Customer')}: {view.tenant}")
    lines += [p for p in (view.reminder, *view.summary) if p]
    if view.steps:
        lines.append(f"{L('What to do now')}:")
        lines += [f"{n}. {s}" for n, s in enumerate(view.steps, 1)]
    lines += [f"{row.label}: {row.value}" for row in view.facts]
    for item in view.items:
        link = f" {item.url}" if item.url else ""
        lines.append(f"- [{item.severity}] {item.title} ({item.device}, {item.when}){link}")
    if view.ack_url:
        lines.append(f"{L('I have seen this')}: {view.ack_url}")
    if view.portal_url:
        lines.append(f"{L('Open in the portal')}: {view.portal_url}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class PhoneText:
    say: str  # read out by text-to-speech
    sms: str  # one SMS: ≤ 70 characters with any non-ASCII character (Japanese), else ≤ 160


def fit_sms(text: str) -> str:
    """``text`` as one SMS: 160 characters when it can be plain ASCII, else 70 (UCS-2, any Japanese)."""
    ascii_text = text.replace("…", "...").replace(" · ", ", ")  # GSM-7 has neither: stay a 160-char SMS
    if ascii_text.isascii():
        return ascii_text if len(ascii_text) <= SMS_ASCII else ascii_text[: SMS_ASCII - 3] + "..."
    return text if len(text) <= SMS_UNICODE else text[: SMS_UNICODE - 1] + "…"


def render_phone(notice: Notice, branding: Branding | None = None) -> PhoneText:
    """What the telephony service says and texts: short, no links (``ack_url`` travels separately)."""
    view = prepare(notice, branding)
    L = view.labels
    parts = [L("This is an urgent call from %(brand)s.", brand=view.brand)]
    if view.tenant:
        parts.append(L("Customer %(tenant)s.", tenant=view.tenant))
    japanese = view.language == "ja"
    parts += [f"{view.tags}: {view.title}" + ("。" if japanese else "."), *view.summary[:1]]
    if view.ack_url:
        parts.append(L("Please read the e-mail we sent and acknowledge it."))
    say = one_line(("" if japanese else " ").join(parts), 500)
    sms = fit_sms(L("[%(tags)s] %(title)s - %(brand)s", tags=view.tags, title=view.title, brand=view.brand))
    return PhoneText(say=say, sms=sms)
