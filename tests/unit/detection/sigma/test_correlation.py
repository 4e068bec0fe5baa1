"""Sigma correlation rules over a stream: each type, windows, lateness, tenants, bounds, snapshots."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule

from mimamori.detection.sigma.correlation import CorrelationEngine, CorrelationMatch
from mimamori.detection.sigma.correlation_compile import MAX_VALUE_CHARS, normalise

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FAILED_ID = "53ba33fd-3a50-4468-a5ef-c583635cfa92"


def base(name: str, event_id: int, rule_id: str | None = None) -> str:
    return f"""
title: {name}
id: {rule_id or uuid.uuid5(uuid.NAMESPACE_URL, name)}
name: {name}
level: low
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: {event_id}
    condition: selection
"""


def engine(*documents: str, **options: object) -> CorrelationEngine:
    collection = SigmaCollection.from_yaml("\n---\n".join(documents))
    correlations = [r for r in collection.rules if isinstance(r, SigmaCorrelationRule)]
    return CorrelationEngine(correlations, **options)  # type: ignore[arg-type]


def send(
    eng: CorrelationEngine, keys: str | list[str], seconds: float, tenant: str = "t1", **fields: str
) -> list[CorrelationMatch]:
    rule_keys = [keys] if isinstance(keys, str) else keys
    return eng.observe(tenant, rule_keys, T0 + timedelta(seconds=seconds), fields.get)


BRUTE = """
title: Brute force
id: 0e95725d-7320-415d-80f7-004da920fc11
level: high
tags: [attack.t1110]
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [User]
    timespan: 10m
    condition:
        gte: 3
"""


def test_event_count_fires_once_when_the_threshold_is_reached() -> None:
    eng = engine(base("failed_login", 4625, FAILED_ID), BRUTE)
    assert send(eng, "failed_login", 0, User="bob") == []
    assert send(eng, "failed_login", 60, User="bob") == []
    fired = send(eng, "failed_login", 120, User="bob")
    assert len(fired) == 1
    match = fired[0]
    assert (match.id, match.title, match.level, match.type) == (
        "0e95725d-7320-415d-80f7-004da920fc11",
        "Brute force",
        "high",
        "event_count",
    )
    assert match.tags == ("attack.t1110",)
    assert match.group == {"User": "bob"}
    assert match.count == 3
    assert (match.first, match.last) == (T0, T0 + timedelta(seconds=120))
    assert match.rules == ("failed_login",)
    assert send(eng, "failed_login", 180, User="bob") == []  # same burst: no second finding


def test_event_count_negative_cases() -> None:
    eng = engine(base("failed_login", 4625, FAILED_ID), BRUTE)
    # spread over more than the timespan
    assert [send(eng, "failed_login", s, User="bob") for s in (0, 400, 800)] == [[], [], []]
    # three users, one event each
    assert [send(eng, "failed_login", 900, User=u) for u in ("a", "b", "c")] == [[], [], []]
    # events of a rule the correlation does not reference
    assert [send(eng, "other_rule", 1000 + s, User="x") for s in range(5)] == [[]] * 5
    # the group-by field is missing
    assert [send(eng, "failed_login", 2000 + s) for s in range(5)] == [[]] * 5
    assert eng.stats["missing_field"] == 5


def test_rule_referenced_by_id_is_matched_by_id_or_name() -> None:
    by_id = BRUTE.replace("rules: [failed_login]", f"rules: [{FAILED_ID}]")
    eng = engine(base("failed_login", 4625, FAILED_ID), by_id)
    assert {FAILED_ID, "failed_login"} <= eng.referenced()
    fired = [send(eng, [FAILED_ID, "failed_login"], s, User="bob") for s in (0, 1, 2)]
    assert [len(f) for f in fired] == [0, 0, 1]  # an event matching by id and name counts once
    assert fired[2][0].count == 3


@pytest.mark.parametrize(("last", "fires"), [(600, True), (601, False)])
def test_timespan_boundary_is_inclusive(last: int, fires: bool) -> None:
    eng = engine(base("failed_login", 4625), BRUTE)
    send(eng, "failed_login", 0, User="bob")
    send(eng, "failed_login", 300, User="bob")
    assert bool(send(eng, "failed_login", last, User="bob")) is fires


def test_sustained_activity_fires_once_per_timespan_and_never_reuses_events() -> None:
    rule = BRUTE.replace("timespan: 10m", "timespan: 1m").replace("gte: 3", "gte: 2")
    eng = engine(base("failed_login", 4625), rule)
    fired_at = [s for s in range(0, 300, 10) if send(eng, "failed_login", s, User="bob")]
    # first at 10 (events 0 and 10); the next window must end after 10 + 60 and start after 10
    assert fired_at == [10, 80, 150, 220, 290]


def test_gt_needs_one_more_than_gte() -> None:
    rule = BRUTE.replace("gte: 3", "gt: 3")
    eng = engine(base("failed_login", 4625), rule)
    assert [bool(send(eng, "failed_login", s, User="bob")) for s in range(4)] == [False] * 3 + [True]


VALUE_COUNT = """
title: Password spraying
id: 0e95725d-7320-415d-80f7-004da920fc12
correlation:
    type: value_count
    rules: [failed_login]
    group-by: [IpAddress]
    timespan: 5m
    condition:
        field: TargetUserName
        gte: 3
