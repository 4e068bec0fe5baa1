"""The ``mimamori sim`` command as a plain function (the Typer wiring lives in ``mimamori.cli``)."""

# ruff: noqa: PLR0917  # run_sim's positional signature is the one the Typer wiring calls

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mimamori.sim.generate import generate
from mimamori.sim.scenarios import SCENARIOS
from mimamori.sim.send import send, write


def bind_addresses(base: str, tenants: int) -> dict[int, str]:
    """Tenant index -> local address, counting up from ``base`` (e.g. 127.0.1.1, 127.0.1.2, ...)."""
    first = ipaddress.ip_address(base)
    return {i: str(first + i) for i in range(tenants)}


def run_sim(
    scenario: str | None,
    tenants: int,
    seed: int,
    fmt: str,
    out: Path | None,
    send_url: str | None,
    token: str | None,
    duration_minutes: int,
    bind_base: str | None,
) -> int:
    """Generate a run ending now, write and/or send it, print a summary; return the exit code.

    ``scenario`` is one name, ``"all"`` or None (benign traffic only).
    """
    if scenario == "all":
        names = list(SCENARIOS)
    elif scenario:
        if scenario not in SCENARIOS:
            print(f"unknown scenario {scenario!r}; known: all, {', '.join(SCENARIOS)}")
            return 2
        names = [scenario]
    else:
        names = []
    duration = timedelta(minutes=duration_minutes)
    start = datetime.now(UTC).replace(microsecond=0) - duration
    began = time.perf_counter()
    run = generate(tenants=tenants, seed=seed, scenarios=names, fmt=fmt, start=start, duration=duration)
    elapsed = time.perf_counter() - began
    per_tenant = Counter(r.tenant_index for r in run.records)
    print(f"{len(run.records)} {fmt} records for {tenants} tenant(s) in {elapsed:.2f} s (seed {seed})")
    for tenant in run.tenants:
        print(
            f"  [{tenant.index}] {tenant.name} {tenant.subnet} {tenant.firewall_name} "
            f"{len(tenant.devices)} devices, {per_tenant[tenant.index]} records"
        )
    for truth in run.truth:
        print(
            f"  truth {truth.scenario}: tenant {truth.tenant_index} {truth.host} {truth.host_ip} "
            f"{truth.first_time:%H:%M:%S}Z {truth.detector} {truth.indicator or '-'}"
        )
    if out:
        print(f"wrote {write(run.records, out)} lines to {out}")
    if send_url:
        binds = bind_addresses(bind_base, tenants) if bind_base else None
        sent = asyncio.run(send(run.records, send_url, token=token, source_addresses=binds))
        print(f"sent {sent} records to {send_url}")
    return 0
