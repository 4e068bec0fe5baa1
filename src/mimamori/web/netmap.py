"""Positions for the server-drawn network map (SVG): the gateway on top, each subnet as a box of
devices below it, the external services the devices use in a column on the right.

Pure: takes the structure of ``services.inventory.network_map`` and returns shapes with coordinates
in one ``viewBox`` (the SVG scales to the phone's width). Labels are plain strings: the template
escapes them like any other text.
"""

from __future__ import annotations

import unicodedata
from typing import Any

WIDTH = 400
LEFT_WIDTH = 270  # gateway and subnets
SIDE_X = 285  # the external services column
SIDE_WIDTH = WIDTH - SIDE_X - 5
GATEWAY_HEIGHT = 36
COLUMNS = 2  # devices per row inside a subnet box (readable on a phone)
CELL_WIDTH = 128
CELL_HEIGHT = 46
GROUP_TITLE = 22
GROUP_GAP = 16
MAX_DEVICES = 60  # drawn per subnet; the list below the map has every device
MAX_SERVICES = 8
SERVICE_HEIGHT = 30
LABEL_CHARS = 15  # in half-width characters; a Japanese character counts two
GATEWAY_CX = LEFT_WIDTH // 2
GATEWAY_CY = 10 + GATEWAY_HEIGHT // 2
ATTENTION = frozenset({"unapproved", "eol_os", "unknown_vendor"})


def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def short(text: str | None, limit: int = LABEL_CHARS) -> str:
    """``text`` cut to ``limit`` half-width columns (with an ellipsis), so a label stays in its box."""
    value = (text or "").strip() or "?"
    if sum(map(_width, value)) <= limit:
        return value
    out, used = "", 0
    for char in value:
        if used + _width(char) > limit - 1:
            break
        out += char
        used += _width(char)
    return out + "…"


def device_label(device: dict[str, Any]) -> str:
    return short(device.get("hostname") or device.get("ip") or device.get("mac"))


def layout(net: dict[str, Any]) -> dict[str, Any]:
    """``{"width", "height", "gateway", "groups", "devices", "services", "links"}`` for the template."""
    gateway_name = (net.get("gateway") or {}).get("name") or ""
    gateway: dict[str, Any] = {
        "x": 10,
        "y": 10,
        "w": LEFT_WIDTH - 20,
        "h": GATEWAY_HEIGHT,
        "label": short(gateway_name, 12) if gateway_name else "",
        "cx": GATEWAY_CX,
        "cy": GATEWAY_CY,
    }
    y = 10 + GATEWAY_HEIGHT + GROUP_GAP + 10
    groups: list[dict[str, Any]] = []
    devices: list[dict[str, Any]] = []
    links: list[dict[str, int]] = []
    for subnet in net.get("subnets", []):
        members = list(subnet.get("devices", []))[:MAX_DEVICES]
        rows = max(1, (len(members) + COLUMNS - 1) // COLUMNS)
        height = GROUP_TITLE + rows * CELL_HEIGHT + 6
        group = {"x": 5, "y": y, "w": LEFT_WIDTH - 10, "h": height, "label": short(subnet.get("cidr"), 24)}
        groups.append(group)
        links.append({"x1": GATEWAY_CX, "y1": 10 + GATEWAY_HEIGHT, "x2": GATEWAY_CX, "y2": y})
        for index, device in enumerate(members):
            column, row = index % COLUMNS, index // COLUMNS
            flags = [f for f in device.get("flags", []) if f in ATTENTION]
            devices.append(
                {
                    "id": device.get("id"),
                    "x": 12 + column * CELL_WIDTH,
                    "y": y + GROUP_TITLE + row * CELL_HEIGHT,
                    "w": CELL_WIDTH - 8,
                    "h": CELL_HEIGHT - 8,
                    "label": device_label(device),
                    "sub": short(device.get("ip") if device.get("hostname") else device.get("vendor"), 20),
                    "attention": bool(flags),
                    "eol": "eol_os" in flags,
                }
            )
        y += height + GROUP_GAP
    services = []
    for index, service in enumerate(list(net.get("services", []))[:MAX_SERVICES]):
        sy = 10 + index * (SERVICE_HEIGHT + 8)
        services.append(
            {
                "x": SIDE_X,
                "y": sy,
                "w": SIDE_WIDTH,
                "h": SERVICE_HEIGHT,
                "label": short(service.get("destination"), 14),
                "port": service.get("port"),
            }
        )
        links.append({"x1": LEFT_WIDTH - 10, "y1": GATEWAY_CY, "x2": SIDE_X, "y2": sy + SERVICE_HEIGHT // 2})
    height = max(y, 10 + len(services) * (SERVICE_HEIGHT + 8)) + 10
    return {
        "width": WIDTH,
        "height": height,
        "gateway": gateway,
        "groups": groups,
        "devices": devices,
        "services": services,
        "links": links,
    }
