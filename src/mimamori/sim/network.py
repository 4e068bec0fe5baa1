"""Simulated SME networks: one LAN, one FortiGate and a few dozen devices per tenant."""

# ruff: noqa: PLR0917  # the local add() helper takes one device's fields

from __future__ import annotations

import random

from mimamori.sim import catalog
from mimamori.sim.model import SimDevice, SimTenant

MAX_192_168 = 254  # tenants beyond this many get 10.x.y.0/24 LANs (192.168.x.0/24 has only 254 choices)


def random_mac(rng: random.Random, oui: str) -> str:
    """A MAC address with the given vendor OUI and random NIC bytes, lower case as FortiGate logs it."""
    nic = rng.getrandbits(24)
    return f"{oui}:{nic >> 16:02x}:{(nic >> 8) & 0xFF:02x}:{nic & 0xFF:02x}".lower()


def private_mac(rng: random.Random) -> str:
    """A randomised 'private Wi-Fi address' as phones use: locally administered, unicast."""
    first = (rng.getrandbits(8) & 0xFC) | 0x02
    rest = ":".join(f"{rng.getrandbits(8):02x}" for _ in range(5))
    return f"{first:02x}:{rest}"


def _subnets(count: int, rng: random.Random) -> list[str]:
    thirds = list(range(1, MAX_192_168 + 1))
    rng.shuffle(thirds)
    nets = [f"192.168.{x}" for x in thirds[: min(count, MAX_192_168)]]
    for i in range(max(0, count - MAX_192_168)):
        nets.append(f"10.{1 + i // 254}.{1 + i % 254}")
    return nets


def _names(count: int, rng: random.Random) -> list[tuple[str, str]]:
    combos = [(s, b) for s in catalog.SURNAMES for b in catalog.BUSINESSES]
    rng.shuffle(combos)
    names: list[tuple[str, str]] = []
    for i in range(count):
        (kanji, romaji), business = combos[i % len(combos)]
        lap = i // len(combos)
        suffix = f"{lap + 1}" if lap else ""
        names.append((f"{kanji}{business}{suffix}", f"{romaji}{suffix}"))
    return names


def _devices(index: int, prefix: str, rng: random.Random) -> tuple[SimDevice, ...]:
    devices: list[SimDevice] = []
    host = 10

    def add(name: str, mac: str, os_name: str, os_version: str, dtype: str, vendor: str, role: str) -> None:
        nonlocal host
        devices.append(SimDevice(name, f"{prefix}.{host}", mac, os_name, os_version, dtype, vendor, role))
        host += 1

    add("FS01", random_mac(rng, catalog.SYNOLOGY_OUI), "Linux", "DSM 7.2", "NAS", "Synology", "server")
    if rng.random() < 0.4:
        vendor, oui = catalog.PC_VENDORS[rng.randrange(len(catalog.PC_VENDORS))]
        add("MAIL01", random_mac(rng, oui), "Linux", "", "Server", vendor, "mail")
    p_vendor, p_oui = catalog.PRINTERS[rng.randrange(len(catalog.PRINTERS))]
    add("PRN-FUKUGOUKI-01", random_mac(rng, p_oui), "", "", "Printer", p_vendor, "printer")
    host = 21
    counters: dict[str, int] = {}
    for _ in range(rng.randint(5, 14)):
        dept = catalog.DEPARTMENTS[rng.randrange(len(catalog.DEPARTMENTS))]
        counters[dept] = counters.get(dept, 0) + 1
        vendor, oui = catalog.PC_VENDORS[rng.randrange(len(catalog.PC_VENDORS))]
        version = "11" if rng.random() < 0.45 else "10"
        add(
            f"PC-{dept}-{counters[dept]:02d}",
            random_mac(rng, oui),
            "Windows",
            version,
            "Windows PC",
            vendor,
            "pc",
        )
    for n in range(1, rng.randint(2, 4)):
        vendor, oui = catalog.PC_VENDORS[rng.randrange(len(catalog.PC_VENDORS))]
        add(f"NB-EIGYO-{n:02d}", random_mac(rng, oui), "Windows", "11", "Windows PC", vendor, "laptop")
    if rng.random() < 0.5:
        add("MAC-SEKKEI-01", random_mac(rng, catalog.APPLE_OUI), "macOS", "14.5", "Mac", "Apple", "pc")
    if index % 3 == 0:  # a legacy PC kept for software that runs only on Windows XP (seed, section 1-2)
        add("PC-SEIZOU-XP", random_mac(rng, "00:00:4C"), "Windows", "XP", "Windows PC", "NEC", "legacy")
    host = 101
    for n in range(1, rng.randint(3, 6)):
        if rng.random() < 0.7:
            add(f"iPhone-{n:02d}", private_mac(rng), "iOS", "17.5", "iPhone", "Apple", "phone")
        else:
            add(
                f"Pixel-{n:02d}",
                random_mac(rng, catalog.GOOGLE_OUI),
                "Android",
                "14",
                "Android Phone",
                "Google",
                "phone",
            )
    return tuple(devices)


def build_tenants(count: int, seed: int) -> list[SimTenant]:
    """Build ``count`` simulated tenants, deterministically from ``seed``.

    Each has a Japanese company name, its own LAN (192.168.x.0/24 for the first 254, then 10.x.y.0/24),
    a FortiGate named after the company and a serial number, and an inventory of devices. Tenants whose
    index is a multiple of 3 keep a legacy Windows XP PC (``role="legacy"``).
    """
    rng = random.Random(f"mimamori-sim-tenants:{seed}")  # noqa: S311  # simulation, not cryptography
    subnets = _subnets(count, rng)
    names = _names(count, rng)
    tenants: list[SimTenant] = []
    for index in range(count):
        trng = random.Random(f"mimamori-sim-tenant:{seed}:{index}")  # noqa: S311  # simulation, not cryptography
        model, serial_prefix = catalog.FIREWALL_MODELS[trng.randrange(len(catalog.FIREWALL_MODELS))]
        name, romaji = names[index]
        serial = f"{serial_prefix}{trng.randrange(19, 24):02d}{trng.randrange(10**6):06d}"
        wan = index + 1
        wan_ip = f"100.{64 + (wan >> 16) % 64}.{(wan >> 8) & 0xFF}.{wan & 0xFF}"  # RFC 6598 shared space
        tenants.append(
            SimTenant(
                index=index,
                name=name,
                subnet=f"{subnets[index]}.0/24",
                firewall_name=f"{model}-{romaji}",
                firewall_serial=serial,
                devices=_devices(index, subnets[index], trng),
                wan_ip=wan_ip,
            )
        )
    return tenants
