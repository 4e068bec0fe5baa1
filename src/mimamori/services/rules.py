"""Sigma rules as a product feature: update from a source, roll back, load for the detector, tenant policy.

``update(settings, source)`` takes a SigmaHQ release archive URL (fetched with a conditional request),
a local zip or a local directory, validates it with the real engine (pySigma load + our compiler) and
installs it as a new version only when at least one rule compiles: a broken or empty source never
replaces working rules. ``load_content`` builds the detector's ``SigmaContent`` from the current version
(the bundled starter rules until the first update), ``load_policy`` the provider's and every tenant's
switches from the settings and the database.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from mimamori.config import Settings
from mimamori.detection.sigma import compile_ruleset, load_rules
from mimamori.detection.sigma.correlation import CorrelationEngine
from mimamori.detection.sigma.detector import (
    LEVELS,
    SigmaContent,
    SigmaDetector,
    SigmaPolicy,
    TenantSigmaSettings,
)
from mimamori.errors import IngestError, NotFoundError, ValidationError
from mimamori.services.rulestore import RulesetInfo, RuleStore, content_hash, extract_rules, rule_files
from mimamori.storage import Database, read_only, unit_of_work

log = logging.getLogger(__name__)

SETTINGS_NAME = "sigma"
MAX_REASONS = 200  # skipped-rule reasons kept in a manifest
RETRIES = 3
Progress = Callable[[str, int, int | None], None]  # stage, done, total (None: unknown)


def _quiet(stage: str, done: int, total: int | None) -> None:
    return None


@dataclass(frozen=True, slots=True)
class UpdateResult:
    info: RulesetInfo
    changed: bool  # False: the source held exactly the current rules (or answered 304)
    note: str = ""


def store(settings: Settings) -> RuleStore:
    return RuleStore(settings.sigma_dir, keep=settings.sigma_keep_versions)


def bundled_rules() -> Path:
    """The small starter set shipped with mimamori (a few SigmaHQ rules, DRL 1.1)."""
    return Path(str(resources.files("mimamori") / "content" / "sigma"))


def _fetch_state(settings: Settings) -> dict[str, Any]:
    path = settings.sigma_dir / "fetch.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def fetch(settings: Settings, url: str, dest: Path, progress: Progress = _quiet) -> bool:
    """Download ``url`` to ``dest``; False when the server says it has not changed since the last fetch.

    Conditional (ETag / Last-Modified), retried with backoff on transport errors and 5xx, refused beyond
    ``sigma_max_download`` bytes.
    """
    state = _fetch_state(settings)
    previous = state.get(url, {})
    headers = {}
    if store(settings).current() is not None and isinstance(previous, dict):
        if previous.get("etag"):
            headers["If-None-Match"] = str(previous["etag"])
        if previous.get("last_modified"):
            headers["If-Modified-Since"] = str(previous["last_modified"])
    last_error: Exception | None = None
    for attempt in range(RETRIES):
        try:
            with httpx.stream("GET", url, headers=headers, follow_redirects=True, timeout=60) as response:
                if response.status_code == 304:
                    return False
                if response.status_code >= 500:
                    raise httpx.HTTPStatusError("server error", request=response.request, response=response)
                if response.status_code != 200:
                    raise IngestError(f"{url}: HTTP {response.status_code}")
                total = int(response.headers.get("content-length") or 0) or None
                if total is not None and total > settings.sigma_max_download:
                    raise ValidationError(
                        f"{url}: {total} bytes, more than the {settings.sigma_max_download} allowed"
                    )
                done = 0
                with dest.open("wb") as sink:
                    for chunk in response.iter_bytes(1 << 16):
                        done += len(chunk)
                        if done > settings.sigma_max_download:
                            raise ValidationError(f"{url}: more than {settings.sigma_max_download} bytes")
                        sink.write(chunk)
                        progress("download", done, total)
                state[url] = {
                    "etag": response.headers.get("etag"),
                    "last_modified": response.headers.get("last-modified"),
                }
            settings.sigma_dir.mkdir(parents=True, exist_ok=True)
            (settings.sigma_dir / "fetch.json").write_text(json.dumps(state), encoding="utf-8")
            return True
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            last_error = exc
            log.warning("fetching %s failed (attempt %d/%d): %s", url, attempt + 1, RETRIES, exc)
            time.sleep(min(2**attempt, 10))
    raise IngestError(f"{url}: download failed after {RETRIES} attempts: {last_error}")


def validate(rules_dir: Path, source: str, digest: str) -> RulesetInfo:
    """Load and compile the rules with the real engine; the manifest of a would-be version."""
    result = load_rules(rules_dir)
    compiled = compile_ruleset(result.rules)
    skipped = [*result.skipped, *compiled.skipped]
    now = datetime.now(UTC)
    return RulesetInfo(
        version=f"{now:%Y%m%dT%H%M%SZ}-{digest[:10]}",
        source=source,
        installed_at=now.isoformat(),
        content_hash=digest,
        files=result.files,
        loaded=len(result.rules),
        skipped=len(result.skipped),
        compiled=len(compiled.rules),
        uncompilable=len(compiled.skipped),
        correlations=len(result.correlations),
        skipped_reasons=[(str(a), str(b)) for a, b in skipped[:MAX_REASONS]],
    )


def update(settings: Settings, source: str | None = None, progress: Progress = _quiet) -> UpdateResult:
    """Fetch, validate and install ``source`` (default: ``settings.sigma_source``)."""
    source = source or settings.sigma_source
    rules = store(settings)
    stage = rules.staging()
    try:
        with tempfile.TemporaryDirectory(dir=stage) as scratch:
            staged = stage / "rules"
            if source.startswith(("http://", "https://")):
                archive = Path(scratch) / "rules.zip"
                if not fetch(settings, source, archive, progress):
                    current = rules.current()
                    if current is not None:
                        return UpdateResult(current, changed=False, note="not modified since the last fetch")
                extract_rules(archive, staged)
            else:
                local = Path(source).expanduser()
                if local.is_dir():
                    shutil.copytree(local, staged, ignore=_not_rules)
                elif local.is_file():
                    extract_rules(local, staged)
                else:
                    raise NotFoundError(f"rule source {source!r} is neither a URL, a zip nor a directory")
        files = rule_files(staged) if staged.exists() else []
        if not files:
            raise ValidationError(f"{source}: no Sigma rule files (*.yml) found")
        progress("validate", 0, len(files))
        digest = content_hash(staged, files)
        current = rules.current()
        if current is not None and current.content_hash == digest:
            return UpdateResult(current, changed=False, note="identical to the current ruleset")
        info = validate(staged, source, digest)
        progress("validate", len(files), len(files))
        if info.compiled == 0:
            raise ValidationError(
                f"{source}: none of {info.files} rule files could be used; kept the current rules"
            )
        return UpdateResult(rules.install(staged, info), changed=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _not_rules(directory: str, names: list[str]) -> list[str]:
    base = Path(directory)
    return [n for n in names if not (base / n).is_dir() and not n.lower().endswith((".yml", ".yaml"))]


def ensure_rules(settings: Settings) -> RulesetInfo:
    """The current ruleset, installing the bundled starter rules when none is installed yet.

    Several processes sharing a data directory (workers on one machine) may start at once: the first
    installs under a file lock, the others wait for it and use its ruleset.
    """
    current = store(settings).current()
    if current is not None:
        return current
    settings.sigma_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.sigma_dir / ".install.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = store(settings).current()
        if current is not None:
            return current
        return update(settings, str(bundled_rules())).info


def load_content(settings: Settings) -> SigmaContent:
    """Compile the current ruleset (and its correlations) for the detector."""
    info = ensure_rules(settings)
    started = time.perf_counter()
    result = load_rules(store(settings).rules_dir(info.version))
    ruleset = compile_ruleset(result.rules)
    correlations = CorrelationEngine(result.correlations) if result.correlations else None
    log.info(
        "Sigma ruleset %s: %d rules compiled, %d correlations, in %.1f s",
        info.version, len(ruleset.rules), len(result.correlations), time.perf_counter() - started,
    )  # fmt: skip
    return SigmaContent(ruleset=ruleset, version=info.version, correlations=correlations)


def rollback(settings: Settings) -> RulesetInfo:
    return store(settings).rollback()


# ---- policy: provider-wide switches from the settings, per tenant from the database ----------------


def _levels(values: Sequence[str]) -> frozenset[str]:
    unknown = sorted(set(values) - set(LEVELS))
    if unknown:
        raise ValidationError(f"unknown Sigma level(s) {unknown}; known: {list(LEVELS)}")
    return frozenset(values)


def provider_policy(settings: Settings) -> SigmaPolicy:
    """The provider-wide switches only (no tenant has deviations)."""
    return SigmaPolicy(
        disabled_levels=_levels(settings.sigma_disabled_levels),
        disabled_rules=frozenset(settings.sigma_disabled_rules),
    )


def load_policy(settings: Settings, db: Database) -> SigmaPolicy:
    """The provider's switches and every tenant's deviations (one read of the settings table)."""
    with read_only(db) as repos:
        documents = repos.settings.all_of(SETTINGS_NAME)
    provider = provider_policy(settings)
    return SigmaPolicy(
        disabled_levels=provider.disabled_levels,
        disabled_rules=provider.disabled_rules,
        tenants={tenant: TenantSigmaSettings.from_document(doc) for tenant, doc in documents.items()},
    )


def tenant_settings(db: Database, tenant_id: str) -> TenantSigmaSettings:
    with read_only(db) as repos:
        repos.tenants.get(tenant_id)  # NotFoundError for an unknown tenant
        document = repos.settings.get(tenant_id, SETTINGS_NAME)
    return TenantSigmaSettings.from_document(document or {})


def change_tenant_settings(
    db: Database,
    tenant_id: str,
    *,
    disable_rules: Sequence[str] = (),
    enable_rules: Sequence[str] = (),
    disabled_levels: Sequence[str] | None = None,
    placeholders: Mapping[str, Sequence[str]] | None = None,
    reset: bool = False,
) -> TenantSigmaSettings:
    """Apply switches to one tenant's Sigma settings and store them; the new settings."""
    with unit_of_work(db) as repos:
        repos.tenants.get(tenant_id)
        current = (
            TenantSigmaSettings()
            if reset
            else TenantSigmaSettings.from_document(repos.settings.get(tenant_id, SETTINGS_NAME) or {})
        )
        disabled = (set(current.disabled_rules) | set(disable_rules)) - set(enable_rules)
        enabled = (set(current.enabled_rules) | set(enable_rules)) - set(disable_rules)
        merged = dict(current.placeholders)
        for name, values in (placeholders or {}).items():
            if not name or len(name) > 128:
                raise ValidationError(f"placeholder name {name[:64]!r} must be 1-128 characters")
            if values:
                merged[name] = tuple(values)
            else:
                merged.pop(name, None)
        updated = TenantSigmaSettings(
            disabled_levels=current.disabled_levels if disabled_levels is None else _levels(disabled_levels),
            disabled_rules=frozenset(disabled),
            enabled_rules=frozenset(enabled),
            placeholders=merged,
        )
        repos.settings.put(tenant_id, SETTINGS_NAME, updated.to_document())
    return updated


def refresh(detectors: Sequence[object], settings: Settings, db: Database) -> bool:
    """Bring a running Sigma detector up to date: the policy on every call (one small read), the ruleset
    when ``rules update``/``rollback`` changed the current version. True when the ruleset was reloaded.

    Compiling runs here, off the pipeline's path; the detector swaps to the new ruleset in one step.
    """
    detector = next((d for d in detectors if isinstance(d, SigmaDetector)), None)
    if detector is None:
        return False
    policy = load_policy(settings, db)
    current = store(settings).current()
    if current is None or current.version == detector.content.version:
        detector.replace(policy=policy)
        return False
    detector.replace(content=load_content(settings), policy=policy)
    log.info("Sigma detector now runs ruleset %s", current.version)
    return True
