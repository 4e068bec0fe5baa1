"""Reading Sigma rule files with pySigma, one file at a time, so that one bad rule costs only itself.

``load_rules(path)`` takes a directory (every ``*.yml``/``*.yaml`` below it) or a ``.zip`` (a SigmaHQ
release archive) and never raises on rule content: a file that is not YAML, a rule pySigma refuses, a
correlation whose referenced rules are missing all go to ``LoadResult.skipped`` with the path and the
reason. Rule files are small; anything above ``MAX_RULE_BYTES`` is refused unread, and a zip is read with
the same per-member bound (no member is inflated beyond it).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.modifiers import SigmaWideModifier, modifier_mapping
from sigma.rule import SigmaRule
from sigma.rule.base import SigmaYAMLLoader

__all__ = ["MAX_RULE_BYTES", "LoadResult", "load_rules"]

MAX_RULE_BYTES = 1_000_000  # the largest SigmaHQ rule is ~30 kB
MAX_FILES = 100_000
_SUFFIXES = (".yml", ".yaml")

# The specification names ``utf16le`` as the long form of ``wide``; pySigma 2.0.1 knows only ``wide``.
modifier_mapping.setdefault("utf16le", SigmaWideModifier)


@dataclass(slots=True)
class LoadResult:
    """What ``load_rules`` found: rules, correlation rules, and what it skipped with the reason."""

    rules: list[SigmaRule] = field(default_factory=list)
    correlations: list[SigmaCorrelationRule] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    files: int = 0


def _reason(errors: list[SigmaError] | list[Exception]) -> str:
    return "; ".join(f"{type(e).__name__}: {e}" for e in errors)[:500] or "unknown error"


def _sources(path: Path) -> Iterator[tuple[str, bytes | str]]:
    """``(name, content)`` of every rule file under ``path``; an unreadable one has a str error instead."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in _SUFFIXES and p.is_file())
        for file in files[:MAX_FILES]:
            try:
                if file.stat().st_size > MAX_RULE_BYTES:
                    yield str(file), "file larger than the rule size limit"
                    continue
                yield str(file), file.read_bytes()
            except OSError as exc:
                yield str(file), f"unreadable: {exc.strerror or exc}"
        return
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.infolist() if not m.is_dir() and m.filename.lower().endswith(_SUFFIXES)]
        for member in members[:MAX_FILES]:
            name = f"{path}!{member.filename}"
            if member.file_size > MAX_RULE_BYTES:
                yield name, "file larger than the rule size limit"
                continue
            try:
                with archive.open(member) as handle:
                    yield name, handle.read(MAX_RULE_BYTES + 1)[:MAX_RULE_BYTES]
            except (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError) as exc:
                yield name, f"unreadable: {exc}"


def _parse_file(name: str, content: bytes, result: LoadResult) -> None:
    try:
        # libyaml (pySigma's own duplicate-key-checking CSafeLoader) instead of from_yaml's pure-Python
        # safe_load_all: 5x faster on a SigmaHQ release; from_dicts still bounds alias expansion.
        documents = list(yaml.load_all(content, Loader=SigmaYAMLLoader))
        collection = SigmaCollection.from_dicts(
            documents, collect_errors=True, source=SigmaRuleLocation(Path(name)), resolve_references=False
        )
    except Exception as exc:  # pySigma raises many kinds on hostile YAML; one file must not stop the load
        result.skipped.append((name, f"{type(exc).__name__}: {exc}"[:500]))
        return
    if collection.errors and not collection.rules:
        result.skipped.append((name, _reason(collection.errors)))
        return
    for rule in collection.rules:
        errors = getattr(rule, "errors", [])
        if errors:
            result.skipped.append((name, _reason(errors)))
        elif isinstance(rule, SigmaRule):
            result.rules.append(rule)
        elif isinstance(rule, SigmaCorrelationRule):
            result.correlations.append(rule)
        else:  # filters (meta-rules) are not applied by this engine
            result.skipped.append((name, f"unsupported rule type {type(rule).__name__}"))


def _resolve_correlations(result: LoadResult) -> None:
    """Link each correlation rule to the rules it names; one whose references are missing is skipped."""
    if not result.correlations:
        return
    collection = SigmaCollection([*result.rules, *result.correlations], resolve_references=False)
    kept: list[SigmaCorrelationRule] = []
    for correlation in result.correlations:
        try:
            correlation.resolve_rule_references(collection)
        except Exception as exc:
            where = str(correlation.source.path) if correlation.source else str(correlation.id)
            result.skipped.append((where, f"{type(exc).__name__}: {exc}"[:500]))
            continue
        kept.append(correlation)
    result.correlations = kept


def load_rules(path: Path) -> LoadResult:
    """Load every rule under ``path`` (directory, or ``.zip``); bad rules are skipped with the reason."""
    result = LoadResult()
    try:
        for name, content in _sources(Path(path)):
            result.files += 1
            if isinstance(content, str):
                result.skipped.append((name, content))
            else:
                _parse_file(name, content, result)
    except (OSError, zipfile.BadZipFile) as exc:
        result.skipped.append((str(path), f"cannot read rules: {exc}"[:500]))
    _resolve_correlations(result)
    return result
