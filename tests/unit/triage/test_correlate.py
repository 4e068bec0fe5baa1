"""Correlation: one incident per tenant, device and time window; property-tested (none lost, none twice)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.triage.samples import T0, alert, sigma_alert

from mimamori.domain import Alert
from mimamori.triage.correlate import WINDOW, OpenIncident, correlate, device_of


def test_a_kill_chain_on_one_device_is_one_incident() -> None:
    lookup = alert("a0", key="domain:x.example")
    powershell = sigma_alert("a1", "high", ("attack.execution",), at=timedelta(minutes=3))
    beacon = alert("a2", detector="beacon", key="periodic", at=timedelta(minutes=10))
    burst = alert("a3", detector="smtp_burst", key="smtp", at=timedelta(hours=2))
    (group,) = correlate([burst, beacon, powershell, lookup], [])
    assert group.alert_ids == ["a0", "a1", "a2", "a3"]  # in time order
    assert group.incident_id is None


def test_other_device_tenant_or_a_day_later_are_separate() -> None:
    groups = correlate(
        [
            alert("a0"),
            alert("a1", source_ip="192.168.1.11", host="PC-SOUMU-02"),
            alert("a2", tenant_id="t2"),
            alert("a3", at=WINDOW + timedelta(hours=1)),
        ],
        [],
    )
    assert sorted(sorted(g.alert_ids) for g in groups) == [["a0"], ["a1"], ["a2"], ["a3"]]


def test_an_open_incident_on_the_device_is_joined() -> None:
    existing = OpenIncident("inc1", "t1", "192.168.1.10", T0 - timedelta(hours=2), T0 - timedelta(hours=1))
    elsewhere = OpenIncident("inc2", "t1", "192.168.1.99", T0, T0)
    (group,) = correlate([alert("a0")], [existing, elsewhere])
    assert (group.incident_id, group.alert_ids) == ("inc1", ["a0"])


def test_device_is_the_lan_address_so_named_and_unnamed_logs_meet() -> None:
    named = alert("a0", host="PC-KEIRI-01")
    zeek = alert("a1", host=None)
    inbound = alert("a2", source_ip="203.0.113.66", destination_ip="192.168.1.10", host=None)
    assert device_of(named) == device_of(zeek) == device_of(inbound) == "192.168.1.10"
    assert device_of(alert("a3", source_ip=None, destination_ip=None, host=None)) == ""


alerts_strategy = st.lists(
    st.builds(
        lambda i, tenant, device, minutes, span: alert(
            f"a{i}",
            tenant_id=tenant,
            source_ip=f"192.168.1.{device}",
            host=None,
            at=timedelta(minutes=minutes),
            span=timedelta(minutes=span),
        ),
        st.integers(0, 10_000),
        st.sampled_from(["t1", "t2", "t3"]),
        st.integers(1, 4),
        st.integers(0, 60 * 24 * 5),
        st.integers(0, 600),
    ),
    max_size=40,
    unique_by=lambda a: a.id,
)


@settings(max_examples=150, deadline=None)
@given(alerts_strategy, st.lists(st.integers(0, 60 * 24 * 5), max_size=4))
def test_every_alert_is_placed_exactly_once_with_its_own_tenant_and_device(
    alerts: list[Alert], open_at: list[int]
) -> None:
    incidents = [
        OpenIncident(
            f"inc{n}", "t1", "192.168.1.1", T0 + timedelta(minutes=m), T0 + timedelta(minutes=m + 30)
        )
        for n, m in enumerate(open_at)
    ]
    groups = correlate(alerts, incidents)
    placed = [alert_id for g in groups for alert_id in g.alert_ids]
    assert sorted(placed) == sorted(a.id for a in alerts)  # none lost, none twice
    by_id = {a.id: a for a in alerts}
    for group in groups:
        members = [by_id[i] for i in group.alert_ids]
        assert {(a.tenant_id, device_of(a)) for a in members} == {(group.tenant_id, group.device)}
        assert group.first_seen <= min(a.first_seen for a in members)
        assert group.last_seen >= max(a.last_seen for a in members)
    # Within one (tenant, device), alerts that overlap within the window never end up in two new groups
    new_groups = [g for g in groups if g.incident_id is None]
    close_pairs = [
        (a, b)
        for a in alerts
        for b in alerts
        if a.id < b.id
        and (a.tenant_id, device_of(a)) == (b.tenant_id, device_of(b))
        and abs(a.first_seen - b.first_seen) <= timedelta(minutes=1)
    ]
    for a, b in close_pairs if not incidents else []:
        assert any(a.id in g.alert_ids and b.id in g.alert_ids for g in new_groups)
