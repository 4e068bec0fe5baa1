"""abuse.ch SSL Blacklist (https://sslbl.abuse.ch/blacklist/): JA3 fingerprints and certificate SHA-1s.

JA3 list (``ja3_fingerprints.csv``): ``# ja3_md5,Firstseen,Lastseen,Listingreason``.
Certificate list (``sslblacklist.csv``): ``# Listingdate,SHA1,Listingreason``.
JA3 fingerprints collide between programs, hence the lower confidence.
"""

from __future__ import annotations

from mimamori.feeds.base import FeedEntry, FeedError, Options, ParseResult, comment_free_lines, csv_rows, when

JA3_URL = "https://sslbl.abuse.ch/blacklist/ja3_fingerprints.csv"
CERT_URL = "https://sslbl.abuse.ch/blacklist/sslblacklist.csv"
JA3_CONFIDENCE = 60
CERT_CONFIDENCE = 90


def parse_ja3(data: bytes, options: Options) -> ParseResult:
    result = ParseResult()
    for number, row in csv_rows(comment_free_lines(data)):
        if len(row) < 2 or len(row[0]) != 32:
            result.error(f"line {number}: not a JA3 row")
            continue
        reason = row[3] if len(row) > 3 else ""
        result.entries.append(
            FeedEntry(
                type="ja3",
                value=row[0],
                threat=reason,
                description=f"JA3 of {reason or 'malware'}",
                confidence=JA3_CONFIDENCE,
                tlp="clear",
                first_seen=when(row[1]),
                last_seen=when(row[2]) if len(row) > 2 else None,
            )
        )
    if not result.entries and result.error_count:
        raise FeedError("no SSLBL JA3 rows")
    return result


def parse_certificates(data: bytes, options: Options) -> ParseResult:
    result = ParseResult()
    for number, row in csv_rows(comment_free_lines(data)):
        if len(row) < 2 or len(row[1]) != 40:
            result.error(f"line {number}: not a certificate row")
            continue
        reason = row[2] if len(row) > 2 else ""
        result.entries.append(
            FeedEntry(
                type="x509_sha1",
                value=row[1],
                threat=reason.removesuffix(" C&C").strip(),
                description=f"SSL certificate of {reason or 'malware'}",
                confidence=CERT_CONFIDENCE,
                tlp="clear",
                first_seen=when(row[0]),
            )
        )
    if not result.entries and result.error_count:
        raise FeedError("no SSLBL certificate rows")
    return result
