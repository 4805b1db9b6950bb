"""The aiohttp application: login endpoints, the REST API and the admin pages.

Every call under ``/services`` passes, in this order: configured latency, fault
injection, session check (401), API allocation (403), then the handler. Each
such call is written to the call log with its kind and status. Admin
endpoints live under ``/__emulator`` and are neither logged nor counted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from docrelay.emulators.salesforce import admin, oauth, rest, soap
from docrelay.emulators.salesforce.calls import JSON_TYPE, Call, Reply
from docrelay.emulators.salesforce.errors import ApiError, session_invalid, unable_to_lock_row
from docrelay.emulators.salesforce.faults import FaultRule
from docrelay.emulators.salesforce.org import Org
from docrelay.emulators.salesforce.uploads import BodyTooLarge, read_call_body

logger = logging.getLogger(__name__)

ORG_KEY: web.AppKey[Org] = web.AppKey("org", Org)
ON_CHANGE_KEY: web.AppKey[Callable[[], None]] = web.AppKey("on_change")
KIND_KEY: web.RequestKey[str] = web.RequestKey("kind", str)
API_COUNTED_KEY: web.RequestKey[bool] = web.RequestKey("api_counted", bool)
FAULT_KEY: web.RequestKey[str] = web.RequestKey("fault", str)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(org: Org, on_change: Callable[[], None] | None = None) -> web.Application:
    """Build the application serving ``org``; ``on_change`` runs after each write call."""
    app = web.Application(middlewares=[_call_log])
    app[ORG_KEY] = org
    app[ON_CHANGE_KEY] = on_change or (lambda: None)
    app.router.add_post("/services/Soap/{wsdl:[uc]}/{version}", _soap_login)
    app.router.add_post("/services/Soap/{wsdl:[uc]}/{version}/", _soap_login)
    app.router.add_post("/services/oauth2/token", _oauth_token)
    app.router.add_route("*", "/services/data", _versions)
    app.router.add_route("*", "/services/data/", _versions)
    app.router.add_route("*", "/services/data/{tail:v.*}", _data)
    admin.add_routes(app, ORG_KEY)
    return app


def base_url(request: web.Request) -> str:
    """Return the https base URL advertised to clients (``serverUrl``, ``instance_url``)."""
    org = request.app[ORG_KEY]
    return org.settings.advertised_url or f"https://{request.host}"


@web.middleware
async def _call_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/services"):
        return await handler(request)
    org = request.app[ORG_KEY]
    started = time.perf_counter()
    status = 500
    try:
        if org.settings.latency_ms:
            await asyncio.sleep(org.settings.latency_ms / 1000)
        response = await handler(request)
        status = 0 if request.get(FAULT_KEY) == "drop" else response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = (time.perf_counter() - started) * 1000
        with org.lock:
            org.calls.add(
                request.method,
                request.path,
                status,
                request.get(KIND_KEY, "unknown"),
                elapsed,
                bool(request.get(API_COUNTED_KEY, False)),
            )
        if request.method != "GET":
            request.app[ON_CHANGE_KEY]()


async def _soap_login(request: web.Request) -> web.StreamResponse:
    request[KIND_KEY] = "soap_login"
    early = await _apply_call_fault(request, is_auth=True)
    if early is not None:
        return early
    org = request.app[ORG_KEY]
    body = await request.read()
    status, xml = soap.handle_login(org, body, request.match_info["version"], base_url(request))
    _log_auth(request, "soap", status)
    return web.Response(status=status, text=xml, content_type="text/xml", charset="UTF-8")


async def _oauth_token(request: web.Request) -> web.StreamResponse:
    request[KIND_KEY] = "oauth_token"
    early = await _apply_call_fault(request, is_auth=True)
    if early is not None:
        return early
    org = request.app[ORG_KEY]
    form = {key: str(value) for key, value in (await request.post()).items()}
    requested_host = request.headers.get("X-Forwarded-Host") or request.host
    status, body = oauth.handle_token(
        org, form, request.headers.get("Authorization"), requested_host, base_url(request)
    )
    _log_auth(request, f"oauth:{form.get('grant_type', '')}", status)
    return web.json_response(body, status=status)


async def _versions(request: web.Request) -> web.StreamResponse:
    from docrelay.emulators.salesforce.describe import versions

    request[KIND_KEY] = "versions"
    return web.json_response(versions(), content_type="application/json")


async def _data(request: web.Request) -> web.StreamResponse:
    org = request.app[ORG_KEY]
    path = request.rel_url.raw_path
    request[KIND_KEY] = rest.classify(request.method, path)
    early = await _apply_call_fault(request, is_auth=False)
    if early is not None:
        return early

    session = org.touch_session(_bearer(request))
    if session is None:
        return _reply(request, Reply(401, session_invalid().body()), limit_header=False)
    if org.settings.password_expired:
        expired = ApiError(
            500,
            "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
            "The users password has expired, you must call SetPassword before attempting "
            "any other API operations",
        )
        return _reply(request, Reply(expired.status, expired.body()), limit_header=False)
    if not org.spend_api_call():
        limit = ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return _reply(request, Reply(403, limit.body()))
    request[API_COUNTED_KEY] = True

    try:
        body, blob = await read_call_body(request, org)
    except BodyTooLarge as error:
        return _reply(request, Reply(error.api_error.status, error.api_error.body()))
    except ApiError as error:
        return _reply(request, Reply(error.status, error.body()))
    call = Call(
        request.method, path, dict(request.query), body, session.user_id, blob, request.headers
    )
    try:
        with org.lock:
            reply = rest.dispatch(org, call)
    except Exception:
        logger.exception(
            "Emulator failed on %s %s",
            request.method,
            path,
            extra={"action": "salesforce_emulator_internal_error"},
        )
        crash = ApiError(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred in the emulator")
        reply = Reply(500, crash.body())
    return _reply(request, reply)


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "oauth") else ""


def _reply(request: web.Request, reply: Reply, limit_header: bool = True) -> web.StreamResponse:
    headers = dict(reply.headers)
    if limit_header:
        used, allocation = request.app[ORG_KEY].api_usage()
        headers["Sforce-Limit-Info"] = f"api-usage={used}/{allocation}"
    if reply.status == 204 or reply.body is None:
        return web.Response(status=reply.status, headers=headers)
    if isinstance(reply.body, bytes):
        headers["Content-Type"] = reply.content_type
        return web.Response(status=reply.status, body=reply.body, headers=headers)
    headers["Content-Type"] = JSON_TYPE
    return web.Response(status=reply.status, text=json.dumps(reply.body), headers=headers)


async def _apply_call_fault(request: web.Request, is_auth: bool) -> web.StreamResponse | None:
    """Apply a fault rule that fires for this call; return the response it forces, if any."""
    org = request.app[ORG_KEY]
    with org.lock:
        rule = org.faults.take_call_fault(request.method, request.path, is_auth)
    if rule is None:
        return None
    request[FAULT_KEY] = rule.kind
    logger.info(
        "Injecting fault %s into %s %s",
        rule.kind,
        request.method,
        request.path,
        extra={"action": "salesforce_emulator_fault_injected"},
    )
    return await _fault_response(request, org, rule)


async def _fault_response(
    request: web.Request, org: Org, rule: FaultRule
) -> web.StreamResponse | None:
    if rule.kind == "delay":
        await asyncio.sleep(rule.seconds)
        return None
    if rule.kind == "drop":
        # Abort the socket; the response returned below is never written.
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=499)
    if rule.kind == "expire_session":
        with org.lock:
            org.sessions.pop(_bearer(request), None)
        return None
    if rule.kind == "unavailable":
        html = "<html><body><h1>503 Service Unavailable</h1></body></html>"
        return web.Response(status=503, text=html, content_type="text/html")
    errors: dict[str, ApiError] = {
        "server_error": ApiError(
            500,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)",
        ),
        "session_not_valid": ApiError(
            401, "INVALID_SESSION_ID", "This session is not valid for use with the REST API"
        ),
        "request_limit": ApiError(
            403, "REQUEST_LIMIT_EXCEEDED", rule.message or "TotalRequests Limit exceeded."
        ),
        "lock_row": unable_to_lock_row(),
    }
    error = errors.get(rule.kind)
    if error is None:
        return None
    return web.Response(
        status=error.status, text=json.dumps(error.body()), content_type="application/json"
    )


def _log_auth(request: web.Request, flow: str, status: int) -> None:
    outcome = "succeeded" if status == 200 else "failed"
    logger.info(
        "Emulated Salesforce login via %s %s (HTTP %s)",
        flow,
        outcome,
        status,
        extra={"action": f"salesforce_emulator_login_{outcome}"},
    )
