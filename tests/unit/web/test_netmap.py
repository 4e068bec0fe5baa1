"""The network map's layout: everything inside the viewBox, labels cut to fit, attention marked."""

from __future__ import annotations

from typing import Any

from mimamori.web.netmap import LABEL_CHARS, MAX_DEVICES, WIDTH, layout, short


def device(index: int, name: str, flags: list[str]) -> dict[str, Any]:
    return {"id": f"d{index}", "ip": f"192.168.1.{index}", "hostname": name, "flags": flags}


def test_labels_fit_in_half_width_columns() -> None:
    assert short("PC-01") == "PC-01"
    assert short(None) == "?"
    cut = short("A" * 40)
    assert len(cut) == LABEL_CHARS
    assert cut.endswith("…")
    japanese = short("経理部のとても長い名前のパソコン")  # a Japanese character takes two columns
    assert len(japanese) <= LABEL_CHARS // 2 + 1
    assert japanese.endswith("…")


def test_every_shape_is_inside_the_drawing() -> None:
    net = {
        "gateway": {"name": "FGT60F-<b>", "kind": "utm"},
        "subnets": [
            {"cidr": "192.168.1.0/24", "devices": [device(i, f"PC-{i}", []) for i in range(MAX_DEVICES + 5)]},
            {"cidr": "10.0.0.0/24", "devices": [device(1, "NAS", ["eol_os", "unapproved"])]},
        ],
        "services": [{"destination": f"svc{i}.example.com", "port": 443} for i in range(20)],
    }
    drawing = layout(net)
    assert len(drawing["devices"]) == MAX_DEVICES + 1  # capped per subnet
    assert len(drawing["groups"]) == 2
    for shape in [*drawing["devices"], *drawing["groups"], *drawing["services"], drawing["gateway"]]:
        assert shape["x"] >= 0
        assert shape["x"] + shape["w"] <= WIDTH
        assert shape["y"] + shape["h"] <= drawing["height"]
    nas = drawing["devices"][-1]
    assert nas["attention"]
    assert nas["eol"]
    assert not drawing["devices"][0]["attention"]
    assert drawing["gateway"]["label"] == "FGT60F-<b>"  # raw text: the template escapes it


def test_an_empty_network_still_draws_the_gateway() -> None:
    drawing = layout({"gateway": None, "subnets": [], "services": []})
    assert drawing["devices"] == []
    assert drawing["gateway"]["label"] == ""
    assert drawing["height"] > drawing["gateway"]["h"]
