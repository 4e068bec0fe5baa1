"""One test per value modifier of the Sigma specification, from its examples, and the value semantics
around them (case, wildcards and escapes, numbers against text, null, keywords, missing fields)."""

from __future__ import annotations

import base64
import ipaddress
import random

import pytest
from sigma.types import SigmaCIDRExpression

from mimamori.detection.sigma import modifiers
from mimamori.detection.sigma.modifiers import _cidr_test

from .conftest import Matches, security  # type: ignore[import-not-found]


def test_plain_string_is_case_insensitive_equality(matches: Matches) -> None:
    det = "sel:\n    Image: 'C:\\Windows\\System32\\cmd.exe'\ncondition: sel"
    assert matches(det, security(Image="c:\\windows\\system32\\CMD.EXE"))
    assert not matches(det, security(Image="C:\\Windows\\System32\\cmd.exe.bak"))


def test_contains(matches: Matches) -> None:
    det = "sel:\n    CommandLine|contains: 'mimikatz'\ncondition: sel"
    assert matches(det, security(CommandLine="run MimiKatz.exe now"))
    assert not matches(det, security(CommandLine="mimi katz"))


def test_startswith_and_endswith(matches: Matches) -> None:
    start = "sel:\n    CommandLine|startswith: 'powershell'\ncondition: sel"
    end = "sel:\n    Image|endswith: '\\rundll32.exe'\ncondition: sel"
    assert matches(start, security(CommandLine="PowerShell -nop"))
    assert not matches(start, security(CommandLine="x powershell"))
    assert matches(end, security(Image="C:\\Windows\\System32\\RUNDLL32.EXE"))
    assert not matches(end, security(Image="C:\\rundll32.exe.tmp"))


def test_all_links_the_values_with_and(matches: Matches) -> None:
    det = "sel:\n    CommandLine|contains|all:\n        - '-w'\n        - 'hidden'\ncondition: sel"
    assert matches(det, security(CommandLine="powershell -w Hidden -c x"))
    assert not matches(det, security(CommandLine="powershell -w minimized"))


def test_base64(matches: Matches) -> None:
    det = "sel:\n    CommandLine|base64|contains: 'http://'\ncondition: sel"
    assert matches(det, security(CommandLine="x " + base64.b64encode(b"http://").decode() + " y"))
    assert not matches(det, security(CommandLine="http://"))


@pytest.mark.parametrize("prefix", [b"", b"a", b"ab"])
def test_base64offset_matches_every_alignment(matches: Matches, prefix: bytes) -> None:
    det = "sel:\n    CommandLine|base64offset|contains: 'http://'\ncondition: sel"
    encoded = base64.b64encode(prefix + b"http://evil.example/").decode()
    assert matches(det, security(CommandLine=f"powershell -enc {encoded}"))


def test_utf16le_and_wide_with_base64offset(matches: Matches) -> None:
    for modifier in ("utf16le", "wide"):
        det = f"sel:\n    CommandLine|{modifier}|base64offset|contains: 'ping'\ncondition: sel"
        encoded = base64.b64encode("x ping 1.2.3.4".encode("utf-16-le")).decode()
        assert matches(det, security(CommandLine=encoded)), modifier
        assert not matches(det, security(CommandLine=base64.b64encode(b"x ping").decode()))


def test_utf16be_and_utf16(matches: Matches) -> None:
    be = "sel:\n    CommandLine|utf16be|base64|contains: 'ab'\ncondition: sel"
    assert matches(be, security(CommandLine=base64.b64encode("ab".encode("utf-16-be")).decode()))
    bom = "sel:\n    CommandLine|utf16|base64|contains: 'ab'\ncondition: sel"
    assert matches(bom, security(CommandLine=base64.b64encode("ab".encode("utf-16")).decode()))


@pytest.mark.parametrize("dash", ["-", "/", "\u2013", "\u2014", "\u2015"])
def test_windash(matches: Matches, dash: str) -> None:
    det = "sel:\n    CommandLine|windash|contains: ' -s '\ncondition: sel"
    assert matches(det, security(CommandLine=f"psexec.exe {dash}s cmd"))


def test_windash_keeps_other_characters(matches: Matches) -> None:
    det = "sel:\n    CommandLine|windash|contains: ' -s '\ncondition: sel"
    assert not matches(det, security(CommandLine="psexec.exe +s cmd"))


def test_re_is_case_sensitive_and_unanchored(matches: Matches) -> None:
    det = "sel:\n    CommandLine|re: '\\s-nop\\s'\ncondition: sel"
    assert matches(det, security(CommandLine="powershell -nop -c x"))
    assert not matches(det, security(CommandLine="powershell -NOP -c x"))


