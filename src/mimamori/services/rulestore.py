"""Installed Sigma rulesets on disk: versions, the current one, the previous one for rollback.

Layout under ``settings.sigma_dir``::

    versions/<version>/rules/...      the rule files as fetched (only *.yml / *.yaml and licence files)
    versions/<version>/manifest.json  source, install time, content hash, load/compile counts
    current                           the active version's name (replaced atomically)
    previous                          the version ``rollback`` returns to

A version's name is its install time and the hash of its rule files (``20261126T041500Z-3f9a1c2e7b``):
installing content identical to the current version changes nothing. Extraction from an archive is
defensive (the archive comes from the network): no absolute paths or ``..``, bounded member size, member
count and total size, nothing but rule and licence files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from mimamori.errors import NotFoundError, ValidationError

RULE_SUFFIXES = (".yml", ".yaml")
LICENCE_NAMES = ("LICENSE", "LICENSE.Detection.Rules.md", "LICENSE.md", "README.md")
MAX_MEMBER_BYTES = 2 * 1024 * 1024  # one rule file; SigmaHQ's largest is ~60 KB
MAX_MEMBERS = 100_000
MAX_TOTAL_BYTES = 512 * 1024 * 1024  # everything extracted from one archive


@dataclass(frozen=True, slots=True)
class RulesetInfo:
    """The manifest of one installed ruleset."""

    version: str
    source: str
    installed_at: str
    content_hash: str
    files: int
    loaded: int
    skipped: int
    compiled: int
    uncompilable: int
    correlations: int
    skipped_reasons: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RulesetInfo:
        reasons = [(str(a), str(b)) for a, b in data.get("skipped_reasons", [])]
        return cls(**{**data, "skipped_reasons": reasons})


def _is_wanted(name: str) -> bool:
    base = PurePosixPath(name).name
    return base.lower().endswith(RULE_SUFFIXES) or base in LICENCE_NAMES


def extract_rules(archive: Path, dest: Path) -> int:
    """Unpack the rule files of a zip archive into ``dest``; the number of rule files written."""
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(f"{archive.name}: not a readable zip archive ({exc})") from exc
    written = total = 0
    with bundle:
        members = bundle.infolist()
        if len(members) > MAX_MEMBERS:
            raise ValidationError(f"{archive.name}: {len(members)} members, more than {MAX_MEMBERS}")
        for member in members:
            if member.is_dir() or not _is_wanted(member.filename):
                continue
            parts = PurePosixPath(member.filename.replace("\\", "/")).parts
            if not parts or member.filename.startswith("/") or ".." in parts or ":" in parts[0]:
                raise ValidationError(f"{archive.name}: unsafe member path {member.filename[:200]!r}")
            if member.file_size > MAX_MEMBER_BYTES:
                raise ValidationError(f"{archive.name}: {member.filename[:200]} is larger than a rule file")
            total += member.file_size
            if total > MAX_TOTAL_BYTES:
                raise ValidationError(f"{archive.name}: more than {MAX_TOTAL_BYTES} bytes of rules")
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(member) as source, target.open("wb") as sink:
                data = source.read(MAX_MEMBER_BYTES + 1)  # the header's size may lie
                if len(data) > MAX_MEMBER_BYTES:
                    raise ValidationError(f"{archive.name}: {member.filename[:200]} inflates too far")
                sink.write(data)
            written += target.suffix.lower() in RULE_SUFFIXES
    return written


def rule_files(root: Path) -> list[Path]:
    """Every rule file under ``root``, in a stable order."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in RULE_SUFFIXES and p.is_file())


def content_hash(root: Path, files: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class RuleStore:
    """The installed rulesets of one data directory."""

    def __init__(self, root: Path, keep: int = 3) -> None:
        self.root = root
        self.keep = max(keep, 2)
        self.versions_dir = root / "versions"

    def _pointer(self, name: str) -> str | None:
        path = self.root / name
        if not path.is_file():
            return None
        version = path.read_text(encoding="utf-8").strip()
        return version if version and (self.versions_dir / version / "manifest.json").is_file() else None

    def info(self, version: str) -> RulesetInfo:
        manifest = self.versions_dir / version / "manifest.json"
        if "/" in version or version.startswith(".") or not manifest.is_file():
            raise NotFoundError(f"ruleset version {version!r} is not installed")
        return RulesetInfo.from_json(json.loads(manifest.read_text(encoding="utf-8")))

    def current(self) -> RulesetInfo | None:
        version = self._pointer("current")
        return None if version is None else self.info(version)

    def previous(self) -> RulesetInfo | None:
        version = self._pointer("previous")
        return None if version is None else self.info(version)

    def rules_dir(self, version: str) -> Path:
        self.info(version)
        return self.versions_dir / version / "rules"

    def installed(self) -> list[RulesetInfo]:
        """Every installed version, newest first."""
        if not self.versions_dir.is_dir():
            return []
        names = sorted(p.name for p in self.versions_dir.iterdir() if (p / "manifest.json").is_file())
        return [self.info(name) for name in reversed(names)]

    def staging(self) -> Path:
        """A fresh directory to put candidate rule files in before ``install``."""
        self.root.mkdir(parents=True, exist_ok=True)
        stage = self.root / f".staging-{os.getpid()}-{datetime.now(UTC):%H%M%S%f}"
        stage.mkdir()
        return stage

    def install(self, staged_rules: Path, info: RulesetInfo) -> RulesetInfo:
        """Make ``staged_rules`` (moved, not copied) the current version; the old current becomes previous."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        target = self.versions_dir / info.version
        if target.exists():
            raise ValidationError(f"ruleset version {info.version} already exists")
        target.mkdir()
        shutil.move(str(staged_rules), target / "rules")
        _write_atomic(target / "manifest.json", json.dumps(asdict(info), ensure_ascii=False, indent=1))
        old = self._pointer("current")
        if old is not None and old != info.version:
            _write_atomic(self.root / "previous", old)
        _write_atomic(self.root / "current", info.version)
        self.prune()
        return info

    def rollback(self) -> RulesetInfo:
        """Swap current and previous; a second rollback undoes the first."""
        old, back = self._pointer("current"), self._pointer("previous")
        if back is None:
            raise NotFoundError("no previous ruleset to roll back to")
        _write_atomic(self.root / "current", back)
        if old is not None:
            _write_atomic(self.root / "previous", old)
        return self.info(back)

    def prune(self) -> list[str]:
        """Remove the oldest versions beyond ``keep``; never the current or the previous one."""
        protected = {self._pointer("current"), self._pointer("previous")}
        removed: list[str] = []
        for info in self.installed()[self.keep :]:
            if info.version not in protected:
                shutil.rmtree(self.versions_dir / info.version, ignore_errors=True)
                removed.append(info.version)
        return removed
