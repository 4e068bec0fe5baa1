"""Static data of the simulated world: company names, PC vendors' OUIs and benign destinations.

Benign destinations are real popular services (Microsoft 365, Google Workspace, Windows Update, Apple,
Japanese news and shopping sites) with addresses in their operators' ranges. None of them is malicious,
and none is ever in the indicator list. Background noise (internet scanners, ad servers blocked by the
web filter) uses the RFC 2544 benchmarking range 198.18.0.0/15, which is neither real nor listed.
"""

from __future__ import annotations

from typing import NamedTuple

# (kanji, romaji) surnames and business kinds of Japanese SMEs.
SURNAMES: tuple[tuple[str, str], ...] = (
    ("山田", "YAMADA"),
    ("佐藤", "SATO"),
    ("鈴木", "SUZUKI"),
    ("高橋", "TAKAHASHI"),
    ("田中", "TANAKA"),
    ("伊藤", "ITO"),
    ("渡辺", "WATANABE"),
    ("中村", "NAKAMURA"),
    ("小林", "KOBAYASHI"),
    ("加藤", "KATO"),
    ("吉田", "YOSHIDA"),
    ("山口", "YAMAGUCHI"),
    ("松本", "MATSUMOTO"),
    ("井上", "INOUE"),
    ("木村", "KIMURA"),
    ("林", "HAYASHI"),
    ("斎藤", "SAITO"),
    ("清水", "SHIMIZU"),
    ("山崎", "YAMAZAKI"),
    ("森", "MORI"),
    ("池田", "IKEDA"),
    ("橋本", "HASHIMOTO"),
    ("阿部", "ABE"),
    ("石川", "ISHIKAWA"),
    ("前田", "MAEDA"),
)
BUSINESSES: tuple[str, ...] = (
    "製作所",
    "工業",
    "商店",
    "建設",
    "精機",
    "印刷",
    "運輸",
    "食品",
    "電機",
    "鉄工所",
    "会計事務所",
    "歯科医院",
)
FIREWALL_MODELS: tuple[tuple[str, str], ...] = (
    ("FGT60F", "FGT60FTK"),
    ("FGT40F", "FGT40FTK"),
    ("FG60E", "FGT60ETK"),
)

# Real OUIs (IEEE registry) of the hardware vendors FortiGate reports as ``srchwvendor``.
PC_VENDORS: tuple[tuple[str, str], ...] = (
    ("Dell", "F8:BC:12"),
    ("Dell", "D4:BE:D9"),
    ("HP", "3C:D9:2B"),
    ("HP", "9C:8E:99"),
    ("NEC", "00:00:4C"),
    ("Fujitsu", "00:0B:5D"),
    ("Fujitsu", "00:17:42"),
    ("Dynabook", "00:00:39"),
)
APPLE_OUI = "F0:18:98"
GOOGLE_OUI = "3C:28:6D"
SYNOLOGY_OUI = "00:11:32"
PRINTERS: tuple[tuple[str, str], ...] = (
    ("Brother", "00:80:77"),
    ("Canon", "00:00:85"),
    ("Ricoh", "00:26:73"),
)
DEPARTMENTS: tuple[str, ...] = ("KEIRI", "SOUMU", "EIGYO", "SEIZOU", "SEKKEI", "JIMU", "HINSHITSU")


class Destination(NamedTuple):
    """A benign external service: where PCs connect and how FortiGate labels it."""

    host: str
    ip: str
    port: int
    service: str
    country: str
    kind: str  # web, office, update, apple, mail, av, printer, dns, ntp


