"""E-mail written to a directory as ``.eml`` files instead of sent (the demo, or a site without SMTP yet).

The files are exactly what SMTP would carry (``channels.email.build_message``), one per delivery, named
after the idempotency key, so a retried delivery overwrites its own file instead of adding a second one.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from mimamori.errors import DeliveryError
from mimamori.notify.channels.base import ChannelSettings
from mimamori.notify.channels.email import build_message, check_address
from mimamori.notify.message import ChannelName, Delivery


class MailDirChannel:
    name = ChannelName.EMAIL

    def __init__(self, directory: Path, settings: ChannelSettings) -> None:
        self.directory = directory
        self.settings = settings

    def send(self, delivery: Delivery) -> str:
        try:
            to = check_address(delivery.address)
            message = build_message(delivery, self.settings, to)  # the bytes SMTP would carry
            self.directory.mkdir(parents=True, exist_ok=True)
            name = hashlib.sha256(delivery.idempotency_key.encode()).hexdigest()[:32] + ".eml"
            target = self.directory / name
            scratch = target.with_suffix(".tmp")
            scratch.write_bytes(message)
            os.replace(scratch, target)
        except DeliveryError:
            raise
        except (OSError, ValueError) as error:
            raise DeliveryError(f"cannot write {self.directory}: {error}") from error
        return f"written {name}"

    def close(self) -> None:
        return None
