"""Device class and operating system from what the logs say about a device.

Pure string work, no regular expression on the hot path except for user agents (parsed only from the few
events that carry one). ``DeviceClass`` values are the inventory's classes; ``OsGuess`` carries its
evidence (which log said it, the exact text, and a confidence so the strongest evidence wins a merge).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache


class DeviceClass(enum.StrEnum):
    """What kind of device it is (端末の種類)."""

    PC = "pc"
    PHONE = "phone"
    PRINTER = "printer"
    SERVER = "server"
    NETWORK = "network"
    IOT = "iot"
    UNKNOWN = "unknown"


# Evidence confidence (0-100): FortiGate device identification fingerprints DHCP/HTTP/TCP itself.
CONFIDENCE_DEVICE_ID = 90
CONFIDENCE_SOFTWARE = 70  # Zeek software.log (a product version seen on the wire)
CONFIDENCE_USER_AGENT = 60  # an HTTP user agent (one application's claim)
CONFIDENCE_HOSTNAME = 20  # a host name hint ("...-XP")


@dataclass(frozen=True, slots=True)
class OsGuess:
    """An OS family/version guess and why: ``source`` (log), ``detail`` (the text it came from)."""

    family: str
    version: str | None
    source: str
    detail: str
    confidence: int


_CLASS_WORDS: tuple[tuple[str, DeviceClass], ...] = (
    ("printer", DeviceClass.PRINTER),
    ("mfp", DeviceClass.PRINTER),
    ("ip phone", DeviceClass.IOT),
    ("voip", DeviceClass.IOT),
    ("iphone", DeviceClass.PHONE),
    ("ipad", DeviceClass.PHONE),
    ("phone", DeviceClass.PHONE),
    ("tablet", DeviceClass.PHONE),
    ("mobile", DeviceClass.PHONE),
    ("nas", DeviceClass.SERVER),
    ("server", DeviceClass.SERVER),
    ("router", DeviceClass.NETWORK),
    ("switch", DeviceClass.NETWORK),
    ("firewall", DeviceClass.NETWORK),
    ("access point", DeviceClass.NETWORK),
    ("network", DeviceClass.NETWORK),
    ("camera", DeviceClass.IOT),
    ("media", DeviceClass.IOT),
    ("tv", DeviceClass.IOT),
    ("game", DeviceClass.IOT),
    ("iot", DeviceClass.IOT),
    ("pc", DeviceClass.PC),
    ("mac", DeviceClass.PC),
    ("laptop", DeviceClass.PC),
    ("desktop", DeviceClass.PC),
    ("workstation", DeviceClass.PC),
)

_VENDOR_WORDS: tuple[tuple[str, DeviceClass], ...] = (
    ("brother", DeviceClass.PRINTER),
    ("canon", DeviceClass.PRINTER),
    ("seiko epson", DeviceClass.PRINTER),
    ("ricoh", DeviceClass.PRINTER),
    ("kyocera", DeviceClass.PRINTER),
    ("konica", DeviceClass.PRINTER),
    ("xerox", DeviceClass.PRINTER),
    ("lexmark", DeviceClass.PRINTER),
    ("synology", DeviceClass.SERVER),
    ("qnap", DeviceClass.SERVER),
    ("fortinet", DeviceClass.NETWORK),
    ("cisco", DeviceClass.NETWORK),
    ("yamaha", DeviceClass.NETWORK),
    ("juniper", DeviceClass.NETWORK),
    ("aruba", DeviceClass.NETWORK),
    ("ubiquiti", DeviceClass.NETWORK),
    ("allied telesis", DeviceClass.NETWORK),
    ("netgear", DeviceClass.NETWORK),
    ("hikvision", DeviceClass.IOT),
    ("dahua", DeviceClass.IOT),
    ("axis communications", DeviceClass.IOT),
    ("espressif", DeviceClass.IOT),
    ("raspberry", DeviceClass.IOT),
)

_NAME_PREFIXES: tuple[tuple[str, DeviceClass], ...] = (
    ("prn", DeviceClass.PRINTER),
    ("printer", DeviceClass.PRINTER),
    ("mfp", DeviceClass.PRINTER),
    ("iphone", DeviceClass.PHONE),
    ("ipad", DeviceClass.PHONE),
    ("pixel", DeviceClass.PHONE),
    ("galaxy", DeviceClass.PHONE),
    ("android", DeviceClass.PHONE),
    ("srv", DeviceClass.SERVER),
    ("fs0", DeviceClass.SERVER),
    ("nas", DeviceClass.SERVER),
    ("dc0", DeviceClass.SERVER),
    ("mail", DeviceClass.SERVER),
    ("pc-", DeviceClass.PC),
    ("nb-", DeviceClass.PC),
    ("desktop-", DeviceClass.PC),
    ("laptop-", DeviceClass.PC),
    ("mac-", DeviceClass.PC),
)


def _words(text: str, table: tuple[tuple[str, DeviceClass], ...]) -> DeviceClass | None:
    lowered = text.lower()
    for word, cls in table:
        if word in lowered:
            return cls
    return None


@lru_cache(maxsize=8192)  # a device's hints repeat in every batch that mentions it
def device_class(
    devtype: str | None, os_family: str | None, vendor: str | None, hostname: str | None
) -> DeviceClass:
    """The class from the strongest hint: the UTM's device type, then the OS, the vendor, the host name."""
    if devtype:
        found = _words(devtype, _CLASS_WORDS)
        if found is not None:
            return found
    if os_family:
        family = os_family.lower()
        if family in ("ios", "ipados", "android"):
            return DeviceClass.PHONE
        if family in ("windows", "macos"):
            return DeviceClass.PC
    if vendor:
        found = _words(vendor, _VENDOR_WORDS)
        if found is not None:
            return found
    if hostname:
        lowered = hostname.lower()
        for prefix, cls in _NAME_PREFIXES:
            if lowered.startswith(prefix) or (
                prefix in ("iphone", "ipad", "pixel", "galaxy") and prefix in lowered
            ):
                return cls
    return DeviceClass.UNKNOWN


