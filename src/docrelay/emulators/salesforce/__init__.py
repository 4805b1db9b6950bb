"""A local Salesforce org for demos and tests: ``docrelay emulate salesforce``.

The emulator speaks the parts of the Salesforce APIs DocRelay uses, closely
enough that unmodified simple-salesforce works against it through
:func:`docrelay.salesforce.routing.make_session`::

    with SalesforceEmulator() as emulator:
        sf = Salesforce(
            username=emulator.org.username,
            password=emulator.org.password,
            security_token=emulator.org.security_token,
            session=make_session(emulator.base_url),
        )
        sf.Lead.create({"LastName": "Doe", "Company": "Acme"})
        emulator.live_records("Lead")

Served:

- SOAP ``login()``, and OAuth password, JWT bearer and client credentials.
- Sessions with idle expiry, optional session reuse across logins, and the
  hourly login limit per user.
- REST sObject create, get (by id or external id, with ``fields=``), update,
  delete, upsert and describe.
- ``query``/``queryAll`` with a SOQL subset and ``nextRecordsUrl`` paging.
- sObject Collections, Composite with references, and ``limits``.
- Files: ContentVersion by JSON or multipart, ContentDocument and
  ContentDocumentLink. Attachment and Document, with their size limits.
- ``Sforce-Limit-Info`` and the daily API allocation.
- Fault injection, the call log, an HTML page at ``/__emulator/`` and an
  optional JSON state file.

Not implemented, with the reason:

- Bulk API 1.0/2.0, Apex REST, Metadata API and the SOAP data calls: DocRelay
  does not call them.
- The ``ConcurrentPerOrgLongTxn`` limit is not counted, because DocRelay's
  tests cannot hold 20-second requests open in useful time. A
  ``request_limit`` fault with that message produces the same response.
- ``If-Modified-Since``/304, record types, sharing and field-level security:
  every call runs with full access as the logged-in user.
- SOQL beyond the subset in :mod:`docrelay.emulators.salesforce.soql`.
"""

from docrelay.emulators.salesforce.org import Org, OrgSettings
from docrelay.emulators.salesforce.server import SalesforceEmulator

__all__ = ["Org", "OrgSettings", "SalesforceEmulator"]
