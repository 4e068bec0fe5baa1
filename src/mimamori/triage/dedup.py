"""Deduplication: every finding gets the fingerprint of the alert it belongs to."""

from __future__ import annotations

from collections.abc import Iterable

from mimamori.domain import Finding
from mimamori.domain.fingerprint import fingerprint


def fingerprinted(findings: Iterable[Finding]) -> list[tuple[str, Finding]]:
    """Pair each finding with its alert fingerprint; the storage upsert collapses equal fingerprints."""
    return [(fingerprint(f), f) for f in findings]
