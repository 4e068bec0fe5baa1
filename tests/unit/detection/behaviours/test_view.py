"""The shared per-event view and the runner's dispatch: the same facts as the per-behaviour helpers, the
same findings and state as ``accepts``/``observe`` event by event, failures still contained."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests.unit.detection.behaviours._sim_parse import sim_events

import mimamori.detection.behaviours as runner_module
from mimamori import sim
from mimamori.detection.behaviours import BEHAVIOURS, BehaviourDetector
from mimamori.detection.behaviours._flows import address, endpoints, lan, place, port_of
from mimamori.detection.behaviours._view import View
from mimamori.detection.behaviours._view import taken as taken_by
from mimamori.detection.behaviours.base import Behaviour, BehaviourPolicy, finding
from mimamori.detection.behaviours.new_device import device_key
from mimamori.domain import Event, Finding, Severity
from mimamori.domain.network import is_lan
from mimamori.parsers import _native

T0 = datetime(2026, 11, 26, 9, tzinfo=UTC)
LOOPS = ["python", "c"] if runner_module._views_c is not None else ["python"]


@pytest.fixture(autouse=True, params=LOOPS)
def loop(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs with the runner's Python loop and with its C loop (``behaviour_views``)."""
    if request.param == "python":
        monkeypatch.setattr(runner_module, "_views_c", None)
    return str(request.param)


HOSTILE: list[Any] = [
    None,
    "",
    "x" * 70,
    7,
    -1,
    70000,
    "25",
    "0025",
    "1e3",
    ["192.168.1.5"],
    {"a": 1},
    1.5,
    True,
]
ADDRESSES = [
    "192.168.1.5",
    "10.0.0.255",
    "8.8.8.8",
    "fe80::1",
    "FD00::2",
    "224.0.0.1",
    "169.254.3.3",
    "0.0.0.0",
]


def crafted() -> list[Event]:
    """Odd and hostile events of every dataset the behaviours route on (and a few they do not)."""
    datasets = [
        "fortigate.traffic", "zeek.conn", "zeek.dns", "zeek.dhcp", "zeek.software", "zeek.http", "syslog",
        "windows.security", "windows.defender", "fortigate.utm.virus", "suricata.alert", "mde.alert", "odd",
    ]  # fmt: skip
    events = []
    for i, dataset in enumerate(datasets):
        for j, value in enumerate([*HOSTILE, *ADDRESSES]):
            src = ADDRESSES[(i + j) % len(ADDRESSES)]
            fields: dict[str, Any] = {
                "source.ip": value if j % 3 == 0 else src,
                "destination.ip": value if j % 3 == 1 else ADDRESSES[j % len(ADDRESSES)],
                "destination.port": value if j % 2 else 25,
                "source.mac": value if j % 4 == 0 else "00:1b:63:aa:bb:cc",
                "host.ip": value,
                "host.mac": "00:1b:63:aa:bb:cd",
                "source.bytes": value if j % 5 else 10**9,
                "dns.question.name": value if j % 2 else "qekynuq.com",
                "host.os.name": value if j % 3 else "Windows",
                "event.category": value if j % 4 else "authentication",
                "log.syslog.appname": "sshd",
                "message": "Failed password for root from 203.0.113.9 port 1 ssh2",
                "url.domain": value,
            }
            if j % 7 == 0:
                fields = {k: v for k, v in fields.items() if k not in ("source.ip", "destination.port")}
            events.append(Event(T0 + timedelta(seconds=i * 50 + j), "t1", dataset, fields))
    return events


def test_the_view_has_the_facts_of_the_old_helpers() -> None:
    for event in crafted():
        view = View(event)
        ends = endpoints(event)
        assert (view.src, view.dst, view.port) == ends or (
            ends is None and (view.src is None or view.dst is None)
        )
        assert view.src == address(event.fields, "source.ip")
        assert view.dst == address(event.fields, "destination.ip")
        assert view.port == port_of(event.fields.get("destination.port"))
        assert view.src_lan == (view.src is not None and is_lan(view.src) and lan(view.src))
        if view.dst is not None:
            assert view.dst_place == place(view.dst)
            assert view.dst_lan == is_lan(view.dst) == lan(view.dst)
        assert view.device == device_key(event)
        assert view.now == event.timestamp.timestamp()
        assert (view.tenant, view.dataset, view.fields, view.event) == (
            event.tenant_id,
            event.dataset,
            event.fields,
            event,
        )


def one_by_one(behaviour: Behaviour, batches: Sequence[Sequence[Event]]) -> list[Finding]:
    """The plain protocol: ``accepts`` then ``observe``, event by event, each batch tenant by tenant (as
    the runner takes them)."""
    return [
        f
        for batch in batches
        for e in sorted(batch, key=lambda e: e.tenant_id)
        if behaviour.accepts(e)
        for f in behaviour.observe(e)
    ]