"""


def test_value_count_counts_distinct_values() -> None:
    eng = engine(base("failed_login", 4625), VALUE_COUNT)
    for s in range(5):  # one user, many times
        assert send(eng, "failed_login", s, IpAddress="10.0.0.9", TargetUserName="bob") == []
    assert send(eng, "failed_login", 10, IpAddress="10.0.0.9", TargetUserName="alice") == []
    assert send(eng, "failed_login", 11, IpAddress="10.0.0.9") == []  # no counted field
    fired = send(eng, "failed_login", 12, IpAddress="10.0.0.9", TargetUserName="carol")
    assert len(fired) == 1
    assert fired[0].count == 3
    assert fired[0].values == ("alice", "bob", "carol")
    assert fired[0].level == "low"  # no level of its own: the highest of the referenced rules


def test_value_count_outside_the_window_or_other_group_does_not_fire() -> None:
    eng = engine(base("failed_login", 4625), VALUE_COUNT)
    assert send(eng, "failed_login", 0, IpAddress="10.0.0.9", TargetUserName="a") == []
    assert send(eng, "failed_login", 200, IpAddress="10.0.0.9", TargetUserName="b") == []
    assert send(eng, "failed_login", 301, IpAddress="10.0.0.9", TargetUserName="c") == []  # "a" left
    assert send(eng, "failed_login", 302, IpAddress="10.0.0.8", TargetUserName="d") == []
    assert send(eng, "failed_login", 303, IpAddress="10.0.0.9", TargetUserName="e")  # b, c, e


def test_value_count_state_is_bounded_under_millions_of_distinct_values() -> None:
    eng = engine(base("failed_login", 4625), VALUE_COUNT.replace("gte: 3", "gte: 1000"))
    huge = "x" * 10_000
    for i in range(3_000):
        send(eng, "failed_login", i / 1000, IpAddress="10.0.0.9", TargetUserName=f"{huge}{i}")
    # the threshold was reached (fired) and state stayed at threshold + 2 bounded-size values
    assert eng.stats["fired"] == 1
    assert eng._entries <= 1002
    assert len(eng.snapshot()) < 1002 * (MAX_VALUE_CHARS + 100)


RECON = """
title: Recon burst
id: 9d1c0d5e-6a55-4c43-8a1e-3b4f4a1f0001
level: medium
correlation:
    type: TYPE
    rules: [recon_a, recon_b, recon_c]
    group-by: [Computer]
    timespan: 5m
