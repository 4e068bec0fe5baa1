"""Sigma detection: load SigmaHQ rules with pySigma, compile them to closures, match events fast.

``load_rules(path)`` reads rule files (never raising on a bad rule), ``compile_ruleset(rules)`` compiles
them once, ``CompiledRuleset.match(Event.fields)`` returns the ``SigmaMatch``es of one event. See
``docs/sigma-conformance.md`` for the semantics and ``ruleset`` for the index.
"""

from __future__ import annotations

from mimamori.detection.sigma.compiler import CompiledRule
from mimamori.detection.sigma.fields import lookup
from mimamori.detection.sigma.loader import LoadResult, load_rules
from mimamori.detection.sigma.ruleset import CompiledRuleset, SigmaMatch, compile_ruleset

__all__ = [
    "CompiledRule",
    "CompiledRuleset",
    "LoadResult",
    "SigmaMatch",
    "compile_ruleset",
    "load_rules",
    "lookup",
]
