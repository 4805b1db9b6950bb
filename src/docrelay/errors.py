"""DocRelay's exception tree.

::

    DocRelayError                  root; ``message`` is shown to the caller
    ├── ConfigurationError         a setting is missing or invalid (names the variable)
    ├── ValidationError            bad input; ``errors`` lists (field, message) pairs -> 422
    ├── NotFoundError              no such object in the caller's account -> 404
    ├── ConflictError              the object's state forbids the operation -> 409
    ├── AuthenticationError        missing or invalid API key or signing token -> 401
    ├── PermissionDeniedError      authenticated but not allowed -> 403
    ├── RateLimitedError           too many attempts -> 429
    └── DeliveryError              a destination failed; ``outcome`` says retry, pause or fail
        (defined in ``docrelay.delivery.outcome``)

Integrations (HTTP, Salesforce, database) translate their own exceptions into
these at one boundary each, with ``raise ... from``.
"""

from __future__ import annotations


class DocRelayError(Exception):
    """Something went wrong in DocRelay."""

    status_code = 500
    title = "Internal error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.__doc__ or self.title
        super().__init__(self.message)


class ConfigurationError(DocRelayError):
    """A configuration setting is missing or invalid."""

    title = "Configuration error"


class ValidationError(DocRelayError):
    """The request contains invalid values."""

    status_code = 422
    title = "Invalid request"

    def __init__(self, message: str | None = None, errors: list[tuple[str, str]] | None = None):
        self.errors = list(errors or [])
        if message is None and self.errors:
            message = "; ".join(f"{field}: {text}" for field, text in self.errors)
        super().__init__(message)

    @classmethod
    def for_field(cls, field: str, message: str) -> ValidationError:
        return cls(f"{field}: {message}", [(field, message)])


class NotFoundError(DocRelayError):
    """The object does not exist in this account."""

    status_code = 404
    title = "Not found"


class ConflictError(DocRelayError):
    """The object's current state does not allow this operation."""

    status_code = 409
    title = "Conflict"

    def __init__(self, message: str | None = None, **details: object) -> None:
        self.details = details
        super().__init__(message)


class AuthenticationError(DocRelayError):
    """Missing or invalid credentials."""

    status_code = 401
    title = "Unauthorized"


class PermissionDeniedError(DocRelayError):
    """The caller may not perform this operation."""

    status_code = 403
    title = "Forbidden"


class RateLimitedError(DocRelayError):
    """Too many attempts; try again later."""

    status_code = 429
    title = "Too many requests"