"""


def recon(kind: str) -> CorrelationEngine:
    return engine(base("recon_a", 1), base("recon_b", 2), base("recon_c", 3), RECON.replace("TYPE", kind))


def test_temporal_fires_when_all_rules_matched_in_any_order() -> None:
    eng = recon("temporal")
    assert send(eng, "recon_c", 0, Computer="pc1") == []
    assert send(eng, "recon_a", 10, Computer="pc1") == []
    assert send(eng, "recon_a", 20, Computer="pc2") == []  # other computer
    fired = send(eng, "recon_b", 30, Computer="pc1")
    assert [(m.group, m.count, m.rules) for m in fired] == [
        ({"Computer": "pc1"}, 3, ("recon_a", "recon_b", "recon_c"))
    ]


def test_temporal_negative_missing_rule_or_too_slow() -> None:
    eng = recon("temporal")
    assert [send(eng, k, s, Computer="pc1") for k, s in (("recon_a", 0), ("recon_a", 5), ("recon_b", 9))] == [
        [],
        [],
        [],
    ]
    assert send(eng, "recon_c", 306, Computer="pc1") == []  # recon_a's events are older than 5 minutes
    assert send(eng, "recon_a", 307, Computer="pc1")  # now all three within [7, 307]


def test_temporal_ordered_requires_the_listed_order() -> None:
    eng = recon("temporal_ordered")
    for key, s in (("recon_c", 0), ("recon_b", 1), ("recon_a", 2)):
        assert send(eng, key, s, Computer="pc1") == []  # reverse order
    assert send(eng, "recon_b", 3, Computer="pc1") == []
    fired = send(eng, "recon_c", 4, Computer="pc1")  # a(2) -> b(3) -> c(4)
    assert len(fired) == 1
    assert fired[0].type == "temporal_ordered"
    assert fired[0].count == 3


def test_temporal_ordered_with_a_lower_condition_counts_the_longest_ordered_run() -> None:
    rule = RECON.replace("TYPE", "temporal_ordered") + "    condition:\n        gte: 2\n"
    eng = engine(base("recon_a", 1), base("recon_b", 2), base("recon_c", 3), rule)
    assert send(eng, "recon_c", 0, Computer="pc1") == []
    assert send(eng, "recon_a", 1, Computer="pc1") == []
    assert send(eng, "recon_b", 2, Computer="pc1")  # a -> b


ALIASES = """
title: Error then connection between the same hosts
id: 6a0a6b6e-2f4e-4a9c-9d7e-1c2b3a4d5e6f
correlation:
    type: temporal
    rules: [internal_error, new_network_connection]
    group-by: [internal_ip, remote_ip]
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
        remote_ip:
            internal_error: source.ip
            new_network_connection: destination.ip
"""


def test_group_by_aliases_map_each_rule_to_its_own_field() -> None:
    eng = engine(base("internal_error", 500), base("new_network_connection", 3), ALIASES)
    error = {"source.ip": "203.0.113.7", "destination.ip": "10.0.0.5"}
    assert send(eng, "internal_error", 0, **error) == []
    # the same addresses with the roles the rule expects: fires
    fired = send(
        eng, "new_network_connection", 5, **{"source.ip": "10.0.0.5", "destination.ip": "203.0.113.7"}
    )
    assert [m.group for m in fired] == [{"internal_ip": "10.0.0.5", "remote_ip": "203.0.113.7"}]
    # the same field names as the error (no alias applied) would be another group: no finding
    eng2 = engine(base("internal_error", 500), base("new_network_connection", 3), ALIASES)
    send(eng2, "internal_error", 0, **error)
    assert send(eng2, "new_network_connection", 5, **error) == []


FEW = """
title: Too few heartbeats
id: 1f0c7a59-0d43-4b83-8d55-7d1b0ad2f0aa
correlation:
    type: event_count
    rules: [heartbeat]
    group-by: [Computer]
    timespan: 1h
    condition:
        lt: 3
