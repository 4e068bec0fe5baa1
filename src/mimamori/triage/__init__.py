"""Triage: findings into deduplicated alerts, alerts into incidents, and what people read about them.

- ``dedup``: the alert fingerprint of each finding (the storage upsert collapses equal ones);
- ``categories``: an alert's category and ATT&CK tactics (how new detectors plug in);
- ``correlate``: alerts of one tenant, device and time window into one incident (pure, property-tested);
- ``scoring``: severity 高/中/低 with a 0–100 score and its explained reasons;
- ``guidance``: the plain-language catalogue in ja/en (Babel domain ``guidance``);
- ``damage``: the estimated damage range (被害想定額) from the versioned JNSA-based data file.

Pure functions over domain objects; ``services.triage`` runs them inside the pipeline's transaction.
"""

from mimamori.triage.dedup import fingerprinted

__all__ = ["fingerprinted"]
