"""Slack incoming webhook: fallback ``text`` plus Block Kit ``blocks``.

Slack's mrkdwn gives ``&``, ``<`` and ``>`` a meaning (``<!channel>`` pings everyone, ``<url|label>``
makes a link), so every value from a notice is escaped as ``&amp;``, ``&lt;`` and ``&gt;``; header blocks
are ``plain_text`` and show text as is. Slack answers 200 "ok", or 4xx (bad payload, archived channel,
revoked URL: not retryable) or 5xx/429 (retryable).
"""

from __future__ import annotations

from typing import Any

from mimamori.notify.channels.base import ChannelSettings, ChatWebhookChannel
from mimamori.notify.message import ChannelName, Delivery
from mimamori.notify.render import View, prepare, render_chat_text

MAX_TEXT = 3000  # characters of one section's text
MAX_FIELDS = 10  # fields of one section


def escape(text: str) -> str:
    """Slack mrkdwn escaping of the three control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text)}}


def blocks(view: View) -> list[dict[str, Any]]:
    """The Block Kit blocks of a prepared notice."""
    L = view.labels
    found: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(view.title or view.tags, 150)}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": _cut(escape(f"{view.tags} · {view.brand}"))}],
        },
    ]
    lead = [p for p in (view.reminder, *view.summary) if p]
    if view.tenant:
        lead.insert(0, f"{L('Customer')}: {view.tenant}")
    if lead:
        found.append(_section(escape("\n".join(lead))))
    if view.steps:
        steps = "\n".join(f"{n}. {escape(s)}" for n, s in enumerate(view.steps, 1))
        found.append(_section(f"*{escape(L('What to do now'))}*\n{steps}"))
    if view.facts:
        fields = [
            {"type": "mrkdwn", "text": _cut(f"*{escape(row.label)}*\n{escape(row.value)}", 2000)}
            for row in view.facts[:MAX_FIELDS]
        ]
        found.append({"type": "section", "fields": fields})
    if view.items:
        lines = []
        for item in view.items[:40]:
            title = (
                f"<{escape(item.url).replace('|', '%7C')}|{escape(item.title)}>"
                if item.url
                else escape(item.title)
            )
            lines.append(f"• *{escape(item.severity)}* {title} ({escape(item.device)}, {escape(item.when)})")
        found.append(_section("\n".join(lines)))
    buttons: list[dict[str, Any]] = []
    if view.ack_url:
        buttons.append(_button(L("I have seen this"), view.ack_url, "ack", primary=True))
    if view.portal_url:
        buttons.append(_button(L("Open in the portal"), view.portal_url, "portal", primary=False))
    if buttons:
        found.append({"type": "actions", "elements": buttons})
    return found


def _button(label: str, url: str, action: str, *, primary: bool) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "url": url,
        "action_id": action,
    }
    if primary:
        button["style"] = "primary"
    return button


def payload(delivery: Delivery, settings: ChannelSettings) -> dict[str, Any]:
    """The incoming-webhook body: escaped fallback ``text`` (notifications, old clients) and blocks."""
    view = prepare(delivery.notice, settings.branding)
    return {"text": _cut(escape(render_chat_text(delivery.notice))), "blocks": blocks(view)}


class SlackChannel(ChatWebhookChannel):
    """Posts to a Slack incoming-webhook URL (the contact's address)."""

    name = ChannelName.SLACK
    payload = staticmethod(payload)