"""


def test_lt_is_judged_when_the_window_closes_by_flush() -> None:
    eng = engine(base("heartbeat", 1), FEW)
    assert send(eng, "heartbeat", 0, Computer="quiet") == []
    assert send(eng, "heartbeat", 60, Computer="quiet") == []
    for s in (0, 10, 20):
        assert send(eng, "heartbeat", s, Computer="busy") == []
    assert eng.flush(T0 + timedelta(seconds=3600)) == []  # the window [0, 3600] is not over yet
    fired = eng.flush(T0 + timedelta(seconds=3601))
    assert [(m.group, m.count) for m in fired] == [({"Computer": "quiet"}, 2)]
    assert eng.group_count == 0  # judged windows free their groups
    assert eng.flush(T0 + timedelta(days=1)) == []


def test_lt_is_judged_when_a_later_event_of_the_group_closes_the_window() -> None:
    eng = engine(base("heartbeat", 1), FEW)
    send(eng, "heartbeat", 0, Computer="quiet")
    fired = send(eng, "heartbeat", 4000, Computer="quiet")  # opens the next window
    assert [(m.count, m.first, m.last) for m in fired] == [(1, T0, T0)]
    assert eng.flush(T0 + timedelta(seconds=4000 + 3601))[0].first == T0 + timedelta(seconds=4000)


def test_eq_needs_exactly_the_count() -> None:
    eng = engine(base("heartbeat", 1), FEW.replace("lt: 3", "eq: 2"))
    for computer, n in (("one", 1), ("two", 2), ("three", 3)):
        for s in range(n):
            send(eng, "heartbeat", s, Computer=computer)
    assert [m.group["Computer"] for m in eng.flush(T0 + timedelta(hours=2))] == ["two"]


def test_late_events_count_within_the_tolerance_and_complete_later_windows() -> None:
    rule = BRUTE.replace("timespan: 10m", "timespan: 1m")
    eng = engine(base("failed_login", 4625), rule, lateness=timedelta(seconds=30))
    assert send(eng, "failed_login", 100, User="bob") == []
    assert send(eng, "failed_login", 150, User="bob") == []
    fired = send(eng, "failed_login", 95, User="bob")  # late; window [90, 150] holds 95, 100, 150
    assert [(m.count, m.first, m.last) for m in fired] == [
        (3, T0 + timedelta(seconds=95), T0 + timedelta(seconds=150))
    ]
    assert send(eng, "failed_login", 59, User="bob") == []  # older than 150 - 60 - 30: dropped
    assert eng.stats["late"] == 1


def test_tenants_never_complete_each_others_correlations() -> None:
    eng = engine(base("failed_login", 4625), BRUTE)
    assert send(eng, "failed_login", 0, tenant="A", User="admin") == []
    assert send(eng, "failed_login", 1, tenant="A", User="admin") == []
    assert send(eng, "failed_login", 2, tenant="B", User="admin") == []
    assert send(eng, "failed_login", 3, tenant="B", User="admin") == []
    fired = send(eng, "failed_login", 4, tenant="A", User="admin")
    assert [(m.tenant_id, m.count) for m in fired] == [("A", 3)]


def test_groups_are_bounded_and_the_oldest_evicted() -> None:
    eng = engine(base("failed_login", 4625), BRUTE, max_groups=10)
    for i in range(50):
        send(eng, "failed_login", i, User=f"user{i}")
    assert eng.group_count == 10
    assert eng.stats["evicted"] == 40
    send(eng, "failed_login", 60, User="user49")
    assert send(eng, "failed_login", 61, User="user49")  # recent groups survive
    assert send(eng, "failed_login", 62, User="user0") == []  # evicted: counting starts over


def test_entry_budget_evicts_groups_too() -> None:
    eng = engine(base("failed_login", 4625), BRUTE, max_entries=20)
    for i in range(30):
        send(eng, "failed_login", i, User=f"user{i % 15}")
    assert eng._entries <= 20
    assert eng.stats["evicted"] > 0


def test_huge_group_values_are_stored_bounded() -> None:
    value = "A" * 1_000_000
    assert len(normalise(value) or "") < MAX_VALUE_CHARS
    assert normalise(value) != normalise(value[:-1] + "B")  # the digest keeps them apart
    assert normalise(4624) == normalise("4624") == normalise(4624.0)
    assert normalise(None) is None
    eng = engine(base("failed_login", 4625), BRUTE)
    assert len(send(eng, "failed_login", 0, User=value) + send(eng, "failed_login", 1, User=value)) == 0
    assert len(eng.snapshot()) < 2_000


def test_a_failing_field_lookup_is_contained() -> None:
    eng = engine(base("failed_login", 4625), BRUTE)

    def broken(field: str) -> str:
        raise RuntimeError(field)

    assert eng.observe("t1", ["failed_login"], T0, broken) == []
    assert eng.stats["value_errors"] == 1


CHAIN = """
title: Multiple failed logons followed by a successful one
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
level: high
correlation:
    type: temporal_ordered
    rules: [multiple_failed_login, successful_login]
    group-by: [User]
    timespan: 10m
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [User]
    timespan: 10m
    condition:
        gte: 3
