"""Estimated damage if the incident had not been caught (被害想定額): a range with its breakdown.

The model is deliberately simple and fully shown: one or more lines per JNSA loss category, each a
[low, high] product of a parameter from ``content/damage/model.toml`` (with its source) and a figure of
the tenant's profile. An SME owner reads "¥20M–¥57M" and, under it, what each part is made of; nothing
is a bare number. Parameters change in the data file (with a new version), not here.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

Range = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Profile:
    """What the estimate needs to know of the customer; defaults come from the data file."""

    employees: int
    annual_sales_yen: int
    personal_records: int
    downtime_days: Range | None = None  # the customer's own estimate of a stoppage, if given


@dataclass(frozen=True, slots=True)
class Line:
    category: str  # one of the six JNSA categories
    item: str  # what the line is, e.g. "forensic_pc"
    low_yen: int
    high_yen: int
    basis: str  # how it was computed, in words and figures
    source: str  # key of [sources] in the data file ("" for the customer's own figures)


@dataclass(frozen=True, slots=True)
class Estimate:
    model_version: str
    incident_type: str
    low_yen: int
    high_yen: int
    lines: tuple[Line, ...]

    def to_dict(self, model: DamageModel | None = None) -> dict[str, Any]:
        """The JSON shape: ``low_yen``, ``high_yen`` and a ``breakdown`` with ja/en labels."""
        model = model or damage_model()
        return {
            "low_yen": self.low_yen,
            "high_yen": self.high_yen,
            "model_version": self.model_version,
            "incident_type": self.incident_type,
            "incident_type_label": model.type_label(self.incident_type),
            "breakdown": [
                {
                    "category": line.category,
                    "label": model.categories[line.category],
                    "item": line.item,
                    "low_yen": line.low_yen,
                    "high_yen": line.high_yen,
                    "basis": line.basis,
                    "source": model.sources.get(line.source, ""),
                }
                for line in self.lines
            ],
        }


@dataclass(frozen=True, slots=True)
class DamageModel:
    version: str
    business_days: int
    categories: Mapping[str, Mapping[str, str]]
    sources: Mapping[str, str]
    reference: Mapping[str, Mapping[str, Any]]
    default_profile: Profile
    sales_bands: Mapping[str, int]
    types: Mapping[str, Mapping[str, Any]]
    type_of_category: Mapping[str, str]

    def type_label(self, name: str) -> dict[str, str]:
        spec = self.types[name]
        return {"ja": str(spec["ja"]), "en": str(spec["en"])}

    def incident_type(self, category: str, *, blocked: bool) -> str:
        if blocked:
            return self.type_of_category["blocked"]
        return self.type_of_category.get(category, self.type_of_category["fallback"])

    def profile(self, document: Mapping[str, Any] | None) -> Profile:
        """A profile from a tenant's settings document; missing or bad values fall back to the default."""
        base = self.default_profile
        if not document:
            return base

        def number(name: str, fallback: int) -> int:
            value = document.get(name)
            return (
                int(value)
                if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
                else fallback
            )

        sales = number("annual_sales_yen", -1)
        if sales < 0:
            sales = self.sales_bands.get(str(document.get("sales_band", "")), base.annual_sales_yen)
        downtime = document.get("downtime_days")
        days: Range | None = None
        if (
            isinstance(downtime, list | tuple)
            and len(downtime) == 2
            and all(isinstance(d, int | float) and not isinstance(d, bool) and d >= 0 for d in downtime)
        ):
            days = (float(min(downtime)), float(max(downtime)))
        return Profile(
            employees=max(1, number("employees", base.employees)),
            annual_sales_yen=sales,
            personal_records=number("personal_records", base.personal_records),
            downtime_days=days,
        )


@cache
def damage_model() -> DamageModel:
    path = resources.files("mimamori") / "content" / "damage" / "model.toml"
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    default = data["default_profile"]
    return DamageModel(
        version=str(data["version"]),
        business_days=int(data["business_days_per_year"]),
        categories=data["categories"],
        sources=data["sources"],
        reference=data["reference"],
        default_profile=Profile(
            int(default["employees"]), int(default["annual_sales_yen"]), int(default["personal_records"])
        ),
        sales_bands=data["sales_bands"],
        types=data["types"],
        type_of_category=data["type_of_category"],
    )


