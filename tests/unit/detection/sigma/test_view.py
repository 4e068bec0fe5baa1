"""The event view: the JSON text the prefilter searches, and the case folding it relies on."""

from __future__ import annotations

import re2  # type: ignore[import-untyped]
from re2 import _re2

from mimamori.detection.sigma.view import EventView


def test_re2_folds_every_character_with_its_lower_case_but_dotted_capital_i() -> None:
    """``EventView.json`` leaves text as is for RE2's caseless search: a lower-case literal inside
    ``value.lower()`` must then be found in ``value``. That holds character by character for all of
    Unicode except U+0130, whose lower case is two characters (the view lower-cases texts with it)."""
    options = re2.Options()
    options.case_sensitive = False
    options.never_capture = True
    unpaired = []
    for code in range(0x80, 0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        lower = char.lower()
        if lower == char:
            continue
        pattern = _re2.RE2(_re2.RE2.QuoteMeta(lower.encode()), options)
        data = char.encode()
        if pattern.Match(_re2.RE2.Anchor.UNANCHORED, data, 0, len(data))[0][0] == -1:
            unpaired.append(char)
    assert unpaired == ["\u0130"]


def test_json_keeps_case_but_lowers_text_with_dotted_capital_i() -> None:
    assert EventView({"a": "Microsoft® WINDOWS", "b": 7}).json() == '["Microsoft® WINDOWS",7]'.encode()
    assert EventView({"a": "RUN Mİ", "b": ["X"]}).json() == '["run mi\u0307",["x"]]'.encode()


def test_json_of_named_fields_and_lone_surrogates() -> None:
    view = EventView({"a": "A\ud800B", "b": "bee", "c": 1})
    assert view.json(["b", "missing"]) == b'["bee",null]'
    assert view.json() == '["A\ufffdB","bee",1]'.encode()
    assert view.json() is view.json()  # the all-values text is built once per event


def test_lower_and_raw_resolve_sigma_names_once() -> None:
    view = EventView({"winlog.event_data.Image": "C:\\X.EXE", "winlog.event_data.Ids": [1, "A"]})
    assert view.raw("Image") == ("C:\\X.EXE",)
    assert view.lower("Image") == ("c:\\x.exe",)
    assert view.lower("Image") is view.lower("Image")
    assert view.lower("Ids") == ("1", "a")
    assert view.lower("Missing") is None
    assert view.raw("Missing") is None
