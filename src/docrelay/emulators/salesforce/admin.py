"""Admin endpoints under ``/__emulator`` (never under ``/services``), and their Python forms.

==========================================  =============================================
``GET /__emulator/``                        HTML page of records and files
``GET /__emulator/org``                     org id, credentials, settings, API usage
``GET /__emulator/records/{Object}``        records of one object, deleted ones included
``GET /__emulator/files/{id}``              bytes of a ContentVersion, Attachment or Document
``GET|DELETE /__emulator/calls``            call log with counts by kind / clear it
``GET|POST|DELETE /__emulator/faults``      list / add (JSON rule) / clear fault rules
``POST /__emulator/password``               ``{"password": ..., "username"?: ...}``
``POST /__emulator/sessions/expire``        end every session
``POST /__emulator/unlock``                 clear login lockouts
``GET|PATCH /__emulator/settings``          read / change org settings (JSON object)
``POST /__emulator/api-usage``              ``{"used": N}`` sets the 24-hour call count
==========================================  =============================================
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from aiohttp import web

from docrelay.emulators.salesforce import page
from docrelay.emulators.salesforce.faults import parse_rule
from docrelay.emulators.salesforce.org import Org, OrgSettings
from docrelay.errors import ValidationError

PREFIX = "/__emulator"


def org_info(org: Org) -> dict[str, Any]:
    with org.lock:
        user = org.default_user
        used, allocation = org.api_usage()
        return {
            "org_id": org.org_id,
            "username": user.username,
            "password": user.password,
            "security_token": user.security_token,
            "consumer_key": org.app.consumer_key,
            "consumer_secret": org.app.consumer_secret,
            "my_domain": org.settings.my_domain,
            "user_id": user.id,
            "api_usage": {"used": used, "max": allocation},
            "settings": settings_dict(org.settings),
        }


def list_records(org: Org, object_name: str) -> list[dict[str, Any]]:
    """Return copies of every record of ``object_name``, deleted ones included."""
    with org.lock:
        spec = org.schema.get(object_name)
        if spec is None:
            raise KeyError(object_name)
        return [dict(record) for record in org.store.table(spec.name).values()]


def settings_dict(settings: OrgSettings) -> dict[str, Any]:
    values = dataclasses.asdict(settings)
    values["jwt_audiences"] = list(settings.jwt_audiences)
    return values


def update_settings(org: Org, changes: dict[str, Any]) -> OrgSettings:
    """Change org settings by name; raise ValidationError naming an unknown or mistyped one."""
    known = {f.name: f for f in dataclasses.fields(OrgSettings)}
    current = settings_dict(org.settings)
    for name, value in changes.items():
        if name not in known:
            raise ValidationError.for_field(
                name, f"unknown setting; known: {', '.join(sorted(known))}"
            )
        expected = type(current[name]) if current[name] is not None else None
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is not None and expected is not list and not isinstance(value, expected):
            raise ValidationError.for_field(name, f"must be of type {expected.__name__}")
        current[name] = value
    current["jwt_audiences"] = tuple(current["jwt_audiences"])
    with org.lock:
        org.settings = OrgSettings(**current)
    return org.settings


def add_routes(app: web.Application, org_key: web.AppKey[Org]) -> None:
    def org_of(request: web.Request) -> Org:
        return request.app[org_key]

    async def index(request: web.Request) -> web.StreamResponse:
        return web.Response(text=page.render(org_of(request)), content_type="text/html")

    async def info(request: web.Request) -> web.StreamResponse:
        return web.json_response(org_info(org_of(request)))

    async def records(request: web.Request) -> web.StreamResponse:
        try:
            rows = list_records(org_of(request), request.match_info["object"])
        except KeyError:
            return _problem(404, "object", "no such object in the emulated org")
        return web.json_response({"records": rows, "totalSize": len(rows)})

    async def file_bytes(request: web.Request) -> web.StreamResponse:
        org = org_of(request)
        with org.lock:
            data = org.store.blob(request.match_info["record_id"])
        if data is None:
            return _problem(404, "record_id", "no file body stored for this id")
        return web.Response(body=data, content_type="application/octet-stream")

    async def calls(request: web.Request) -> web.StreamResponse:
        org = org_of(request)
        with org.lock:
            if request.method == "DELETE":
                org.calls.clear()
                return web.Response(status=204)
            return web.json_response(org.calls.summary())

    async def faults(request: web.Request) -> web.StreamResponse:
        org = org_of(request)
        if request.method == "DELETE":
            with org.lock:
                org.faults.clear()
            return web.Response(status=204)
        if request.method == "POST":
            try:
                rule = parse_rule(await _json(request))
            except ValidationError as error:
                return _validation_problem(error)
            with org.lock:
                org.faults.add(rule)
            return web.json_response(rule.as_dict(), status=201)
        with org.lock:
            return web.json_response({"faults": [r.as_dict() for r in org.faults.rules]})

    async def password(request: web.Request) -> web.StreamResponse:
        body = await _json(request)
        new_password = body.get("password")
        if not isinstance(new_password, str) or not new_password:
            return _problem(400, "password", "give the new password as a non-empty string")
        try:
            org_of(request).change_password(new_password, body.get("username"))
        except KeyError:
            return _problem(404, "username", "no such user in the emulated org")
        return web.Response(status=204)

    async def expire(request: web.Request) -> web.StreamResponse:
        return web.json_response({"expired": org_of(request).expire_sessions()})

    async def unlock(request: web.Request) -> web.StreamResponse:
        org_of(request).unlock()
        return web.Response(status=204)

    async def settings(request: web.Request) -> web.StreamResponse:
        org = org_of(request)
        if request.method == "PATCH":
            try:
                update_settings(org, await _json(request))
            except ValidationError as error:
                return _validation_problem(error)
        return web.json_response(settings_dict(org.settings))

    async def api_usage(request: web.Request) -> web.StreamResponse:
        used = (await _json(request)).get("used")
        if not isinstance(used, int) or used < 0:
            return _problem(400, "used", "give the number of calls as a whole number, 0 or more")
        org_of(request).set_api_usage(used)
        return web.Response(status=204)

    app.router.add_get(PREFIX, index)
    app.router.add_get(PREFIX + "/", index)
    app.router.add_get(PREFIX + "/org", info)
    app.router.add_get(PREFIX + "/records/{object}", records)
    app.router.add_get(PREFIX + "/files/{record_id}", file_bytes)
    app.router.add_route("*", PREFIX + "/calls", calls)
    app.router.add_route("*", PREFIX + "/faults", faults)
    app.router.add_post(PREFIX + "/password", password)
    app.router.add_post(PREFIX + "/sessions/expire", expire)
    app.router.add_post(PREFIX + "/unlock", unlock)
    app.router.add_route("*", PREFIX + "/settings", settings)
    app.router.add_post(PREFIX + "/api-usage", api_usage)


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text=json.dumps({"errors": [{"field": "body", "message": "send a JSON object"}]}),
            content_type="application/json",
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"errors": [{"field": "body", "message": "send a JSON object"}]}),
            content_type="application/json",
        )
    return body


def _problem(status: int, field: str, message: str) -> web.Response:
    return web.json_response({"errors": [{"field": field, "message": message}]}, status=status)


def _validation_problem(error: ValidationError) -> web.Response:
    errors = [{"field": field, "message": message} for field, message in error.errors]
    return web.json_response({"errors": errors}, status=400)