def test_re_flags_i_m_s(matches: Matches) -> None:
    insensitive = "sel:\n    CommandLine|re|i: 'invoke-mimikatz'\ncondition: sel"
    assert matches(insensitive, security(CommandLine="Invoke-Mimikatz -DumpCreds"))
    multiline = "sel:\n    CommandLine|re|m: '^line2$'\ncondition: sel"
    assert matches(multiline, security(CommandLine="line1\nline2\nline3"))
    assert not matches(
        "sel:\n    CommandLine|re: '^line2$'\ncondition: sel", security(CommandLine="line1\nline2")
    )
    dotall = "sel:\n    CommandLine|re|s: 'a.b'\ncondition: sel"
    assert matches(dotall, security(CommandLine="a\nb"))
    assert not matches("sel:\n    CommandLine|re: 'a.b'\ncondition: sel", security(CommandLine="a\nb"))


def test_cidr(matches: Matches) -> None:
    det = "sel:\n    IpAddress|cidr:\n        - '192.168.0.0/16'\n        - 'fe80::/10'\ncondition: sel"
    assert matches(det, security(4624, IpAddress="192.168.10.3"))
    assert matches(det, security(4624, IpAddress="::ffff:192.168.1.1"))
    assert matches(det, security(4624, IpAddress="fe80::1%12"))
    assert not matches(det, security(4624, IpAddress="10.0.0.1"))
    assert not matches(det, security(4624, IpAddress="-"))


def test_cidr_is_ipaddress_membership_on_random_addresses_and_networks() -> None:
    """The integer test (parsed once per value, cached) against ``ipaddress``'s ``in``."""
    rng = random.Random(4)
    for _ in range(300):
        v6 = rng.random() < 0.4
        bits = 128 if v6 else 32
        prefix = rng.randrange(bits + 1)
        base = rng.getrandbits(bits)
        network = ipaddress.ip_network((base, prefix), strict=False)
        test = _cidr_test(SigmaCIDRExpression(str(network))).arg
        for _ in range(5):
            inside = int(network.network_address) + rng.randrange(network.num_addresses)
            for number in (inside, rng.getrandbits(bits), int(network.broadcast_address) + 1):
                if number >= 2**bits:
                    continue
                address = ipaddress.ip_address(number) if v6 else ipaddress.IPv4Address(number)
                assert test(str(address)) == (address in network), (address, network)
                other = ipaddress.IPv4Address(number % 2**32) if v6 else ipaddress.IPv6Address(number)
                assert not test(str(other)) or other.version == network.version


def test_cidr_cache_is_bounded_and_keeps_answering() -> None:
    test = _cidr_test(SigmaCIDRExpression("10.0.0.0/8")).arg
    for n in range(3 * modifiers._MAX_ADDRESSES):
        assert test(f"10.{n % 256}.{n // 256 % 256}.1")
        assert not test(f"11.0.{n % 256}.{n // 256 % 256}")
    assert len(modifiers._ADDRESSES) <= modifiers._MAX_ADDRESSES
    assert not test("not an address")
    assert not test("")


def test_exists(matches: Matches) -> None:
    present = "sel:\n    EventID: 4688\n    ParentImage|exists: true\ncondition: sel"
    absent = "sel:\n    EventID: 4688\n    ParentImage|exists: false\ncondition: sel"
    assert matches(present, security(ParentImage="x"))
    assert not matches(present, security())
    assert matches(absent, security())
    assert not matches(absent, security(ParentImage=""))


def test_fieldref(matches: Matches) -> None:
    det = "sel:\n    SubjectUserName|fieldref: TargetUserName\ncondition: sel"
    assert matches(det, security(4720, SubjectUserName="Admin", TargetUserName="admin"))
    assert not matches(det, security(4720, SubjectUserName="admin", TargetUserName="bob"))
    assert not matches(det, security(4720, SubjectUserName="admin"))


@pytest.mark.parametrize(
    ("modifier", "value", "expected"),
    [("gt", "11", True), ("gt", "10", False), ("gte", "10", True), ("lt", "9", True), ("lte", "11", False),
     ("gt", "0x20", True), ("gt", "many", False)],
)  # fmt: skip
def test_numeric_comparisons(matches: Matches, modifier: str, value: str, expected: bool) -> None:
    det = f"sel:\n    Count|{modifier}: 10\ncondition: sel"
    assert matches(det, security(4625, Count=value)) is expected


def test_numeric_comparison_on_integer_fields(matches: Matches) -> None:
    assert matches("sel:\n    EventID|gte: 4600\ncondition: sel", security(4688))
    assert not matches("sel:\n    EventID|lt: 4600\ncondition: sel", security(4688))


