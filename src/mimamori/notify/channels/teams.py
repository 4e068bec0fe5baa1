"""Microsoft Teams incoming webhook (Workflows "post to a channel when a webhook request is received",
or the older connector URL): a message with one Adaptive Card attachment.

Adaptive Card ``TextBlock`` and ``Fact`` texts are Markdown (``**bold**``, ``[label](url)`` links, lists),
and ``{{DATE(...)}}`` is a function; every value from a notice is escaped: Markdown punctuation gets a
backslash, ``{{`` is broken up. Links are only the card's own ``Action.OpenUrl`` buttons.
"""

from __future__ import annotations

import re
from typing import Any

from mimamori.notify.channels.base import ChannelSettings, ChatWebhookChannel
from mimamori.notify.message import ChannelName, Delivery
from mimamori.notify.render import View, prepare

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"
_INLINE = re.compile(r"([\\`*_{}\[\]()<>|~])")  # emphasis, code, links, mentions: anywhere
_BLOCK = re.compile(r"^(\s*)([-+#>]|\d+\.)", re.MULTILINE)  # lists and headings: at a line start


def escape(text: str) -> str:
    """``text`` shown literally by Teams' Markdown: punctuation escaped, no ``{{`` function calls."""
    escaped = _INLINE.sub(r"\\\1", text)
    escaped = _BLOCK.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], escaped)
    return escaped.replace("{{", "{\u200b{")


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def card(view: View) -> dict[str, Any]:
    """The Adaptive Card of a prepared notice."""
    L = view.labels
    urgent = view.kind in ("incident", "escalation") and view.severity_color == "#c62828"
    body: list[dict[str, Any]] = [
        _text(
            escape(f"{view.brand} · {view.tags}"),
            size="Small",
            weight="Bolder",
            color="Attention" if urgent else "Accent",
        ),
        _text(escape(view.title), size="Large", weight="Bolder"),
    ]
    if view.tenant:
        body.append(_text(escape(f"{L('Customer')}: {view.tenant}"), isSubtle=True, spacing="None"))
    if view.reminder:
        body.append(_text(escape(view.reminder), color="Attention", weight="Bolder"))
    body += [_text(escape(p)) for p in view.summary]
    if view.steps:
        body.append(_text(escape(L("What to do now")), weight="Bolder", spacing="Medium"))
        body.append(_text("\r".join(f"{n}. {escape(s)}" for n, s in enumerate(view.steps, 1))))
    if view.facts:
        facts = [{"title": escape(row.label), "value": escape(row.value)} for row in view.facts]
        body.append({"type": "FactSet", "facts": facts, "spacing": "Medium"})
    if view.items:
        body.append(_text(escape(L("Incidents")), weight="Bolder", spacing="Medium"))
        for item in view.items[:50]:
            line = f"{item.severity} {item.title} ({item.device}, {item.when})"
            body.append(_text(escape(line), spacing="Small"))
    actions: list[dict[str, Any]] = []
    if view.ack_url:
        actions.append(
            {
                "type": "Action.OpenUrl",
                "title": L("I have seen this"),
                "url": view.ack_url,
                "style": "positive",
            }
        )
    if view.portal_url:
        actions.append({"type": "Action.OpenUrl", "title": L("Open in the portal"), "url": view.portal_url})
    content: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "lang": view.language,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        content["actions"] = actions
    return content


def payload(delivery: Delivery, settings: ChannelSettings) -> dict[str, Any]:
    """The webhook body: a ``message`` with the card as its one attachment."""
    view = prepare(delivery.notice, settings.branding)
    return {
        "type": "message",
        "summary": view.title,
        "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": card(view)}],
    }


class TeamsChannel(ChatWebhookChannel):
    """Posts to a Teams incoming-webhook / Workflows URL (the contact's address)."""

    name = ChannelName.TEAMS
    payload = staticmethod(payload)
