"""The exception tree of mimamori, drawn once here and mapped once per interface.

MimamoriError
├── ConfigError            settings invalid or unsafe (placeholder secret outside demo mode)
├── ParseError             a record that its parser cannot read (quarantined with the reason)
├── NotFoundError          an object that does not exist *for this tenant* (HTTP 404, CLI exit 3)
├── AuthError              missing or wrong credentials (HTTP 401)
│   └── PermissionDeniedError   authenticated but not allowed (HTTP 403)
├── BackpressureError      the bus is full; the sender must retry later (HTTP 429, TCP stops reading)
├── ValidationError        input that breaks a business rule (HTTP 422, CLI exit 2)
│   └── PayloadTooLargeError    a body or record over its size limit (HTTP 413)
├── IngestError            an input file or stream that cannot be read at all
└── DeliveryError          a notification channel could not deliver (retried unless ``retryable`` is False)
"""

from __future__ import annotations


class MimamoriError(Exception):
    """Base of every error mimamori raises on purpose."""


class ConfigError(MimamoriError):
    """Settings are invalid or unsafe."""


class ParseError(MimamoriError):
    """A raw record could not be parsed; ``reason`` is stored in the quarantine."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFoundError(MimamoriError):
    """The object does not exist, or does not belong to the caller's tenant (indistinguishable on purpose)."""


class AuthError(MimamoriError):
    """Missing or invalid credentials."""


class PermissionDeniedError(AuthError):
    """Authenticated, but the role does not allow the action."""


class BackpressureError(MimamoriError):
    """The pipeline queue is full; the sender should retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: float = 1.0) -> None:
        super().__init__(f"queue full, retry after {retry_after:.0f}s")
        self.retry_after = retry_after


class ValidationError(MimamoriError):
    """Input breaks a business rule."""


class PayloadTooLargeError(ValidationError):
    """A request body or record is larger than its limit."""


class IngestError(MimamoriError):
    """An input file or stream cannot be read at all."""


class DeliveryError(MimamoriError):
    """A channel failed to deliver a notification.

    ``retryable`` False means retrying cannot help (a rejected address, a 4xx from a webhook other than
    408/429): the delivery is dead-lettered at once instead of being retried with backoff.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable
