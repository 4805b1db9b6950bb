"""FastAPI dependencies: the runtime, a database session, and the caller's account."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from docrelay.accounts.service import authenticate_api_key
from docrelay.errors import AuthenticationError
from docrelay.runtime import Runtime
from docrelay.storage.models import Account

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key created by `docrelay init` or `docrelay apikeys create`.",
)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_session(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Iterator[Session]:
    """Yield a session whose transaction commits when the endpoint returns without error."""
    with runtime.database.transaction() as session:
        yield session


def get_account(
    session: Annotated[Session, Depends(get_session)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Account:
    """Return the account of the API key in ``Authorization: Bearer``; 401 otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("Missing API key: send it as `Authorization: Bearer <key>`")
    return authenticate_api_key(session, credentials.credentials)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SessionDep = Annotated[Session, Depends(get_session)]
AccountDep = Annotated[Account, Depends(get_account)]
