"""``mimamori contacts``, ``mimamori oncall`` and ``mimamori notify``: who is told, the rules, the queue."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

import typer

from mimamori.cli.context import database, settings
from mimamori.errors import ValidationError
from mimamori.services import contacts, notify
from mimamori.services.notifier import Notifier

contacts_app = typer.Typer(help="A customer's contacts: who is told about incidents.", no_args_is_help=True)
oncall_app = typer.Typer(help="The SOC on-call rota.", no_args_is_help=True)
notify_app = typer.Typer(
    help="Notification rules, the delivery queue and dead letters.", no_args_is_help=True
)

TENANT = typer.Option(..., "--tenant", help="The tenant id.")
CHANNEL = typer.Option(
    None, "--channel", help="email, slack, teams, webhook, phone (repeat; default: email)."
)


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, default=str))


def _person(
    name: str | None,
    email: str | None,
    phone: str | None,
    language: str | None,
    channels: list[str] | None,
    slack: str | None,
    teams: str | None,
    webhook: str | None,
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in (("name", name), ("email", email), ("phone", phone), ("language", language)):
        if value is not None:
            values[key] = value
    if channels:
        values["channels"] = channels
    endpoints = {k: v for k, v in (("slack", slack), ("teams", teams), ("webhook", webhook)) if v}
    if endpoints:
        values["endpoints"] = endpoints
    return values


@contacts_app.command("add")
def contacts_add(
    tenant: str = TENANT,
    name: str = typer.Option(..., "--name"),
    role: str = typer.Option("", "--role", help="e.g. 総務, 代表者, IT担当."),
    email: str | None = typer.Option(None, "--email"),
    phone: str | None = typer.Option(None, "--phone", help="E.164, e.g. +81312345678."),
    language: str = typer.Option("ja", "--language", help="ja or en."),
    channel: list[str] | None = CHANNEL,
    slack: str | None = typer.Option(None, "--slack", help="Slack incoming-webhook URL."),
    teams: str | None = typer.Option(None, "--teams", help="Teams incoming-webhook URL."),
    webhook: str | None = typer.Option(None, "--webhook", help="Generic webhook URL (signed JSON)."),
    hours: str | None = typer.Option(None, "--hours", help='Reachable hours, e.g. "Mon-Fri 09:00-18:00".'),
    priority: int = typer.Option(1, "--priority", help="1 is told first; 2 when 1 does not acknowledge."),
) -> None:
    """Add a contact to a tenant."""
    values = _person(name, email, phone, language, channel, slack, teams, webhook)
    values.update({"role": role, "hours": hours, "priority": priority})
    _print(contacts.contact_to_dict(contacts.add_contact(database(), None, tenant, values)))


@contacts_app.command("list")
def contacts_list(tenant: str = TENANT, as_json: bool = typer.Option(False, "--json")) -> None:
    """The tenant's contacts, first-told first."""
    found = contacts.list_contacts(database(), None, tenant)
    if as_json:
        _print([contacts.contact_to_dict(c) for c in found])
        return
    for c in found:
        typer.echo(
            f"{c.priority} {c.id} {c.name} ({c.role or '-'}) {c.language} {','.join(c.channels)} "
            f"{c.email or '-'} {c.phone or '-'} {c.hours or 'always'}{'' if c.active else ' [inactive]'}"
        )
    if not found:
        typer.echo("no contacts: high-severity incidents go to the SOC on-call only")


@contacts_app.command("remove")
def contacts_remove(contact_id: str, tenant: str = TENANT) -> None:
    contacts.remove_contact(database(), None, tenant, contact_id)
    typer.echo(f"removed {contact_id}")


def _time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise ValidationError(f"{value!r} needs a time zone, e.g. 2026-12-01T09:00+09:00")
    return parsed


@oncall_app.command("add")
def oncall_add(
    name: str = typer.Option(..., "--name"),
    starts: str = typer.Option(..., "--from", help="Start, ISO 8601 with zone (2026-12-01T09:00+09:00)."),
    ends: str = typer.Option(..., "--to", help="End, ISO 8601 with zone."),
    level: int = typer.Option(1, "--level", help="1 primary, 2 backup."),
    email: str | None = typer.Option(None, "--email"),
    phone: str | None = typer.Option(None, "--phone"),
    language: str = typer.Option("ja", "--language"),
    channel: list[str] | None = CHANNEL,
    slack: str | None = typer.Option(None, "--slack"),
    teams: str | None = typer.Option(None, "--teams"),
) -> None:
    """Add an on-call shift."""
    values = _person(name, email, phone, language, channel, slack, teams, None)
    values.update({"level": level, "starts_at": _time(starts), "ends_at": _time(ends)})
    _print(contacts.shift_to_dict(contacts.add_shift(database(), None, values)))


