"""The emulated org as the Salesforce delivery tests see it."""

from __future__ import annotations

import dataclasses
from typing import Any

from docrelay.emulators.salesforce import SalesforceEmulator
from docrelay.runtime import Runtime
from docrelay.salesforce.credential import credential_purpose
from docrelay.storage.models import Account


@dataclasses.dataclass
class Org:
    """The emulated org, the DocRelay account wired to it, and a Lead in the org."""

    emulator: SalesforceEmulator
    account_id: str
    lead_id: str
    runtime: Runtime

    def store_credential(self, **changes: Any) -> None:
        """Store the org's password credential (with ``changes``) as a new credential version."""
        org = self.emulator.org
        credential = {
            "auth_method": "password",
            "username": org.username,
            "password": org.password,
            "security_token": org.security_token,
            "login_host": "login.salesforce.com",
            **changes,
        }
        with self.runtime.database.transaction() as session:
            account = session.get(Account, self.account_id)
            assert account is not None
            account.salesforce_credential_encrypted = self.runtime.secrets.encrypt_json(
                credential, credential_purpose(account.id)
            )
            account.salesforce_credential_version += 1

    def update_account(self, **values: Any) -> None:
        with self.runtime.database.transaction() as session:
            account = session.get(Account, self.account_id)
            assert account is not None
            for name, value in values.items():
                setattr(account, name, value)

    def document_records(self) -> list[dict[str, Any]]:
        return self.emulator.live_records("DocRelay_Document__c")

    def record_of(self, document_id: str) -> dict[str, Any]:
        (record,) = [row for row in self.document_records() if row["DocRelay_Id__c"] == document_id]
        return record

    def user_alerts(self) -> list[str]:
        from docrelay.delivery.repository import open_alerts

        with self.runtime.database.session() as session:
            return [alert.key for alert in open_alerts(session, self.account_id)]

    def call_kinds(self) -> list[str]:
        return [call["kind"] for call in self.emulator.calls()["calls"]]