def corpus() -> list[list[Event]]:
    events = [
        *sim_events("fortigate", tuple(sim.SCENARIOS), 3, 2)[0],
        *sim_events("zeek", tuple(sim.SCENARIOS), 3, 2)[0],
    ]
    events.sort(key=lambda e: e.timestamp)
    events[len(events) // 2 : len(events) // 2] = crafted()
    return [events[i : i + 500] for i in range(0, len(events), 500)]


@pytest.mark.parametrize("name", sorted(BEHAVIOURS))
def test_dispatch_gives_what_accepts_and_observe_give(name: str) -> None:
    policy = BehaviourPolicy()
    batches = corpus()
    plain = BEHAVIOURS[name](policy)
    expected = one_by_one(plain, batches)
    runner = BehaviourDetector([BEHAVIOURS[name](policy)], policy)
    found = [f for batch in batches for f in runner.detect(batch)]
    assert found == expected
    assert runner.errors == {}
    same = json.dumps(runner.behaviours[0].snapshot(), sort_keys=True)
    assert same == json.dumps(plain.snapshot(), sort_keys=True)
    # ``route`` (with its per-event test) takes exactly the events ``accepts`` takes.
    route = runner._route
    for event in (e for batch in batches for e in batch):
        taken = False
        for _, needed, wants, _, _, _ in route(event.dataset):
            has = needed is None or taken_by(event.fields, needed)
            taken = has and (wants is None or wants(View(event)))
        assert taken == plain.accepts(event), (name, event.dataset)


def test_every_behaviour_is_run_with_views_and_findings_keep_the_behaviours_order() -> None:
    runner = BehaviourDetector.build(BehaviourPolicy())
    assert all(hasattr(b, "see") and hasattr(b, "route") for b in runner.behaviours)
    found = [f for batch in corpus() for f in runner.detect(batch)]
    order = [b.name for b in runner.behaviours]
    for batch in corpus()[:1]:
        names = [f.detector for f in BehaviourDetector.build(BehaviourPolicy()).detect(batch)]
        ranks = [order.index(n if n != "ids_alert" else "utm_virus") for n in names]
        assert ranks == sorted(ranks)
    assert found


class Fragile:
    """A view-reading behaviour that fails on its second event of a batch."""

    name = "fragile"

    def __init__(self) -> None:
        self.seen = 0

    def accepts(self, event: Event) -> bool:
        return True

    def observe(self, event: Event) -> Iterable[Finding]:
        return self.see(View(event))

    def route(self, dataset: str) -> bool:
        return True

    def see(self, view: View) -> Iterable[Finding]:
        self.seen += 1
        if self.seen == 2:
            raise RuntimeError("bug")
        return (
            finding(self.name, view.event, key="k", title="t", severity=Severity.LOW, tags=(), evidence={}),
        )

    def snapshot(self) -> dict[str, Any]:
        return {}

    def restore(self, state: Any) -> None:
        return None


def test_a_failing_view_behaviour_skips_the_rest_of_its_batch_only() -> None:
    fragile = Fragile()
    counting = Fragile()
    counting.name, counting.seen = "steady", -(10**9)
    runner = BehaviourDetector([fragile, counting])
    events = [
        Event(T0 + timedelta(seconds=i), "t1", "zeek.conn", {"source.ip": "192.168.1.5"}) for i in range(5)
    ]
    found = list(runner.detect(events))
    assert [f.detector for f in found] == ["fragile"] + ["steady"] * 5  # its first finding is kept
    assert runner.errors == {"fragile": 1}
    assert fragile.seen == 2  # not called again in that batch
    assert [f.detector for f in runner.detect(events[:1])] == ["fragile", "steady"]  # next batch: back


@pytest.mark.parametrize(
    "source",
    [
        "192.168.1.20", "10.0.0.5", "172.16.3.4", "172.32.0.1", "fd00::1", "FE80::1", "fe80::1%eth0",
        "203.0.113.9", "8.8.8.8", "2001:db8::1", "::ffff:10.0.0.1", "", " 10.0.0.5", "x" * 65, None, 7,
    ],
)  # fmt: skip
@pytest.mark.parametrize("mac", ["00:1b:63:aa:bb:cc", "junk", "00:00:00:00:00:00", None, 5])
def test_the_device_is_device_key_for_lan_internet_and_odd_sources(source: Any, mac: Any) -> None:
    # The view asks ``device_of`` only about LAN sources (the Internet's addresses are answered without
    # parsing them); the device must still be the one ``device_key`` finds.
    fields = {k: v for k, v in (("source.ip", source), ("source.mac", mac)) if v is not None}
    for dataset in ("zeek.conn", "fortigate.traffic", "zeek.dhcp"):
        event = Event(T0, "t1", dataset, {**fields, "host.ip": source, "host.mac": mac})
        assert View(event).device == device_key(event)


SLOTS = View.__slots__


@pytest.mark.skipif(_native.behaviour_views is None, reason="the C speedups are not built")
def test_the_c_loop_builds_the_views_the_python_class_builds() -> None:
    events = [e for batch in corpus() for e in batch]
    events.append(Event(T0, "t1", "zeek.conn", _Mapping({"source.ip": "192.168.1.5"})))  # not a dict
    seen: list[View] = []
    assert _native.behaviour_views is not None
    _native.behaviour_views(
        events,
        {},
        lambda dataset: ((0, None, None, seen.append, None, None),),
        [[]],
        lambda i, e: pytest.fail(str(e)),
    )
    assert len(seen) == len(events)
    for view, event in zip(seen, events, strict=True):
        python = View(event)
        assert type(view) is View
        for slot in SLOTS:
            mine, theirs = getattr(view, slot), getattr(python, slot)
            assert mine == theirs, (slot, event.fields)
            assert type(mine) is type(theirs), (slot, event.fields)


class _Mapping(dict[str, Any]):
    """Fields of another mapping type (the C loop hands it to ``View.__init__``)."""


def test_an_unreadable_event_is_counted_and_skipped() -> None:
    steady = Fragile()
    steady.name, steady.seen = "steady", -(10**9)
    runner = BehaviourDetector([steady])
    bad = Event("not a time", "t1", "zeek.conn", {"source.ip": "192.168.1.5"})  # type: ignore[arg-type]
    good = Event(T0, "t1", "zeek.conn", {"source.ip": "192.168.1.5"})
    found = list(runner.detect([good, bad, good]))
    assert [f.detector for f in found] == ["steady", "steady"]
    assert runner.errors == {"view": 1}


class _Interrupting(Fragile):
    def see(self, view: View) -> Iterable[Finding]:
        raise KeyboardInterrupt


def test_an_interrupt_is_not_swallowed() -> None:
    runner = BehaviourDetector([_Interrupting()])
    with pytest.raises(KeyboardInterrupt):
        list(runner.detect([Event(T0, "t1", "zeek.conn", {"source.ip": "192.168.1.5"})]))
    assert runner.errors == {}


@pytest.mark.parametrize("text", ["²", "٣", "①", "2²", " 25", "+25", "-1", "65536"])
def test_port_of_takes_ascii_digits_only(text: str) -> None:
    assert port_of(text) == -1
    assert port_of("25") == 25


_VIEW_FIELDS = ("source.ip", "destination.ip", "destination.port", "source.mac", "host.ip", "host.mac")
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.binary(max_size=8),
    st.sampled_from([*ADDRESSES, "00:1b:63:aa:bb:cc", "00-1B-63-AA-BB-CD", "25", "x" * 65, "", "-"]),
    st.text(max_size=70),
    st.lists(st.sampled_from(ADDRESSES), max_size=2),
)


