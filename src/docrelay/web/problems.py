"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from docrelay.errors import ConflictError, DocRelayError, ValidationError

logger = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://docrelay.dev/problems/"
MEDIA_TYPE = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "form")]
    return ".".join(parts) or "body"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DocRelayError)
    async def _docrelay_error(_request: Request, exc: DocRelayError) -> JSONResponse:
        errors = None
        extra: dict[str, Any] = {}
        if isinstance(exc, ValidationError):
            errors = [{"field": field, "message": message} for field, message in exc.errors]
        if isinstance(exc, ConflictError):
            extra.update(exc.details)
        if exc.status_code >= 500:
            logger.error("Request failed: %s", exc.message, extra={"action": "request_failed"})
        return problem(exc.status_code, exc.title, exc.message, errors=errors, **extra)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_path(error["loc"]), "message": error["msg"]} for error in exc.errors()
        ]
        detail = "; ".join(f"{item['field']}: {item['message']}" for item in errors)
        return problem(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not found",
            405: "Method not allowed",
        }.get(exc.status_code, "Error")
        response = problem(exc.status_code, title, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def _database_down(_request: Request, exc: Exception) -> JSONResponse:
        logger.error(
            "Database unavailable: %s", type(exc).__name__, extra={"action": "database_unavailable"}
        )
        response = problem(
            503, "Service unavailable", "The database is unavailable; retry shortly."
        )
        response.headers["Retry-After"] = "5"
        return response