def test_expand_takes_the_placeholder_values_of_the_call(matches: Matches) -> None:
    det = "sel:\n    Image|expand: '%Tools%\\\\*.exe'\ncondition: sel"  # YAML '\\': Sigma's escaped backslash
    event = security(Image="D:\\Tools\\psexec.exe")
    assert matches(det, event, placeholders={"Tools": ["C:\\Admin", "D:\\Tools"]})
    assert not matches(det, event, placeholders={"Tools": ["C:\\Admin"]})


def test_unset_placeholder_keeps_the_rule_silent(matches: Matches) -> None:
    det = "sel:\n    EventID: 4688\nfilter:\n    SubjectUserName|expand: '%Admins%'\ncondition: sel and not filter"
    assert not matches(det, security(SubjectUserName="mallory"))
    assert matches(det, security(SubjectUserName="mallory"), placeholders={"Admins": ["alice"]})
    assert not matches(det, security(SubjectUserName="alice"), placeholders={"Admins": ["alice"]})


def test_cased(matches: Matches) -> None:
    det = "sel:\n    CommandLine|cased: 'MiMiKaTz'\ncondition: sel"
    assert matches(det, security(CommandLine="MiMiKaTz"))
    assert not matches(det, security(CommandLine="mimikatz"))
    contains = "sel:\n    CommandLine|contains|cased: 'Invoke-'\ncondition: sel"
    assert matches(contains, security(CommandLine="x Invoke-Y"))
    assert not matches(contains, security(CommandLine="x invoke-Y"))


def test_wildcards_and_escapes(matches: Matches) -> None:
    det = "sel:\n    CommandLine: 'a*b?c'\ncondition: sel"
    assert matches(det, security(CommandLine="A-long-B1C"))
    assert not matches(det, security(CommandLine="ab12c"))
    escaped = "sel:\n    CommandLine: 'literal\\*star'\ncondition: sel"
    assert matches(escaped, security(CommandLine="literal*star"))
    assert not matches(escaped, security(CommandLine="literalXstar"))
    middle = "sel:\n    CommandLine: '*one*two*'\ncondition: sel"
    assert matches(middle, security(CommandLine="x one y two z"))
    assert not matches(middle, security(CommandLine="two then one"))


def test_number_matches_integer_and_text(matches: Matches) -> None:
    assert matches("sel:\n    EventID: 4688\ncondition: sel", security(4688))
    assert matches("sel:\n    EventID: '4688'\ncondition: sel", security(4688))
    assert matches("sel:\n    ProcessId: 4\ncondition: sel", security(ProcessId="4"))
    assert not matches("sel:\n    EventID: 4689\ncondition: sel", security(4688))


def test_boolean_matches_windows_text(matches: Matches) -> None:
    det = "sel:\n    Initiated: true\ncondition: sel"
    assert matches(det, security(5156, Initiated="true"))
    assert not matches(det, security(5156, Initiated="false"))


def test_null_is_absent_or_empty(matches: Matches) -> None:
    det = "sel:\n    EventID: 4688\n    ParentImage: null\ncondition: sel"
    assert matches(det, security())
    assert matches(det, security(ParentImage=""))
    assert not matches(det, security(ParentImage="x"))


def test_missing_field_makes_negation_true(matches: Matches) -> None:
    det = "sel:\n    EventID: 4688\nfilter:\n    ParentImage|endswith: '\\explorer.exe'\ncondition: sel and not filter"
    assert matches(det, security())
    assert not matches(det, security(ParentImage="C:\\Windows\\explorer.exe"))


def test_keywords_search_every_value(matches: Matches) -> None:
    det = "keywords:\n    - 'sekurlsa::'\n    - 'lsadump::'\ncondition: keywords"
    assert matches(det, security(4688, CommandLine="x.exe SEKURLSA::logonpasswords"))
    assert matches(det, security(4104, Data=["a", "run lsadump::sam"]))
    assert not matches(det, security(4688, CommandLine="sekurlsa"))


def test_list_values_match_any_item(matches: Matches) -> None:
    det = "sel:\n    Data|contains: 'ntds.dit'\ncondition: sel"
    assert matches(det, security(325, Data=["NTDS", "C:\\snap\\ntds.dit"]))
    assert not matches(det, security(325, Data=["NTDS", "C:\\x"]))


def test_one_of_all_of_and_them(matches: Matches) -> None:
    det = (
        "sel_a:\n    CommandLine|contains: 'aaa'\nsel_b:\n    CommandLine|contains: 'bbb'\n"
        "condition: 1 of sel_*"
    )
    assert matches(det, security(CommandLine="xbbb"))
    all_of = det.replace("1 of sel_*", "all of sel_*")
    assert not matches(all_of, security(CommandLine="xbbb"))
    assert matches(all_of, security(CommandLine="aaa bbb"))
    them = det.replace("1 of sel_*", "all of them")
    assert matches(them, security(CommandLine="bbb aaa"))
    assert not matches(det.replace("1 of sel_*", "1 of them"), security(CommandLine="ccc"))
