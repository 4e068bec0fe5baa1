"""Threat-intelligence feed formats: one module per format, registered in the one table ``FEEDS``.

Pure parsing (bytes in, ``FeedEntry`` out); fetching, storing, expiry and retro-hunting live in
``mimamori.services.feeds``. A test checks every module here is registered.
"""

from mimamori.feeds import csvmap, feodo, misp, plain, spamhaus, sslbl, stix, threatfox, urlhaus
from mimamori.feeds.base import FeedEntry, FeedError, FeedFormat, Options, ParseResult

FEEDS: dict[str, FeedFormat] = {
    f.name: f
    for f in (
        FeedFormat(
            "feodo-csv", feodo.parse_csv, "abuse.ch Feodo Tracker C2 IP blocklist (CSV)", feodo.CSV_URL
        ),
        FeedFormat(
            "feodo-json", feodo.parse_json, "abuse.ch Feodo Tracker C2 IP blocklist (JSON)", feodo.JSON_URL
        ),
        FeedFormat("urlhaus-csv", urlhaus.parse, "abuse.ch URLhaus malware URLs (CSV)", urlhaus.URL),
        FeedFormat(
            "threatfox-json", threatfox.parse, "abuse.ch ThreatFox IOCs (JSON export or API)", threatfox.URL
        ),
        FeedFormat("sslbl-ja3", sslbl.parse_ja3, "abuse.ch SSLBL JA3 fingerprints (CSV)", sslbl.JA3_URL),
        FeedFormat(
            "sslbl-cert", sslbl.parse_certificates, "abuse.ch SSLBL certificate SHA-1s", sslbl.CERT_URL
        ),
        FeedFormat(
            "spamhaus-drop", spamhaus.parse, "Spamhaus DROP/EDROP netblocks (text or JSON)", spamhaus.DROP_URL
        ),
        FeedFormat("plain", plain.parse, "one value per line (type guessed or option type=...)"),
        FeedFormat("csv", csvmap.parse, "CSV with a column mapping (options value=, type=, threat=, ...)"),
        FeedFormat("misp", misp.parse, "MISP feed: manifest.json and event files (to_ids attributes)"),
        FeedFormat("stix2", stix.parse, "STIX 2.1 bundle (indicators with = patterns)"),
        FeedFormat("taxii21", stix.parse, "TAXII 2.1 collection (URL of the collection; STIX 2.1 objects)"),
    )
}

__all__ = ["FEEDS", "FeedEntry", "FeedError", "FeedFormat", "Options", "ParseResult"]
