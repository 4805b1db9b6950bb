"""REST API errors as Salesforce writes them.

Outside sObject Collections and Composite, an error response is a JSON array of
``{"message", "errorCode", "fields"}`` objects. Collections report the same
codes per record under ``statusCode`` instead of ``errorCode``.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A REST call failed; ``status`` is the HTTP status, the rest forms the error body."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: list[str] | None = None,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields) if fields is not None else None

    def body(self) -> list[dict[str, Any]]:
        """Return the error array of a plain REST response."""
        entry: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            entry["fields"] = self.fields
        return [entry]

    def collection_entry(self) -> dict[str, Any]:
        """Return the error object of one record in an sObject Collections response."""
        return {
            "statusCode": self.error_code,
            "message": self.message,
            "fields": self.fields if self.fields is not None else [],
        }


def invalid_field(object_name: str, field: str) -> ApiError:
    return ApiError(
        400, "INVALID_FIELD", f"No such column '{field}' on sobject of type {object_name}", []
    )


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")


def entity_deleted() -> ApiError:
    return ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", [])


def invalid_type(object_name: str) -> ApiError:
    return ApiError(
        404,
        "NOT_FOUND",
        f"The requested resource does not exist: sObject type '{object_name}' is not supported",
    )


def json_parser_error(message: str) -> ApiError:
    return ApiError(400, "JSON_PARSER_ERROR", message)


def malformed_query(message: str) -> ApiError:
    return ApiError(400, "MALFORMED_QUERY", message)


def session_invalid() -> ApiError:
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def request_limit_exceeded() -> ApiError:
    return ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def unable_to_lock_row(record_id: str | None = None) -> ApiError:
    subject = f"1 records: {record_id}" if record_id else "this record"
    return ApiError(
        400,
        "UNABLE_TO_LOCK_ROW",
        f"unable to obtain exclusive access to this record or {subject}",
        [],
    )
