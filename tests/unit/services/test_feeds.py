"""Feed updates against a real local HTTP server: conditional GET, 304, 500s, truncation, bad bodies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.unit.services.feed_server import FeedServer, feed_server

from mimamori.detection import DetectorContext, build_engine
from mimamori.detection.indicators import IndicatorSet
from mimamori.errors import NotFoundError, ValidationError
from mimamori.services import Database, feeds, tenants
from mimamori.services import indicators as ind
from mimamori.storage import read_only, unit_of_work
from mimamori.storage.repositories import Observation

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "feeds"
FEODO = (SAMPLES / "feodo_ipblocklist.csv").read_bytes()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


def update(db: Database, *names: str) -> list[feeds.FeedResult]:
    return feeds.update(db, None, list(names) or None, backoff=0)


def keys(db: Database) -> set[tuple[str, str, str]]:
    with read_only(db) as repos:
        return {(r[2], r[0], r[1]) for r in repos.indicators.stream()}


def test_update_stores_indicators_then_sends_a_conditional_request_and_accepts_304(
    db: Database, server: FeedServer
) -> None:
    feeds.add_feed(db, "feodo", "feodo-csv", server.route("/ipblocklist.csv", body=FEODO, etag='"v1"'))
    (first,) = update(db)
    assert (first.status, first.indicators, first.added, first.errors) == ("updated", 3, 3, 0)
    assert ("feodo", "ip", "203.0.113.66") in keys(db)
    (second,) = update(db)
    assert second.status == "not-modified"
    assert server.requests[-1][1].get("If-None-Match") == '"v1"'
    assert server.requests[-1][1].get("If-Modified-Since") == "Wed, 25 Nov 2026 03:00:00 GMT"
    assert len(keys(db)) == 3
    (feed,) = feeds.list_feeds(db)
    assert (feed.indicator_count, feed.last_error, feed.etag) == (3, None, '"v1"')


def test_server_errors_are_retried(db: Database, server: FeedServer) -> None:
    feeds.add_feed(db, "feodo", "feodo-csv", server.route("/flaky.csv", body=FEODO, fail_first=2))
    (result,) = update(db)
    assert result.status == "updated"
    assert server.routes["/flaky.csv"].hits == 3


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ({"status": 500}, "failed after 3 attempts"),
        ({"body": FEODO, "truncate": True}, "failed after 3 attempts"),
        ({"body": b"<html>\n<h1>Maintenance</h1>\n</html>\n"}, "no Feodo Tracker rows"),
        ({"body": b"", "status": 200}, "no usable indicators"),
        ({"status": 404}, "HTTP 404"),
    ],
)
def test_a_failing_feed_keeps_its_last_good_data_and_warns(
    db: Database, server: FeedServer, route: dict[str, object], reason: str
) -> None:
    feeds.add_feed(db, "feodo", "feodo-csv", server.route("/good.csv", body=FEODO))
    update(db)
    before = keys(db)
    feeds.add_feed(db, "feodo", "feodo-csv", server.route("/bad.csv", **route))
    (result,) = update(db)
    assert result.status == "failed"
    assert reason in result.message
    assert keys(db) == before
    (feed,) = feeds.list_feeds(db)
    assert feed.last_error is not None
    assert reason in feed.last_error
    assert feed.indicator_count == 3
    (warning,) = feeds.warnings(db)
    assert warning.startswith("feed feodo: ")
    # the next good update clears the warning
    feeds.add_feed(db, "feodo", "feodo-csv", server.route("/good.csv", body=FEODO))
    assert update(db)[0].status == "updated"
    assert feeds.warnings(db) == []


def test_a_shorter_list_removes_what_the_feed_no_longer_lists(db: Database, server: FeedServer) -> None:
    url = server.route("/list.txt", body=b"192.0.2.1\n192.0.2.2\n")
    feeds.add_feed(db, "own", "plain", url)
    update(db)
    server.routes["/list.txt"].body = b"192.0.2.2\n192.0.2.3\n"
    (result,) = update(db)
    assert (result.added, result.removed) == (1, 1)
    assert {k[2] for k in keys(db)} == {"192.0.2.2", "192.0.2.3"}


def test_misp_feed_over_http(db: Database, server: FeedServer) -> None:
    base = server.route("/misp/manifest.json", body=(SAMPLES / "misp" / "manifest.json").read_bytes())
    for event in (SAMPLES / "misp").glob("*-*.json"):
        server.route(f"/misp/{event.name}", body=event.read_bytes())
    feeds.add_feed(db, "cert", "misp", base.removesuffix("/manifest.json"))
    (result,) = update(db)
    assert result.status == "updated"
    assert ("cert", "email", "invoice@phish-sender.example") in keys(db)
    assert ("cert", "ip", "198.51.100.200") in keys(db)


def test_new_indicators_are_retro_hunted_once(db: Database, server: FeedServer) -> None:
    tenant = tenants.add_tenant(db, "A社")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with unit_of_work(db) as uow:
        uow.observations.record(
            [
                Observation(
                    tenant.id, yesterday.date(), "ip", "198.51.100.77", yesterday, yesterday, 4, "192.168.1.5"
                )
            ]
        )
    feeds.add_feed(db, "feodo", "feodo-csv", server.route("/ipblocklist.csv", body=FEODO, etag='"v1"'))
    (result,) = update(db)
    assert result.retro_alerts == 1
    with read_only(db) as repos:
        (alert,) = repos.alerts.list(tenant.id)
    assert alert.title == "Earlier connection to a server now known to be malicious: 198.51.100.77"
    assert alert.evidence["indicator.retrospective"] is True
    assert alert.evidence["observed.count"] == 4
    assert alert.host == "192.168.1.5"
    assert update(db)[0].retro_alerts == 0  # 304: nothing new
    server.routes["/ipblocklist.csv"].etag = '"v2"'
    assert update(db)[0].retro_alerts == 0  # same list again: nothing new


def test_import_file_and_its_errors(db: Database, tmp_path: Path) -> None:
    result = feeds.import_file(db, SAMPLES / "threatfox_export.json", "threatfox-json")
    assert (result.name, result.indicators, result.errors) == ("import-threatfox_export", 3, 1)
    misp = feeds.import_file(db, SAMPLES / "misp", "misp", source="cert")
    assert misp.indicators == 5
    with pytest.raises(ValidationError):
        feeds.import_file(db, SAMPLES / "urlhaus.csv", "nope")
    with pytest.raises(ValidationError, match="no usable indicators"):
        feeds.import_file(db, SAMPLES / "urlhaus.csv", "feodo-csv")
    with pytest.raises(NotFoundError):
        feeds.import_file(db, tmp_path / "missing.csv", "plain")


def test_refresh_due_and_the_housekeeping_hook_reload_the_detector(db: Database, server: FeedServer) -> None:
    feeds.add_feed(db, "feodo", "feodo-csv", server.route("/ipblocklist.csv", body=FEODO))
    engine = build_engine(DetectorContext(indicators=IndicatorSet()))
    results = feeds.scheduled_refresh(db, None, engine)
    assert [r.status for r in results] == ["updated"]
    (detector,) = ind.detectors(engine)
    assert detector.indicators.match_ip("203.0.113.66") is not None
    assert feeds.refresh_due(db) == []  # attempted just now
    later = datetime.now(UTC) + timedelta(hours=2)
    assert [r.name for r in feeds.refresh_due(db, now=later)] == ["feodo"]


def test_feed_configuration_is_validated(db: Database) -> None:
    with pytest.raises(ValidationError):
        feeds.add_feed(db, "x", "no-such-format")
    with pytest.raises(ValidationError):
        feeds.add_feed(db, "manual", "plain", "/tmp/x")
    feeds.add_feed(db, "feodo", "feodo-csv")
    assert feeds.list_feeds(db)[0].url.startswith("https://feodotracker.abuse.ch/")
    with pytest.raises(NotFoundError):
        feeds.update(db, None, ["nope"])
    feeds.remove_feed(db, "feodo")
    with pytest.raises(NotFoundError):
        feeds.remove_feed(db, "feodo")


def test_local_path_feed(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("evil.example\n", encoding="utf-8")
    feeds.add_feed(db, "own", "plain", str(path))
    assert update(db)[0].status == "updated"
    path.unlink()
    (failed,) = update(db)
    assert failed.status == "failed"
    assert ("own", "domain", "evil.example") in keys(db)


def test_taxii_collection_is_paged_and_parsed_as_stix(db: Database, server: FeedServer) -> None:
    import json

    taxii = "application/taxii+json;version=2.1"
    bundle = json.loads((SAMPLES / "stix_bundle.json").read_bytes())
    objects = bundle["objects"]
    info = {"id": "c1", "title": "IOCs", "can_read": True, "can_write": False, "media_types": [taxii]}
    url = server.route("/taxii/collections/c1/", body=json.dumps(info).encode(), content_type=taxii)
    first = {"more": True, "next": "p2", "objects": objects[:3]}
    second = {"more": False, "objects": objects[3:]}
    server.route("/taxii/collections/c1/objects/", body=json.dumps(first).encode(), content_type=taxii)
    server.route(
        "/taxii/collections/c1/objects/?limit=3&next=p2",
        body=json.dumps(second).encode(),
        content_type=taxii,
    )
    feeds.add_feed(db, "partner-taxii", "taxii21", url)
    (result,) = update(db)
    assert result.status == "updated", result.message
    assert ("partner-taxii", "domain", "emotet-dl.example") in keys(db)  # from the second page
    assert ("partner-taxii", "ip", "198.51.100.99") in keys(db)
    server.routes["/taxii/collections/c1/"].status = 500
    (failed,) = update(db)
    assert failed.status == "failed"
    assert failed.message.startswith("TAXII: ")