@pytest.mark.skipif(_native.behaviour_views is None, reason="the C speedups are not built")
@settings(max_examples=300, deadline=None)
@example(fields={"destination.port": "²"}, dataset="zeek.conn", offset=0)  # CI's failure
@given(
    fields=st.dictionaries(st.sampled_from(_VIEW_FIELDS), _VALUES, max_size=6),
    dataset=st.sampled_from(["zeek.conn", "zeek.dhcp", "zeek.known_hosts", "fortigate.traffic", "odd"]),
    offset=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_the_c_view_equals_the_python_view_on_hostile_fields(
    fields: dict[str, Any], dataset: str, offset: int
) -> None:
    when = (T0 + timedelta(minutes=offset)).astimezone(timezone(timedelta(minutes=offset)))
    event = Event(when, "t1", dataset, fields)
    seen: list[View] = []
    assert _native.behaviour_views is not None
    _native.behaviour_views(
        [event],
        {},
        lambda d: ((0, None, None, seen.append, None, None),),
        [[]],
        lambda i, e: pytest.fail(str(e)),
    )
    python = View(event)
    for slot in SLOTS:
        assert getattr(seen[0], slot) == getattr(python, slot), slot
        assert type(getattr(seen[0], slot)) is type(getattr(python, slot)), slot


@pytest.mark.skipif(_native.behaviour_views is None, reason="the C speedups are not built")
@pytest.mark.parametrize(
    "when",
    [
        datetime(1, 1, 1, tzinfo=UTC),  # beyond a double's exact microseconds: the method
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 11, 26, 9, 0, 0, 123_457, tzinfo=UTC),
        datetime(2255, 6, 1, 0, 0, 0, 999_999, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 11, 26, 9, tzinfo=timezone(timedelta(hours=9))),  # not UTC: the method
    ],
)
def test_the_c_view_reads_the_epoch_seconds_as_timestamp_does(when: datetime) -> None:
    seen: list[View] = []
    assert _native.behaviour_views is not None
    _native.behaviour_views(
        [Event(when, "t1", "zeek.conn", {})],
        {},
        lambda d: ((0, None, None, seen.append, None, None),),
        [[]],
        lambda i, e: pytest.fail(str(e)),
    )
    assert type(seen[0].now) is float
    assert seen[0].now == when.timestamp()
