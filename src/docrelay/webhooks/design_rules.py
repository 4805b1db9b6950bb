"""Checks a web-notification design must pass before it is saved.

The designs service calls :func:`validate_webhook_design` with the design's
config (secrets included, before they are split off). Every problem is
reported with its field under ``config.``, so the API's error lists each one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from docrelay.errors import ValidationError
from docrelay.storage.models import Template, TemplateVersion
from docrelay.webhooks.checks import ResponseCheck, validate_checks
from docrelay.webhooks.egress import IPNetwork, check_destination, check_url_syntax
from docrelay.webhooks.merge import validate_design_templates

PARAMETER_KEY = "parameter"


def account_parameter_names(session: Session, account_id: str) -> set[str]:
    """Return the parameter names that the fields of the account's templates use, in any version."""
    definitions = session.scalars(
        select(TemplateVersion.definition)
        .join(Template, Template.id == TemplateVersion.template_id)
        .where(TemplateVersion.account_id == account_id, Template.deleted_at.is_(None))
    ).all()
    names: set[str] = set()
    for definition in definitions:
        for item in (definition or {}).get("fields") or ():
            name = item.get(PARAMETER_KEY) if isinstance(item, Mapping) else None
            if isinstance(name, str) and name:
                names.add(name)
    return names


def validate_webhook_design(
    session: Session,
    account_id: str,
    config: Mapping[str, Any],
    allowed_events: Sequence[str] | None,
    allowed_networks: Sequence[IPNetwork] | None = None,
) -> None:
    """Check the URL, the merge-field templates and the response checks of a design.

    With ``allowed_networks`` None only the URL's syntax and scheme are
    checked. Otherwise a literal address in the URL must also be public or
    inside those networks. Host names are vetted again at send time either
    way. Raises :class:`ValidationError` listing every problem.
    """
    errors: list[tuple[str, str]] = []
    errors.extend(_url_problems(str(config.get("url", "")), allowed_networks))
    errors.extend(_template_problems(session, account_id, config, allowed_events))
    errors.extend(_check_problems(config.get("response_checks") or []))
    if errors:
        raise ValidationError(errors=errors)


def _url_problems(url: str, allowed_networks: Sequence[IPNetwork] | None) -> list[tuple[str, str]]:
    try:
        if allowed_networks is None:
            check_url_syntax(url, "config.url")
        else:
            check_destination(url, allowed_networks, "config.url")
    except ValidationError as exc:
        return list(exc.errors)
    return []


def _template_problems(
    session: Session,
    account_id: str,
    config: Mapping[str, Any],
    allowed_events: Sequence[str] | None,
) -> list[tuple[str, str]]:
    try:
        validate_design_templates(
            str(config.get("content_type", "application/json")),
            str(config.get("body_template", "")),
            dict(config.get("headers") or {}),
            None if allowed_events is None else list(allowed_events),
            account_parameter_names(session, account_id),
        )
    except ValidationError as exc:
        return [(f"config.{field}", message) for field, message in exc.errors]
    return []


def _check_problems(items: Sequence[Any]) -> list[tuple[str, str]]:
    checks: list[ResponseCheck] = []
    errors: list[tuple[str, str]] = []
    for index, item in enumerate(items):
        try:
            checks.append(ResponseCheck.model_validate(item))
        except PydanticValidationError as exc:
            for problem in exc.errors():
                where = ".".join(str(part) for part in problem["loc"])
                field = f"config.response_checks[{index}]" + (f".{where}" if where else "")
                errors.append((field, problem["msg"]))
    if errors:
        return errors
    try:
        validate_checks(checks)
    except ValidationError as exc:
        return [(f"config.{field}", message) for field, message in exc.errors]
    return []
