"""The caller's account, authenticated in a short transaction of its own.

``deps.AccountDep`` keeps its session (and on SQLite the write lock) open for
the whole request. Endpoints that do slow work outside the database, such as
reading a PDF or building the sealed copy, depend on :data:`CallerDep` instead
and open their own short transactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from docrelay.accounts.service import authenticate_api_key
from docrelay.errors import AuthenticationError
from docrelay.web.deps import RuntimeDep

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key created by `docrelay init` or `docrelay apikeys create`.",
)


@dataclass(frozen=True)
class Caller:
    """The account an API key belongs to."""

    account_id: str
    context_id: str
    name: str


def get_caller(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("Missing API key: send it as `Authorization: Bearer <key>`")
    with runtime.database.transaction() as session:
        account = authenticate_api_key(session, credentials.credentials)
        return Caller(account_id=account.id, context_id=account.context_id, name=account.name)


CallerDep = Annotated[Caller, Depends(get_caller)]
