"""The notification channels, one module each, in one table.

``CHANNELS[name](settings)`` makes a channel; every channel has ``send(delivery) -> str`` (the attempt
log's result) raising only ``DeliveryError`` (``retryable`` says whether a retry can help), and
``close()``. Adding a channel: a module with a class following ``base.Channel``, one line here, one
``ChannelName`` member.
"""

from __future__ import annotations

from collections.abc import Callable

from mimamori.notify.channels.base import Channel, ChannelSettings
from mimamori.notify.channels.email import EmailChannel
from mimamori.notify.channels.phone import PhoneChannel
from mimamori.notify.channels.slack import SlackChannel
from mimamori.notify.channels.teams import TeamsChannel
from mimamori.notify.channels.webhook import WebhookChannel
from mimamori.notify.message import ChannelName

CHANNELS: dict[ChannelName, Callable[[ChannelSettings], Channel]] = {
    ChannelName.EMAIL: EmailChannel,
    ChannelName.WEBHOOK: WebhookChannel,
    ChannelName.SLACK: SlackChannel,
    ChannelName.TEAMS: TeamsChannel,
    ChannelName.PHONE: PhoneChannel,
}


def make_channel(name: ChannelName, settings: ChannelSettings) -> Channel:
    """A new channel ``name`` with ``settings``."""
    return CHANNELS[name](settings)


__all__ = ["CHANNELS", "Channel", "ChannelSettings", "make_channel"]
