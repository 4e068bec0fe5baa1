"""The payloads the webhook and telephone channels send validate against the published JSON Schemas."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from tests.unit.notify.samples import INJECTION, SCRIPT, delivery, every_kind

from mimamori.notify.channels import phone, webhook
from mimamori.notify.channels.base import ChannelSettings
from mimamori.notify.message import ChannelName, Fact

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"
SETTINGS = ChannelSettings()


def validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def round_trip(document: dict[str, Any]) -> Any:
    return json.loads(webhook.encode(document))  # exactly what goes on the wire


@pytest.mark.parametrize("language", ["ja", "en"])
def test_webhook_payloads_validate(language: str) -> None:
    check = validator("notification-v1.json")
    for notice in every_kind(language):
        check.validate(
            round_trip(webhook.payload(delivery(ChannelName.WEBHOOK, "https://h.example", notice), SETTINGS))
        )


@pytest.mark.parametrize("language", ["ja", "en"])
def test_phone_payloads_validate(language: str) -> None:
    check = validator("phone-v1.json")
    for notice in every_kind(language):
        document = phone.payload(
            delivery(ChannelName.PHONE, "+81312345678", notice), SETTINGS, "+81312345678"
        )
        check.validate(round_trip(document))


def test_hostile_notices_still_validate() -> None:
    notice = replace(
        every_kind("ja")[0],
        title=INJECTION * 50,
        summary=SCRIPT * 500,
        severity="critical",  # not a known severity: sent as null
        language="fr",
        facts=(Fact(SCRIPT, INJECTION),),
        ack_url="javascript:alert(1)",
    )
    document = round_trip(
        webhook.payload(delivery(ChannelName.WEBHOOK, "https://h.example", notice), SETTINGS)
    )
    validator("notification-v1.json").validate(document)
    assert document["notice"]["ack_url"] is None
    assert document["notice"]["severity"] is None
    assert document["notice"]["language"] == "ja"
    call = round_trip(
        phone.payload(delivery(ChannelName.PHONE, "+81312345678", notice), SETTINGS, "+81312345678")
    )
    validator("phone-v1.json").validate(call)


def test_schema_rejects_a_broken_payload() -> None:
    good = round_trip(webhook.payload(delivery(ChannelName.WEBHOOK, "https://h.example"), SETTINGS))
    for broken in (
        {**good, "schema": "other/v1"},
        {k: v for k, v in good.items() if k != "idempotency_key"},
        {**good, "notice": {**good["notice"], "severity": "urgent"}},
        {**good, "notice": {**good["notice"], "steps": "not a list"}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validator("notification-v1.json").validate(broken)
