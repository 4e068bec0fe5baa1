"""Every channel module is in the one ``CHANNELS`` table, under its own name."""

from __future__ import annotations

import pkgutil

from mimamori.notify import channels
from mimamori.notify.channels import CHANNELS
from mimamori.notify.message import ChannelName

HELPERS = {"base", "memory"}  # shared code and the in-memory test double, not channels


def test_every_channel_module_is_registered() -> None:
    modules = {m.name for m in pkgutil.iter_modules(channels.__path__)} - HELPERS
    assert modules == {name.value for name in ChannelName}
    assert set(CHANNELS) == set(ChannelName)