def _pair(value: Any) -> Range:
    low, high = value
    return float(low), float(high)


def _yen(value: float) -> int:
    return int(round(value, -3))  # to the thousand yen: more precision would be false precision


def estimate(incident_type: str, profile: Profile, model: DamageModel | None = None) -> Estimate:
    """The damage range of ``incident_type`` for a customer of ``profile``."""
    model = model or damage_model()
    spec = model.types[incident_type]
    ref = model.reference
    lines: list[Line] = []

    def add(what: tuple[str, str], low: float, high: float, basis: str, source: str) -> None:
        lines.append(Line(what[0], what[1], _yen(low), _yen(max(low, high)), basis, source))

    ratio_low, ratio_high = _pair(spec["pcs_ratio"])
    pcs_low = max(1, math.ceil(profile.employees * ratio_low)) if ratio_low > 0 else 0
    pcs_high = max(1, math.ceil(profile.employees * ratio_high)) if ratio_high > 0 else 0
    pc_low, pc_high = _pair((ref["forensic_pc"]["low"], ref["forensic_pc"]["high"]))
    if pcs_high:
        add(
            ("response", "forensic_pc"),
            pcs_low * pc_low,
            pcs_high * pc_high,
            f"{pcs_low}-{pcs_high} PC x {pc_low:,.0f}-{pc_high:,.0f} yen",
            "forensic",
        )
    servers_low, servers_high = _pair(spec["servers"])
    if servers_high:
        sv = ref["forensic_server"]
        add(
            ("response", "forensic_server"),
            servers_low * sv["low"],
            servers_high * sv["high"],
            f"{servers_low:.0f}-{servers_high:.0f} server x {sv['low']:,}-{sv['high']:,} yen",
            "forensic",
        )
    if spec["scope_investigation"]:
        scope = ref["scope_investigation"]
        add(
            ("response", "scope_investigation"),
            scope["low"],
            scope["high"],
            "cause-and-scope investigation for an SME",
            "scope",
        )
    share_low, share_high = _pair(spec["personal_data_share"])
    records = profile.personal_records
    if share_high and records:
        per = ref["apology_per_person"]
        add(
            ("compensation", "apology"),
            records * share_low * per["low"],
            records * share_high * per["high"],
            f"{share_low:.0%}-{share_high:.0%} of {records:,} records x {per['low']:,} yen",
            "apology",
        )
        if spec["call_centre"] and records >= 1000:
            cc = ref["call_centre"]
            add(
                ("compensation", "call_centre"),
                cc["low"],
                cc["high"],
                "call centre for three months",
                "call_centre",
            )
    days_low, days_high = profile.downtime_days or _pair(spec["downtime_days"])
    daily = profile.annual_sales_yen / model.business_days
    add(
        ("lost_profit", "downtime"),
        days_low * daily,
        days_high * daily,
        f"{days_low:g}-{days_high:g} days x {daily:,.0f} yen of sales per business day",
        "",
    )
    direct_low, direct_high = _pair(spec["direct_loss_yen"])
    add(("direct_loss", "direct_loss"), direct_low, direct_high, "money paid out to fraud or ransom", "jnsa")
    fines_low, fines_high = _pair(spec["fines_yen"])
    add(("fines", "fines"), fines_low, fines_high, "administrative fines (rare for Japanese SMEs)", "jnsa")
    trust_low, trust_high = _pair(spec["intangible_sales_ratio"])
    add(
        ("intangible", "lost_customers"),
        profile.annual_sales_yen * trust_low,
        profile.annual_sales_yen * trust_high,
        f"{trust_low:.1%}-{trust_high:.1%} of annual sales lost with customers' trust (assumption)",
        "jnsa",
    )
    return Estimate(
        model_version=model.version,
        incident_type=incident_type,
        low_yen=sum(line.low_yen for line in lines),
        high_yen=sum(line.high_yen for line in lines),
        lines=tuple(lines),
    )