DESTINATIONS: tuple[Destination, ...] = (
    Destination("www.yahoo.co.jp", "183.79.219.252", 443, "HTTPS", "Japan", "web"),
    Destination("news.yahoo.co.jp", "183.79.250.123", 443, "HTTPS", "Japan", "web"),
    Destination("www.google.com", "142.250.196.100", 443, "HTTPS", "United States", "web"),
    Destination("www.google.co.jp", "142.250.207.3", 443, "HTTPS", "United States", "web"),
    Destination("www.nikkei.com", "13.35.93.40", 443, "HTTPS", "Japan", "web"),
    Destination("www3.nhk.or.jp", "23.45.170.81", 443, "HTTPS", "Japan", "web"),
    Destination("www.amazon.co.jp", "52.119.161.5", 443, "HTTPS", "Japan", "web"),
    Destination("www.rakuten.co.jp", "133.237.16.44", 443, "HTTPS", "Japan", "web"),
    Destination("www.jma.go.jp", "104.75.180.33", 443, "HTTPS", "Japan", "web"),
    Destination("www.e-tax.nta.go.jp", "210.149.141.24", 443, "HTTPS", "Japan", "web"),
    Destination("www.youtube.com", "142.250.198.14", 443, "HTTPS", "United States", "web"),
    Destination("line.me", "147.92.170.150", 443, "HTTPS", "Japan", "web"),
    Destination("outlook.office365.com", "52.98.152.178", 443, "HTTPS", "Japan", "office"),
    Destination("login.microsoftonline.com", "20.190.141.37", 443, "HTTPS", "Japan", "office"),
    Destination("teams.microsoft.com", "52.113.194.132", 443, "HTTPS", "Japan", "office"),
    Destination("yamada-my.sharepoint.com", "13.107.136.10", 443, "HTTPS", "United States", "office"),
    Destination("mail.google.com", "142.250.196.101", 443, "HTTPS", "United States", "office"),
    Destination("docs.google.com", "142.251.42.142", 443, "HTTPS", "United States", "office"),
    Destination("drive.google.com", "142.251.42.174", 443, "HTTPS", "United States", "office"),
    Destination("ctldl.windowsupdate.com", "23.32.238.128", 80, "HTTP", "Japan", "update"),
    Destination("fe3cr.delivery.mp.microsoft.com", "20.198.119.84", 443, "HTTPS", "Japan", "update"),
    Destination("tlu.dl.delivery.mp.microsoft.com", "117.18.232.200", 80, "HTTP", "Japan", "update"),
    Destination("swscan.apple.com", "17.253.85.201", 443, "HTTPS", "Japan", "apple"),
    Destination("gdmf.apple.com", "17.188.182.3", 443, "HTTPS", "United States", "apple"),
    Destination("updates.cdn-apple.com", "17.253.85.203", 443, "HTTPS", "Japan", "apple"),
    Destination("smtp.office365.com", "52.98.160.2", 587, "SMTP", "Japan", "mail"),
    Destination("imap.gmail.com", "142.250.157.108", 993, "IMAPS", "United States", "mail"),
    Destination("pop.mail.sakura.ne.jp", "219.94.162.104", 995, "POP3S", "Japan", "mail"),
    Destination("iaus.activeupdate.trendmicro.com", "23.47.49.66", 443, "HTTPS", "Japan", "av"),
    Destination("update.eset.com", "91.228.167.133", 443, "HTTPS", "Slovakia", "av"),
    Destination("ntp.nict.jp", "133.243.238.164", 123, "NTP", "Japan", "ntp"),
    Destination("ntp.jst.mfeed.ad.jp", "210.173.160.27", 123, "NTP", "Japan", "ntp"),
)
PRINTER_CLOUD: dict[str, Destination] = {
    "Brother": Destination("firmverup.brother.co.jp", "202.218.4.52", 443, "HTTPS", "Japan", "printer"),
    "Canon": Destination("gdlp01.c-wss.com", "23.59.250.52", 443, "HTTPS", "Japan", "printer"),
    "Ricoh": Destination("remote.ricoh.co.jp", "133.139.250.33", 443, "HTTPS", "Japan", "printer"),
}
RESOLVERS: tuple[str, ...] = ("8.8.8.8", "1.1.1.1")

# Inbound scanners (RFC 2544 range: not real, not listed) and the ports they knock on.
SCAN_PORTS: tuple[tuple[int, int, str], ...] = (
    (23, 6, "TELNET"),
    (22, 6, "SSH"),
    (445, 6, "SMB"),
    (3389, 6, "RDP"),
    (8080, 6, "tcp/8080"),
    (1433, 6, "MS-SQL"),
    (5060, 17, "SIP"),
    (123, 17, "NTP"),
    (80, 6, "HTTP"),
    (443, 6, "HTTPS"),
)

# Background web-filter blocks and antivirus/IPS noise, all inside 198.18.0.0/15 and unlisted names.
BLOCKED_SITES: tuple[tuple[str, str, int, str], ...] = (
    ("ads.adnetwork-sample.example", "198.18.10.20", 41, "Advertising"),
    ("casino-bonus.sample.example", "198.18.10.31", 11, "Gambling"),
    ("p2p-tracker.sample.example", "198.18.10.44", 24, "Peer-to-peer File Sharing"),
    ("phishing-login.sample.example", "198.18.10.57", 26, "Malicious Websites"),
)
NOISE_VIRUS = ("W32/Agent.ABCD!tr", "JS/Miner.BP!tr", "HTML/Phish.AB!tr", "EICAR_TEST_FILE")
NOISE_IPS = (
    ("MS.SMB.Server.SMB1.Trans2.Secondary.Handling.Code.Execution", 43796, "critical"),
    ("Apache.Log4j.Error.Log.Remote.Code.Execution", 51006, "critical"),
    ("HTTP.URI.SQL.Injection", 15621, "high"),
)
SPAM_SUBJECTS = (
    "【重要】アカウント確認のお願い",
    "Your parcel is waiting",
    "ポイント失効のお知らせ",
    "Invoice #4471",
)
