"""``mimamori assets``: the device inventory, approval, the network map and the OUI vendor table."""

from __future__ import annotations

import json
from typing import Any

import typer

from mimamori.cli.context import database, settings
from mimamori.services import inventory

app = typer.Typer(help="The customer's devices (inventory) and network map.", no_args_is_help=True)

TENANT = typer.Option(..., "--tenant", help="The tenant id.")


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, default=str))


@app.command("list")
def list_assets(
    tenant: str = TENANT,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array."),
) -> None:
    """List the tenant's devices (端末一覧)."""
    current = settings()
    inventory.load_oui(current.data_dir)
    found = inventory.list_assets(database(current), None, tenant)
    if as_json:
        _print([inventory.asset_to_dict(a) for a in found])
        return
    for a in found:
        os_name = " ".join(x for x in (a.os_family, a.os_version) if x) or "-"
        mark = "承認済" if a.approved else "未承認"
        typer.echo(
            f"{a.id} {a.ip or '-'} {a.mac or '-'} {a.hostname or '-'} {a.vendor or '-'} "
            f"{a.device_class or 'unknown'} {os_name} {mark}"
        )
    if not found:
        typer.echo("no devices / 端末はまだありません")


@app.command("approve")
def approve(
    asset_id: str = typer.Argument(..., help="The device id (from `assets list`)."),
    tenant: str = TENANT,
) -> None:
    """Approve a device as the customer's own (端末の承認)."""
    record = inventory.approve(database(), None, tenant, asset_id)
    _print(inventory.asset_to_dict(record))


@app.command("fold")
def fold(
    tenant: str | None = typer.Option(None, "--tenant", help="The tenant id (default: every tenant)."),
) -> None:
    """Merge devices known by address only into the MAC device holding that address (重複端末の統合)."""
    merged = inventory.fold_addresses(database(), tenant)
    typer.echo(f"{merged} merged / {merged} 台を統合しました")


@app.command("map")
def network_map(
    tenant: str = TENANT,
    as_json: bool = typer.Option(False, "--json", help="Print the map as JSON."),
) -> None:
    """The tenant's network map: devices by subnet, the gateway, the external services they use."""
    data = inventory.network_map(database(), None, tenant)
    if as_json:
        _print(data)
        return
    gateway = data["gateway"]
    typer.echo(f"gateway: {gateway['name'] if gateway else '-'}")
    for subnet in data["subnets"]:
        typer.echo(f"{subnet['cidr']}:")
        for device in subnet["devices"]:
            marks = ",".join(device["flags"]) or "ok"
            typer.echo(
                f"  {device['ip'] or '-'} {device['hostname'] or '-'} {device['device_class']} [{marks}]"
            )
    for service in data["services"]:
        typer.echo(
            f"→ {service['destination']}:{service['port']} x{service['count']} ({service['devices']} devices)"
        )


@app.command("update-oui")
def update_oui(
    source: str = typer.Argument(
        inventory.IEEE_OUI_URL, help="The IEEE registry: an https:// URL or a file (oui.csv or oui.txt)."
    ),
) -> None:
    """Refresh the MAC vendor table from the IEEE registry into the data directory."""
    current = settings()
    count = inventory.update_oui(current.data_dir, inventory.fetch_registry(source))
    typer.echo(f"{count} OUI prefixes written to {current.data_dir}")
