"""What one DNS query name says by itself, computed once per name (``dns_anomaly``'s name judgements).

The registered domain of a name (the last two labels, three under a known second-level suffix), whether
its label looks algorithmically generated (the mean cost of its letter bigrams under a small English +
romanised-Japanese table, ``_dns_bigrams``, and its character entropy), whether a subdomain looks like
encoded data, and ``judge_name``: all of these for one name as logged, as a ``_Name`` that
``DnsAnomaly`` caches per name and its C hot path reads. Names that are never judged (no dot, a local
name, a registered domain allowed for every tenant) judge to None.
"""

from __future__ import annotations

import math
import zlib
from functools import lru_cache

from mimamori.detection.behaviours._dns_bigrams import ALPHABET, COSTS

DGA_SCORE = 6.0  # bits per bigram: mean -log2 P(next letter) above which a label looks random
DGA_MIN_ENTROPY = 2.2  # bits per character: below it the label is too repetitive to be random
DGA_MIN_LETTERS = 6  # letters in the label: shorter labels are not judged
TUNNEL_SUBDOMAIN_LEN = 40  # characters: a subdomain part at least this long looks encoded
TUNNEL_LABEL_LEN = 24  # characters: ... or one label this long with high entropy
TUNNEL_LABEL_ENTROPY = 3.5  # bits per character of that label
MAX_NAME = 253  # characters of a DNS name; longer values are cut

# Registered domains whose labels are hashes or encoded data by design (CDNs, cloud front ends, anti-virus
# and anti-spam reputation lookups over DNS, reverse lookups): never scored as DGA or tunnelling.
# fmt: off
ALLOWED_DOMAINS = frozenset((
    "cloudfront.net", "akamaiedge.net", "akamai.net", "akamaihd.net", "akadns.net", "edgekey.net",
    "edgesuite.net", "amazonaws.com", "azureedge.net", "azurefd.net", "trafficmanager.net", "cloudapp.net",
    "windows.net", "msedge.net", "office.net", "googleusercontent.com", "googlevideo.com", "1e100.net",
    "gvt1.com", "gvt2.com", "fastly.net", "fastlylb.net", "rackcdn.com", "cloudflare.net", "cdn77.org",
    "sophosxl.net", "e5.sk", "mcafee.com", "trendmicro.com", "mwbsys.com", "spamhaus.org", "spamcop.net",
    "sorbs.net", "barracudacentral.org", "surbl.org", "uribl.com", "dnswl.org", "senderbase.org",
    "in-addr.arpa", "ip6.arpa",
))
# fmt: on
# Second-level suffixes under which the registered domain has three labels (yamada.co.jp).
# fmt: off
SECOND_LEVEL = frozenset((
    "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "ad.jp", "ed.jp", "gr.jp", "lg.jp", "com.au", "net.au",
    "org.au", "edu.au", "gov.au", "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "com.cn", "net.cn",
    "org.cn", "com.tw", "org.tw", "co.kr", "or.kr", "com.hk", "com.sg", "co.nz", "co.in", "com.br", "co.za",
    "com.mx", "co.th",
))
# fmt: on
LOCAL_SUFFIXES = (".local", ".lan", ".home", ".internal", ".localdomain", ".arpa", ".corp", ".intra")

_INDEX = {c: i for i, c in enumerate(ALPHABET)}


def registered_domain(name: str) -> str:
    """The last two labels, three under a known second-level suffix (``a.yamada.co.jp``: ``yamada.co.jp``)."""
    labels = name.split(".")
    if len(labels) >= 3 and f"{labels[-2]}.{labels[-1]}" in SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


_registered_cached = lru_cache(maxsize=8192)(registered_domain)  # a few hundred names make most lookups


def registered(name: str) -> str:
    """``registered_domain(name)``, cached for names of DNS length (the hot path: names repeat)."""
    return _registered_cached(name) if len(name) <= MAX_NAME else registered_domain(name)


def bigram_cost(label: str) -> float:
    """Mean -log2 P(next letter | letter) of ``label``'s letters, with start and end marks (bits)."""
    previous = 0
    total = 0
    steps = 0
    for char in label:
        index = _INDEX.get(char)
        if index is None or index == 0:
            continue
        total += COSTS[previous * 27 + index]
        previous = index
        steps += 1
    total += COSTS[previous * 27]
    return total / (steps + 1)


def entropy(text: str) -> float:
    """Shannon entropy of ``text``'s characters, in bits per character (0 for an empty text)."""
    if not text:
        return 0.0
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


@lru_cache(maxsize=8192)  # labels repeat: most lookups are of a few hundred domains (~1 MB at the limit)
def looks_generated(label: str, min_score: float = DGA_SCORE) -> bool:
    """Whether a registered domain's label looks algorithmically generated (cheap, no model)."""
    letters = sum(1 for c in label if "a" <= c <= "z")
    if letters < DGA_MIN_LETTERS:
        return False
    return bigram_cost(label) >= min_score and entropy(label) >= DGA_MIN_ENTROPY


@lru_cache(maxsize=8192)  # subdomains repeat too (a tunnel's are distinct, but bounded by the cache)
def looks_encoded(subdomain: str) -> bool:
    """Whether a subdomain part looks like data (long, or one long high-entropy label)."""
    if len(subdomain) >= TUNNEL_SUBDOMAIN_LEN:
        return True
    longest = max(subdomain.split("."), key=len)
    return len(longest) >= TUNNEL_LABEL_LEN and entropy(longest) >= TUNNEL_LABEL_ENTROPY


def _distinct(bitmap: int) -> int:
    """Linear-counting estimate of the distinct values hashed into a 256-bit ``bitmap``."""
    empty = 256 - bitmap.bit_count()
    if empty == 0:
        return 256 * 6  # saturated: far above any threshold
    return round(-256 * math.log(empty / 256))


# ``_distinct`` by the bitmap's number of set bits (the hot path indexes this instead of calling it)
_DISTINCT = tuple(_distinct((1 << bits) - 1) for bits in range(257))
NOT_JUDGED = float("-inf")  # a name's score when its label is never judged random (too short, repetitive)


class _Name:
    """What one query name (as logged) gives, computed once: its normal form, registered domain, the
    DGA score of the domain's label, and the subdomain part with its tunnel facts ("" when none)."""

    __slots__ = ("bit", "domain", "encoded", "name", "score", "subdomain")

    def __init__(self, name: str, domain: str) -> None:
        self.name, self.domain = name, domain
        label = domain.split(".", 1)[0]
        letters = sum(1 for c in label if "a" <= c <= "z")
        judged = letters >= DGA_MIN_LETTERS and entropy(label) >= DGA_MIN_ENTROPY
        self.score = bigram_cost(label) if judged else NOT_JUDGED  # random-looking: >= the tenant's dga_score
        subdomain = name[: -len(domain) - 1] if len(name) > len(domain) else ""
        self.subdomain = "" if subdomain == "www" else subdomain  # (www is never a tunnel)
        self.encoded = bool(self.subdomain) and looks_encoded(self.subdomain)
        self.bit = 1 << (zlib.crc32(self.subdomain.encode("utf-8", "replace")) & 255)


def judge_name(raw: str) -> _Name | None:
    """``raw`` (a query name as logged) judged once, or None when it is never judged (no dot, a local
    name, a registered domain allowed for every tenant)."""
    name = raw[:MAX_NAME].lower().rstrip(".")
    if "." not in name or name.endswith(LOCAL_SUFFIXES):
        return None
    domain = registered(name)
    return None if domain in ALLOWED_DOMAINS else _Name(name, domain)
