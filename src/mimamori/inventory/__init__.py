"""The customer's device inventory, built passively from the logs (a pure stage: no I/O but content).

``observe(event)`` extracts what one event says about one LAN device (``DeviceFacts``); ``summarise``
merges a batch's facts per device (strongest evidence wins); ``classify`` names device classes and OS
guesses, ``eol`` end-of-life OS releases, ``oui`` MAC vendors; ``netmap`` shapes the network map.
"""

from mimamori.inventory.classify import DeviceClass, OsGuess, device_class, os_from_user_agent
from mimamori.inventory.eol import is_eol
from mimamori.inventory.facts import DeviceFacts, observe
from mimamori.inventory.merge import DeviceRecorder, DeviceSummary, ServiceUse, summarise, summarise_events
from mimamori.inventory.oui import OuiTable, default_table, is_private_mac, normalise_mac, use_table

__all__ = [
    "DeviceClass",
    "DeviceFacts",
    "DeviceRecorder",
    "DeviceSummary",
    "OsGuess",
    "OuiTable",
    "ServiceUse",
    "default_table",
    "device_class",
    "is_eol",
    "is_private_mac",
    "normalise_mac",
    "observe",
    "os_from_user_agent",
    "summarise",
    "summarise_events",
    "use_table",
]
