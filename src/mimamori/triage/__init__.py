"""Triage: findings into deduplicated alerts (and, in its own issue, incidents, guidance and damage)."""

from mimamori.triage.dedup import fingerprinted

__all__ = ["fingerprinted"]