"""


def test_correlation_of_correlations_and_generate_false() -> None:
    eng = engine(base("failed_login", 4625), base("successful_login", 4624), CHAIN)
    assert eng.non_generating() == {
        "failed_login",
        str(uuid.uuid5(uuid.NAMESPACE_URL, "failed_login")),
        "successful_login",
        str(uuid.uuid5(uuid.NAMESPACE_URL, "successful_login")),
    }
    assert "multiple_failed_login" not in eng.referenced()  # a correlation, not a base rule
    assert send(eng, "successful_login", 0, User="eve") == []  # success before the failures
    for s in (10, 20, 30):  # the inner correlation fires on 30 but generate: false keeps it internal
        assert send(eng, "failed_login", s, User="eve") == []
    fired = send(eng, "successful_login", 40, User="eve")
    assert [(m.id, m.level, m.rules) for m in fired] == [
        ("b180ead8-d58f-40b2-ae54-c8940995b9b6", "high", ("multiple_failed_login", "successful_login"))
    ]
    assert eng.stats["fired"] == 2


def test_generate_true_keeps_the_base_rules_and_wins_over_false() -> None:
    generating = BRUTE.replace("correlation:\n", "correlation:\n    generate: true\n")
    assert engine(base("failed_login", 4625), generating).non_generating() == set()
    assert engine(base("failed_login", 4625), BRUTE).non_generating() >= {"failed_login"}
    other = generating.replace("0e95725d-7320-415d-80f7-004da920fc11", "0e95725d-7320-415d-80f7-004da920fc99")
    assert engine(base("failed_login", 4625), BRUTE, other).non_generating() == set()


def test_boolean_conditions() -> None:
    # without a rules list, the rules come from the expression
    positive = RECON.replace("TYPE", "temporal").replace("    rules: [recon_a, recon_b, recon_c]\n", "")
    positive += "    condition: recon_a and (recon_b or recon_c)\n"
    eng = engine(base("recon_a", 1), base("recon_b", 2), base("recon_c", 3), positive)
    assert send(eng, "recon_c", 0, Computer="pc") == []
    assert send(eng, "recon_a", 1, Computer="pc")
    negated = positive.replace("recon_a and (recon_b or recon_c)", "recon_a and not recon_b")
    eng = engine(base("recon_a", 1), base("recon_b", 2), base("recon_c", 3), negated)
    send(eng, "recon_a", 0, Computer="pc1")
    send(eng, "recon_a", 0, Computer="pc2")
    send(eng, "recon_b", 5, Computer="pc2")
    assert [m.group for m in eng.flush(T0 + timedelta(minutes=6))] == [{"Computer": "pc1"}]


def test_unsupported_correlations_are_skipped_with_a_reason() -> None:
    summed = VALUE_COUNT.replace("value_count", "value_sum")
    eng = engine(base("failed_login", 4625), summed, BRUTE.replace("gte: 3", "gte: 50000"))
    assert set(eng.skipped) == {
        "0e95725d-7320-415d-80f7-004da920fc12",
        "0e95725d-7320-415d-80f7-004da920fc11",
    }
    assert "not supported" in eng.skipped["0e95725d-7320-415d-80f7-004da920fc12"]
    assert eng.specs == []


def test_snapshot_and_restore_carry_the_windows() -> None:
    rules = (base("failed_login", 4625), base("heartbeat", 1), BRUTE, FEW)
    eng = engine(*rules)
    send(eng, "failed_login", 0, User="bob")
    send(eng, "failed_login", 1, User="bob")
    send(eng, "failed_login", 2, tenant="t2", User="bob")
    send(eng, "heartbeat", 0, Computer="quiet")
    data = eng.snapshot()

    moved = engine(*rules)
    moved.restore(data)
    assert moved.group_count == eng.group_count == 3
    assert moved.snapshot() == data
    assert moved.stats["fired"] == 0
    fired = send(moved, "failed_login", 3, User="bob")
    assert [(m.tenant_id, m.count, m.first) for m in fired] == [("t1", 3, T0)]
    assert send(moved, "failed_login", 4, User="bob") == []  # quiet state travelled too
    assert [m.group for m in moved.flush(T0 + timedelta(hours=2))] == [{"Computer": "quiet"}]

    fewer = engine(base("failed_login", 4625), BRUTE)  # a worker without the heartbeat rule
    fewer.restore(data)
    assert fewer.group_count == 2


@pytest.mark.parametrize("data", [b"", b"[]", b'{"version": 99}', b'{"version": 1, "groups": [[1]]}'])
def test_restore_rejects_what_it_did_not_write(data: bytes) -> None:
    eng = engine(base("failed_login", 4625), BRUTE)
    with pytest.raises(ValueError, match="snapshot"):
        eng.restore(data)


def test_temporal_ordered_accepts_events_with_the_same_time() -> None:
    eng = recon("temporal_ordered")
    assert send(eng, "recon_b", 0, Computer="pc1") == []
    assert send(eng, "recon_c", 0, Computer="pc1") == []
    assert send(eng, "recon_a", 0, Computer="pc1")  # a, b, c all at 0: may have happened in order


LONELY = """
title: Host seen twice alone
id: 7c3e1b9a-1111-4d2e-9a3b-000000000001
level: critical
correlation:
    type: event_count
    rules: [lonely]
    group-by: [Computer]
    timespan: 1h
    condition:
        gte: 2
