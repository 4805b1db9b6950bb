"""SOAP ``login()`` at ``/services/Soap/u/{version}`` (partner) and ``/c/`` (enterprise).

The request is parsed by namespace, not by prefix, because clients use
``n1:``, ``urn:`` or no prefix. Success returns a LoginResult whose elements
sit in the default namespace: simple-salesforce finds ``sessionId`` and
``serverUrl`` by their literal unprefixed tag names. Faults are HTTP 500 with
``sf:``-prefixed ``exceptionCode`` and ``exceptionMessage``, which
simple-salesforce also reads by literal tag name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from docrelay.emulators.salesforce.org import LoginFailure

if TYPE_CHECKING:
    from docrelay.emulators.salesforce.org import Org, User

SOAP_ENVELOPE = "http://schemas.xmlsoap.org/soap/envelope/"
LOGIN_NAMESPACES = ("urn:partner.soap.sforce.com", "urn:enterprise.soap.sforce.com")
XML_TYPE = "text/xml;charset=UTF-8"


def handle_login(org: Org, body: bytes, version: str, base_url: str) -> tuple[int, str]:
    """Process a login request; return (HTTP status, XML body)."""
    try:
        username, password = _parse_login(body)
    except ValueError as exc:
        return 500, client_fault(str(exc))

    try:
        number = float(version)
    except ValueError:
        number = 0.0
    if number < org.settings.soap_min_version:
        return 500, login_fault("UNSUPPORTED_API_VERSION", f"API version {version} is retired")
    if number > org.settings.soap_max_version:
        # NOTE: Salesforce documents that login() is unavailable from API 65.0 on,
        # but the exact fault is unconfirmed; soap_max_version makes the cut-off configurable.
        return 500, login_fault(
            "UNSUPPORTED_API_VERSION",
            f"SOAP login() is not available in API version {version}; use OAuth",
        )
    if not org.settings.api_enabled:
        return 500, login_fault(
            "API_DISABLED_FOR_ORG", "API is not enabled for this Organization or Partner"
        )

    try:
        user = org.check_password(username, password)
    except LoginFailure as failure:
        return 500, login_fault(failure.code, failure.message)
    token = org.open_session(user)
    return 200, _login_result(org, user, token, version, base_url)


def _parse_login(body: bytes) -> tuple[str, str]:
    try:
        root = SafeElementTree.fromstring(body)
    except (ParseError, DefusedXmlException) as exc:
        raise ValueError(f"The request is not well-formed XML: {exc}") from exc
    login = _find(root, "login")
    if login is None:
        raise ValueError("No login element in a partner or enterprise namespace in the SOAP body")
    username = _child_text(login, "username")
    password = _child_text(login, "password")
    if username is None or password is None:
        raise ValueError("The login element needs username and password")
    return username, password


def _find(root: Element, local_name: str) -> Element | None:
    for namespace in LOGIN_NAMESPACES:
        found = root.find(f".//{{{namespace}}}{local_name}")
        if found is not None:
            return found
    return None


def _child_text(parent: Element, local_name: str) -> str | None:
    for child in parent:
        if child.tag.rsplit("}", 1)[-1] == local_name:
            return child.text or ""
    return None


def _login_result(org: Org, user: User, token: str, version: str, base_url: str) -> str:
    org15 = org.org_id[:15]
    settings = org.settings
    expired = "true" if settings.password_expired else "false"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="{SOAP_ENVELOPE}" xmlns="urn:partner.soap.sforce.com" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>\
<metadataServerUrl>{escape(base_url)}/services/Soap/m/{version}/{org15}</metadataServerUrl>\
<passwordExpired>{expired}</passwordExpired>\
<sandbox>false</sandbox>\
<serverUrl>{escape(base_url)}/services/Soap/u/{version}/{org15}</serverUrl>\
<sessionId>{escape(token)}</sessionId>\
<userId>{user.id}</userId>\
<userInfo>\
<accessibilityMode>false</accessibilityMode>\
<currencySymbol>$</currencySymbol>\
<orgAttachmentFileSizeLimit>{settings.attachment_max_bytes}</orgAttachmentFileSizeLimit>\
<orgDefaultCurrencyIsoCode>USD</orgDefaultCurrencyIsoCode>\
<orgDisallowHtmlAttachments>false</orgDisallowHtmlAttachments>\
<orgHasPersonAccounts>false</orgHasPersonAccounts>\
<organizationId>{org.org_id}</organizationId>\
<organizationMultiCurrency>false</organizationMultiCurrency>\
<organizationName>{escape(settings.org_name)}</organizationName>\
<profileId>00e5D000000DRLYQA4</profileId>\
<roleId xsi:nil="true"/>\
<sessionSecondsValid>{settings.session_timeout_seconds}</sessionSecondsValid>\
<userDefaultCurrencyIsoCode xsi:nil="true"/>\
<userEmail>{escape(user.email)}</userEmail>\
<userFullName>{escape(user.full_name)}</userFullName>\
<userId>{user.id}</userId>\
<userLanguage>en_US</userLanguage>\
<userLocale>en_US</userLocale>\
<userName>{escape(user.username)}</userName>\
<userTimeZone>America/Los_Angeles</userTimeZone>\
<userType>Standard</userType>\
<userUiSkin>Theme3</userUiSkin>\
</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"""


def login_fault(code: str, message: str) -> str:
    """Return a LoginFault envelope in the shape Salesforce sends with HTTP 500."""
    text = escape(message)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="{SOAP_ENVELOPE}" xmlns:sf="urn:fault.partner.soap.sforce.com" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>\
<faultcode>sf:{code}</faultcode>\
<faultstring>{code}: {text}</faultstring>\
<detail><sf:LoginFault xsi:type="sf:LoginFault">\
<sf:exceptionCode>{code}</sf:exceptionCode>\
<sf:exceptionMessage>{text}</sf:exceptionMessage>\
</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"""


def client_fault(message: str) -> str:
    """Return a SOAP client fault for a request that is not a valid login call."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="{SOAP_ENVELOPE}"><soapenv:Body><soapenv:Fault>\
<faultcode>soapenv:Client</faultcode>\
<faultstring>{escape(message)}</faultstring>\
</soapenv:Fault></soapenv:Body></soapenv:Envelope>"""