@oncall_app.command("list")
def oncall_list(
    now: bool = typer.Option(False, "--now", help="Only the shifts covering this moment."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Current and future on-call shifts."""
    found = contacts.list_shifts(database(), None, current_only=now)
    if as_json:
        _print([contacts.shift_to_dict(s) for s in found])
        return
    for s in found:
        typer.echo(
            f"L{s.level} {s.id} {s.starts_at:%Y-%m-%d %H:%M}–{s.ends_at:%Y-%m-%d %H:%M} {s.name} "
            f"{','.join(s.channels)} {s.email or '-'} {s.phone or '-'}"
        )
    if not found:
        typer.echo("no on-call shifts: high-severity incidents go to MIMAMORI_SOC_EMAIL")


@oncall_app.command("remove")
def oncall_remove(shift_id: str) -> None:
    contacts.remove_shift(database(), None, shift_id)
    typer.echo(f"removed {shift_id}")


@notify_app.command("policy")
def policy(
    tenant: str = TENANT,
    medium: str | None = typer.Option(None, "--medium", help="immediate, digest or portal."),
    low: str | None = typer.Option(None, "--low", help="immediate, digest or portal."),
    escalate_after: int | None = typer.Option(None, "--escalate-after", help="Minutes before escalating 高."),
    quiet: str | None = typer.Option(
        None, "--quiet", help='Quiet hours for 中/低, e.g. "20:00-08:00" ("" off).'
    ),
    digest_at: str | None = typer.Option(
        None, "--digest-at", help="Local time of the daily digest, e.g. 08:30."
    ),
) -> None:
    """Show the tenant's notification rules, or change some of them (高 is always at once)."""
    current = settings()
    changes: dict[str, Any] = {}
    for key, value in (
        ("medium", medium),
        ("low", low),
        ("escalation_minutes", escalate_after),
        ("digest_time", digest_at),
    ):
        if value is not None:
            changes[key] = value
    if quiet is not None:
        changes["quiet_hours"] = quiet or None
    db = database(current)
    found = (
        notify.set_policy(db, None, current, tenant, changes)
        if changes
        else notify.get_policy(db, None, current, tenant)
    )
    _print(found.to_document())


@notify_app.command("status")
def status() -> None:
    """Queue totals: pending, sent, dead, and the age of the oldest undelivered notification."""
    _print(notify.status(database(), None))


@notify_app.command("list")
def list_notifications(
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant (default: all)."),
    state: str | None = typer.Option(None, "--status", help="pending, sending, sent or dead."),
    limit: int = typer.Option(100, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Notifications, newest first (``--status dead`` lists the dead letters)."""
    found = [
        notify.notification_to_dict(r)
        for r in notify.list_notifications(database(), None, tenant, status=state, limit=limit)
    ]
    if as_json:
        _print(found)
        return
    for n in found:
        typer.echo(
            f"{n['created_at'][:19]} {n['status']:<7} {n['kind']:<15} {n['channel']:<7} {n['address']} "
            f"attempts={n['attempts']} {n['title']}" + (f"  [{n['last_error']}]" if n["last_error"] else "")
        )
    if not found:
        typer.echo("no notifications")


@notify_app.command("show")
def show(notification_id: str) -> None:
    """One notification with every delivery attempt."""
    _print(notify.get_notification(database(), None, notification_id))


@notify_app.command("retry")
def retry(
    notification_id: list[str] | None = typer.Argument(None, help="Dead notifications to retry."),
    all_dead: bool = typer.Option(False, "--all-dead", help="Retry every dead notification."),
) -> None:
    """Put dead letters back into the queue (after fixing what made them fail)."""
    if not notification_id and not all_dead:
        raise ValidationError("name the notifications to retry, or pass --all-dead")
    count = notify.retry(database(), None, None if all_dead else list(notification_id or []))
    typer.echo(f"{count} notification(s) queued again")


@notify_app.command("test")
def send_test(
    channel: str = typer.Option("email", "--channel", help="email, slack, teams, webhook or phone."),
    to: str = typer.Option(..., "--to", help="Address, URL or phone number."),
    language: str = typer.Option("ja", "--language"),
) -> None:
    """Send a test message now and print the attempt (checks SMTP/webhook settings end to end)."""
    current = settings()
    db = database(current)
    notification_id = notify.queue_test(db, None, current, channel, to, language=language)
    notifier = Notifier(db, current)
    try:
        notifier.deliverer.run_once()
    finally:
        notifier.deliverer.close()
    result = notify.get_notification(db, None, notification_id)
    _print(result)
    if result["status"] != "sent":
        raise typer.Exit(1)


@notify_app.command("run")
def run(
    once: bool = typer.Option(
        False, "--once", help="One round (route, escalate, digest, deliver), then exit."
    ),
) -> None:
    """Run the notifier on its own (the embedded `serve` runs it already)."""
    current = settings()
    notifier = Notifier(database(current), current)
    if once:
        try:
            notifier.tick(schedule=True)
        finally:
            notifier.deliverer.close()
        _print(asdict(notifier.totals))
        return
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(notifier.run())
