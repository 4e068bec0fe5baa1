"""services.rules: update from a directory, a zip and a real HTTP server; validation; rollback; policy."""

from __future__ import annotations

import http.server
import shutil
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from tests.conftest import operational_url

from mimamori.config import Settings
from mimamori.detection.sigma.detector import SigmaDetector
from mimamori.errors import NotFoundError, ValidationError
from mimamori.services import Database, rules
from mimamori.services.tenants import add_tenant

RULE = """title: {title}
id: {id}
status: test
level: high
logsource: {{product: windows, service: security}}
detection:
  selection: {{EventID: 1102}}
  condition: selection
"""


def _rules_dir(root: Path, count: int = 2, title: str = "Log cleared") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        ident = f"00000000-0000-0000-0000-00000000000{i}"
        (root / f"rule_{i}.yml").write_text(RULE.format(title=f"{title} {i}", id=ident))
    return root


def _zip_of(directory: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as bundle:
        for path in directory.rglob("*.yml"):
            bundle.write(path, f"rules/windows/{path.name}")
    return target


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", demo=True)


def test_first_use_installs_the_bundled_starter_rules(settings: Settings) -> None:
    info = rules.ensure_rules(settings)
    assert info.compiled >= 20
    assert info.source == str(rules.bundled_rules())
    assert rules.ensure_rules(settings) == info  # idempotent
    content = rules.load_content(settings)
    assert content.version == info.version
    assert len(content.ruleset.rules) == info.compiled


def test_update_from_directory_then_zip_then_rollback(settings: Settings, tmp_path: Path) -> None:
    source = _rules_dir(tmp_path / "src")
    first = rules.update(settings, str(source))
    assert first.changed
    assert first.info.files == 2
    assert first.info.compiled == 2
    again = rules.update(settings, str(source))
    assert not again.changed
    assert again.info.version == first.info.version
    _rules_dir(source, count=3, title="Changed")
    second = rules.update(settings, str(_zip_of(source, tmp_path / "r.zip")))
    assert second.changed
    assert second.info.compiled == 3
    assert rules.store(settings).previous() == first.info
    assert rules.rollback(settings).version == first.info.version
    assert rules.load_content(settings).version == first.info.version


def test_broken_or_empty_sources_never_replace_the_current_rules(settings: Settings, tmp_path: Path) -> None:
    good = rules.update(settings, str(_rules_dir(tmp_path / "good"))).info
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValidationError, match="no Sigma rule files"):
        rules.update(settings, str(empty))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.yml").write_text("title: [unclosed\n")
    (broken / "b.yml").write_text("not: a rule\n")
    with pytest.raises(ValidationError, match="none of 2"):
        rules.update(settings, str(broken))
    with pytest.raises(NotFoundError):
        rules.update(settings, str(tmp_path / "missing"))
    assert rules.store(settings).current() == good
    assert not list((settings.sigma_dir).glob(".staging-*"))  # nothing left behind


def test_a_bad_rule_is_skipped_with_its_path_and_the_rest_installed(
    settings: Settings, tmp_path: Path
) -> None:
    source = _rules_dir(tmp_path / "src")
    (source / "bad.yml").write_text(
        "title: broken\nlogsource: {product: windows}\ndetection: {condition: x}\n"
    )
    info = rules.update(settings, str(source)).info
    assert info.compiled == 2
    assert info.files == 3
    assert any("bad.yml" in path for path, _ in info.skipped_reasons)


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: ClassVar[list[dict[str, str]]] = []

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        type(self).requests.append(dict(self.headers))
        if self.path == "/flaky" and len(type(self).requests) == 1:
            self.send_error(503)
            return
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.end_headers()
            return
        data = (Path(self.directory) / "rules.zip").read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", '"v1"')
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    served = tmp_path / "www"
    served.mkdir()
    _zip_of(_rules_dir(tmp_path / "upstream"), served / "rules.zip")
    _Handler.requests = []

    def handler(*args: object, **kwargs: object) -> _Handler:
        return _Handler(*args, directory=str(served), **kwargs)  # type: ignore[arg-type]

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_update_from_a_real_http_server_with_a_conditional_refetch(settings: Settings, server: str) -> None:
    seen: list[tuple[str, int]] = []
    result = rules.update(settings, f"{server}/flaky", progress=lambda s, d, t: seen.append((s, d)))
    assert result.changed
    assert result.info.compiled == 2
    assert len(_Handler.requests) == 2  # the 503 was retried
    assert ("download", result.info and seen[0][1]) in seen
    again = rules.update(settings, f"{server}/flaky")
    assert not again.changed
    assert "not modified" in again.note
    assert _Handler.requests[-1].get("If-None-Match") == '"v1"'


def test_download_size_limit(settings: Settings, server: str) -> None:
    small = settings.model_copy(update={"sigma_max_download": 100})
    with pytest.raises(ValidationError, match="bytes"):
        rules.update(small, f"{server}/rules.zip")
    assert rules.store(small).current() is None


def test_tenant_settings_round_trip_and_policy(settings: Settings, tmp_path: Path) -> None:
    db = Database(operational_url(tmp_path))
    db.migrate()
    a = add_tenant(db, "A")
    b = add_tenant(db, "B")
    with pytest.raises(NotFoundError):
        rules.change_tenant_settings(db, "nope", disable_rules=["x"])
    with pytest.raises(ValidationError, match="unknown Sigma level"):
        rules.change_tenant_settings(db, a.id, disabled_levels=["loud"])
    changed = rules.change_tenant_settings(
        db, a.id, disable_rules=["r1"], disabled_levels=["low"], placeholders={"Admins": ["taro", "hanako"]}
    )
    assert rules.tenant_settings(db, a.id) == changed
    changed = rules.change_tenant_settings(db, a.id, enable_rules=["r1"], placeholders={"Admins": []})
    assert changed.disabled_rules == frozenset()
    assert changed.enabled_rules == {"r1"}
    assert changed.placeholders == {}
    assert changed.disabled_levels == {"low"}
    policy = rules.load_policy(settings, db)
    assert not policy.allows(a.id, "r2", "low")
    assert policy.allows(b.id, "r2", "low")
    assert not policy.allows(b.id, "r2", "informational")  # the provider default
    assert policy.allows(a.id, "r2", "informational")  # A chose its own levels
    reset = rules.change_tenant_settings(db, a.id, reset=True)
    assert reset.disabled_levels is None
    assert not reset.enabled_rules


def test_refresh_swaps_ruleset_and_policy(settings: Settings, tmp_path: Path) -> None:
    db = Database(operational_url(tmp_path))
    db.migrate()
    content = rules.load_content(settings)
    detector = SigmaDetector(content)
    assert not rules.refresh([detector], settings, db)  # nothing changed
    rules.update(settings, str(_rules_dir(tmp_path / "src", count=1)))
    assert rules.refresh([object(), detector], settings, db)
    assert len(detector.content.ruleset.rules) == 1
    tenant = add_tenant(db, "T")
    rules.change_tenant_settings(db, tenant.id, disable_rules=["x"])
    rules.refresh([detector], settings, db)
    assert not detector.policy.allows(tenant.id, "x", "high")
    shutil.rmtree(settings.sigma_dir)
    assert not rules.refresh([], settings, db)
