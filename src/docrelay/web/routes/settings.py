"""Account settings, the Salesforce credential and the sealing certificate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Response, UploadFile

from docrelay.accounts import sealing
from docrelay.accounts.settings import (
    SettingsUpdate,
    delete_credential,
    settings_view,
    store_credential,
    update_settings,
)
from docrelay.web.deps import AccountDep, RuntimeDep, SessionDep

router = APIRouter(prefix="/settings", tags=["settings"])


@router.get("", summary="Read the account's settings (secrets are reported as set or not set)")
def get_settings(runtime: RuntimeDep, account: AccountDep) -> dict[str, Any]:
    return settings_view(runtime, account)


@router.patch("", summary="Change some settings")
def patch_settings(
    runtime: RuntimeDep, session: SessionDep, account: AccountDep, update: SettingsUpdate
) -> dict[str, Any]:
    update_settings(session, account, update)
    return settings_view(runtime, account)


@router.put("/salesforce-credential", summary="Store the Salesforce credential (write-only)")
def put_credential(
    runtime: RuntimeDep,
    session: SessionDep,
    account: AccountDep,
    body: Annotated[
        dict[str, Any],
        Body(
            examples=[
                {
                    "auth_method": "client_credentials",
                    "consumer_key": "3MVG9...",
                    "consumer_secret": "...",
                    "my_domain": "acme.my.salesforce.com",
                }
            ]
        ),
    ],
) -> dict[str, Any]:
    store_credential(runtime, session, account, body)
    return settings_view(runtime, account)["salesforce_credential"]


@router.delete(
    "/salesforce-credential", status_code=204, summary="Delete the Salesforce credential"
)
def remove_credential(session: SessionDep, account: AccountDep) -> Response:
    delete_credential(session, account)
    return Response(status_code=204)


@router.put(
    "/sealing-certificate", summary="Upload a PKCS#12 sealing certificate with its password"
)
def put_sealing_certificate(
    runtime: RuntimeDep,
    account: AccountDep,
    file: Annotated[
        UploadFile, File(description="A PKCS#12 (.p12 or .pfx) file with the key and certificate.")
    ],
    password: Annotated[
        str | None, Form(description="The PKCS#12 password, if it has one.")
    ] = None,
) -> dict[str, Any]:
    data = file.file.read(sealing.MAX_PKCS12_BYTES + 1)
    sealing.install_pkcs12(runtime, account, data, password)
    return sealing.certificate_view(account)
