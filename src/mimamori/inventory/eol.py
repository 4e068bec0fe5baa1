"""End-of-life operating systems: no more security updates from the vendor (サポート終了OS).

The minimum supported versions are named constants, reviewed when vendors end support. Windows 10 (end
of support 2025-10-14) is not flagged: Extended Security Updates run to 2026-10 (consumer) and 2028-10
(commercial), and most SMEs cannot tell which they have; revisit when ESU ends.
"""

from __future__ import annotations

# Windows versions (as normalised by ``classify``) without security updates.
EOL_WINDOWS = frozenset(
    {"95", "98", "me", "nt", "2000", "xp", "xp x64/server 2003", "vista", "7", "8", "8.1", "rt"}
)
EOL_WINDOWS_SERVER = ("2000", "2003", "2008", "2012")  # "Server 2008 R2" and "2012 R2" included
IOS_SUPPORTED_MAJOR = 17  # iOS < 17 gets no security fixes (2026)
ANDROID_SUPPORTED_MAJOR = 13  # Android < 13: no monthly security bulletin patches (2026)
MACOS_SUPPORTED_MAJOR = 13  # macOS < 13 Ventura (10.x, 11 Big Sur, 12 Monterey)


def _major(version: str) -> int | None:
    head = version.strip().split(".", 1)[0].split(" ", 1)[0]
    return int(head) if head.isascii() and head.isdigit() and len(head) <= 4 else None


def is_eol(family: str | None, version: str | None) -> bool:
    """Whether ``family``/``version`` is an OS release its vendor no longer patches (unknown: False)."""
    if not family or not version:
        return False
    fam = family.lower()
    ver = version.strip().lower()
    if fam == "windows":
        if ver in EOL_WINDOWS:
            return True
        if "server" in ver or ver.startswith("20"):
            return any(year in ver for year in EOL_WINDOWS_SERVER)
        return False
    major = _major(ver)
    if major is None:
        return False
    if fam == "ios":
        return major < IOS_SUPPORTED_MAJOR
    if fam == "android":
        return major < ANDROID_SUPPORTED_MAJOR
    if fam == "macos":
        return major == 10 or major < MACOS_SUPPORTED_MAJOR
    return False
