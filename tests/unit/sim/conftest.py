"""Shared fixtures: one small run of every scenario in each format, generated once per session."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta

import pytest

from mimamori.sim import SCENARIOS, SimRun, generate

START = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
KV = re.compile(r'([a-z_]+)=("(?:[^"\\]|\\.)*"|[^\s"]+)')
LINE = re.compile(
    r'^<\d{3}>(?:[a-z_]+=(?:"(?:[^"\\]|\\.)*"|[^\s"]+))(?: [a-z_]+=(?:"(?:[^"\\]|\\.)*"|[^\s"]+))*$'
)


def fields(line: bytes) -> dict[str, str]:
    """key=value pairs of a FortiGate line, quotes removed."""
    return {k: v.strip('"') for k, v in KV.findall(line.decode())}


def matches(value: str, indicator: str, kind: str) -> bool:
    """Does a field value hit an indicator of the demo list?"""
    if kind == "domain":
        host = value.split("://", 1)[-1].split("/", 1)[0].lower()
        return host == indicator or host.endswith("." + indicator)
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return address in ipaddress.ip_network(indicator) if kind == "cidr" else value == indicator


@pytest.fixture(scope="session")
def fortigate_run() -> SimRun:
    return generate(tenants=4, seed=7, scenarios=list(SCENARIOS), start=START, duration=timedelta(hours=1))


@pytest.fixture(scope="session")
def zeek_run() -> SimRun:
    return generate(
        tenants=4, seed=7, scenarios=list(SCENARIOS), fmt="zeek", start=START, duration=timedelta(hours=1)
    )