---
title: Lonely heartbeat
id: 7c3e1b9a-1111-4d2e-9a3b-000000000002
name: lonely
correlation:
    type: event_count
    rules: [heartbeat]
    group-by: [Computer]
    timespan: 10m
    condition:
        lt: 2
"""


def test_a_closing_inner_correlation_feeds_the_outer_one_from_flush() -> None:
    eng = engine(base("heartbeat", 1), LONELY)
    send(eng, "heartbeat", 0, Computer="pc1")
    assert eng.flush(T0 + timedelta(minutes=11)) == []  # inner fired (hidden), outer counts 1
    assert eng.stats["fired"] == 1
    fired = send(eng, "heartbeat", 1200, Computer="pc1")
    assert fired == []
    fired = eng.flush(T0 + timedelta(minutes=40))
    assert [(m.id, m.level, m.count, m.group) for m in fired] == [
        ("7c3e1b9a-1111-4d2e-9a3b-000000000001", "critical", 2, {"Computer": "pc1"})
    ]


def test_flush_frees_idle_sliding_groups_and_naive_times_are_utc() -> None:
    eng = engine(base("failed_login", 4625), BRUTE)
    naive = datetime(2026, 1, 5, 9, 0)
    eng.observe("t1", ["failed_login"], naive, {"User": "bob"}.get)
    fired = send(eng, "failed_login", 1, User="bob") + send(eng, "failed_login", 2, User="bob")
    assert fired[0].first == T0
    send(eng, "failed_login", 0, User="alice")
    assert eng.flush(T0 + timedelta(minutes=5)) == []
    assert eng.group_count == 2  # still within their windows
    eng.flush(T0 + timedelta(minutes=12))
    assert eng.group_count == 0
    assert eng.stats["expired"] == 2


def test_a_partition_moves_by_tenant_and_merges_with_the_state_there() -> None:
    rules = (base("failed_login", 4625), BRUTE)
    source, target = engine(*rules), engine(*rules)
    for s in (0, 1):
        send(source, "failed_login", s, tenant="moving", User="bob")
        send(source, "failed_login", s, tenant="staying", User="bob")
        send(target, "failed_login", s, tenant="resident", User="bob")
    target.restore(source.snapshot(tenants=["moving"]))
    source.forget(["moving"])
    assert (source.group_count, target.group_count) == (1, 2)
    assert [m.tenant_id for m in send(target, "failed_login", 2, tenant="moving", User="bob")] == ["moving"]
    assert [m.tenant_id for m in send(target, "failed_login", 2, tenant="resident", User="bob")] == [
        "resident"
    ]
    assert send(source, "failed_login", 2, tenant="moving", User="bob") == []  # gone from the source