_FAMILIES = {
    "windows": "Windows",
    "ios": "iOS",
    "ipados": "iOS",
    "android": "Android",
    "macos": "macOS",
    "mac os x": "macOS",
    "mac os": "macOS",
    "os x": "macOS",
    "linux": "Linux",
    "chrome os": "ChromeOS",
    "chromeos": "ChromeOS",
}


def os_family(name: str) -> str:
    """A canonical family name (``Windows``, ``iOS``, ``Android``, ``macOS``, ``Linux``...)."""
    cleaned = " ".join(name.split())[:64]
    lowered = cleaned.lower()
    if lowered in _FAMILIES:
        return _FAMILIES[lowered]
    for key, family in _FAMILIES.items():
        if lowered.startswith(key):
            return family
    return cleaned


# Windows NT kernel version in a user agent → marketing name ("10.0" is 10 or 11: not distinguishable).
_NT_VERSIONS = {
    "5.0": "2000",
    "5.1": "XP",
    "5.2": "XP x64/Server 2003",
    "6.0": "Vista",
    "6.1": "7",
    "6.2": "8",
    "6.3": "8.1",
    "10.0": "10/11",
}
_UA_WINDOWS = re.compile(r"Windows NT (\d+\.\d+)")
_UA_IOS = re.compile(r"(?:iPhone|CPU) OS (\d+)[_.](\d+)")
_UA_ANDROID = re.compile(r"Android (\d+(?:\.\d+)?)")
_UA_MAC = re.compile(r"Mac OS X (\d+)[_.](\d+)")
MAX_UA = 512  # characters of a user agent looked at


def os_from_user_agent(agent: str, source: str, confidence: int = CONFIDENCE_USER_AGENT) -> OsGuess | None:
    """The OS an HTTP user agent claims, or None."""
    text = agent[:MAX_UA]
    detail = text[:200]
    if "Windows" in text:
        match = _UA_WINDOWS.search(text)
        if match:
            version = _NT_VERSIONS.get(match.group(1))
            return OsGuess("Windows", version, source, detail, confidence)
    if "iPhone" in text or "iPad" in text:
        match = _UA_IOS.search(text)
        if match:
            return OsGuess("iOS", f"{match.group(1)}.{match.group(2)}", source, detail, confidence)
    if "Android" in text:
        match = _UA_ANDROID.search(text)
        if match:
            return OsGuess("Android", match.group(1), source, detail, confidence)
    if "Mac OS X" in text:
        match = _UA_MAC.search(text)
        if match:
            return OsGuess("macOS", f"{match.group(1)}.{match.group(2)}", source, detail, confidence)
    return None
