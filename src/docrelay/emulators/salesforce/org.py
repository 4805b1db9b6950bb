"""The emulated org: settings, users, connected app, sessions and the API allocation.

All state lives in one :class:`Org`. The HTTP handlers and the test helpers run
in different threads, so every access goes through ``org.lock``.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import secrets
import threading
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from docrelay import clock
from docrelay.emulators.salesforce.calllog import CallLog
from docrelay.emulators.salesforce.faults import FaultInjector
from docrelay.emulators.salesforce.ids import IdAllocator
from docrelay.emulators.salesforce.schema import Schema, load_schema
from docrelay.emulators.salesforce.store import RecordStore
from docrelay.salesforce.ids import to_18

MB = 1024 * 1024
DEFAULT_ORG_ID = to_18("00D5D0000000DRL")
INVALID_LOGIN_MESSAGE = "Invalid username, password, security token; or user locked out."


@dataclasses.dataclass
class OrgSettings:
    """Org-wide settings; all can be changed while the emulator runs."""

    org_name: str = "DocRelay Emulated Org"
    my_domain: str = "docrelay-emulator.my.salesforce.com"
    daily_api_limit: int = 15_000
    session_timeout_seconds: int = 7200
    require_security_token: bool = True
    lockout_attempts: int = 10
    lockout_minutes: int = 15
    login_rate_limit_per_hour: int = 3600
    reuse_sessions: bool = False
    api_enabled: bool = True
    password_expired: bool = False
    username_password_flow_enabled: bool = True
    soap_min_version: float = 31.0
    soap_max_version: float = 64.0
    jwt_audiences: tuple[str, ...] = ("https://login.salesforce.com", "https://test.salesforce.com")
    jwt_max_lifetime_seconds: int = 300
    attachment_max_bytes: int = 25 * MB
    document_max_bytes: int = 5 * MB
    content_version_max_bytes: int = 2048 * MB
    json_body_max_bytes: int = 50 * MB
    query_batch_size: int = 2000
    latency_ms: float = 0.0
    advertised_url: str | None = None


@dataclasses.dataclass
class User:
    """Login credentials of one user; the matching User record sits in the store."""

    id: str
    username: str
    password: str
    security_token: str
    full_name: str
    email: str
    failed_logins: int = 0
    locked_until: dt.datetime | None = None


@dataclasses.dataclass
class ConnectedApp:
    """The OAuth client: consumer key and secret, JWT certificate, client-credentials user."""

    consumer_key: str
    consumer_secret: str
    certificate_pem: str
    private_key_pem: str
    run_as_username: str | None
    preapproved_usernames: tuple[str, ...] = ()


@dataclasses.dataclass
class Session:
    """One access token (SOAP session id or OAuth token) and its idle timer."""

    token: str
    user_id: str
    last_used: dt.datetime


class LoginFailure(Exception):
    """A login was rejected; ``code`` is the SOAP exception code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Org:
    """One org with its records, users, sessions, call log and faults."""

    def __init__(
        self,
        settings: OrgSettings | None = None,
        schema: Schema | None = None,
        org_id: str = DEFAULT_ORG_ID,
    ) -> None:
        self.lock = threading.RLock()
        self.settings = settings or OrgSettings()
        self.schema = schema or load_schema()
        self.org_id = org_id
        self.store = RecordStore()
        for spec in self.schema.objects.values():
            for field in spec.fields.values():
                if field.external_id or field.unique:
                    self.store.add_index(spec.name, field.name, field.case_sensitive)
        self.ids = IdAllocator()
        self.users: dict[str, User] = {}
        self.app: ConnectedApp
        self.sessions: dict[str, Session] = {}
        self.api_calls: collections.deque[dt.datetime] = collections.deque()
        self.calls = CallLog()
        self.faults = FaultInjector()
        self.query_cursors: dict[str, list[dict[str, Any]]] = {}
        self.logins: dict[str, collections.deque[dt.datetime]] = {}

    # Users and credentials

    def find_user(self, username: str) -> User | None:
        return self.users.get(username.lower())

    @property
    def default_user(self) -> User:
        return next(iter(self.users.values()))

    @property
    def username(self) -> str:
        return self.default_user.username

    @property
    def password(self) -> str:
        return self.default_user.password

    @property
    def security_token(self) -> str:
        return self.default_user.security_token

    @property
    def consumer_key(self) -> str:
        return self.app.consumer_key

    @property
    def consumer_secret(self) -> str:
        return self.app.consumer_secret

    @property
    def certificate_pem(self) -> str:
        return self.app.certificate_pem

    @property
    def private_key_pem(self) -> str:
        """Private key matching ``certificate_pem``, for signing JWT assertions in tests."""
        return self.app.private_key_pem

    def check_password(self, username: str, supplied: str) -> User:
        """Check a password (with the security token appended when required); raise LoginFailure."""
        with self.lock:
            user = self.find_user(username)
            if user is None:
                raise LoginFailure("INVALID_LOGIN", INVALID_LOGIN_MESSAGE)
            now = clock.now()
            if user.locked_until is not None and user.locked_until > now:
                raise LoginFailure(
                    "PASSWORD_LOCKOUT",
                    "The user has exceeded the allowed number of login attempts. "
                    "Please ask your administrator to unlock the account.",
                )
            if supplied == user.password + user.security_token or (
                supplied == user.password and not self.settings.require_security_token
            ):
                user.failed_logins = 0
                self.count_login(user)
                return user
            failure = self._failed_login(user, supplied, now)
        raise failure

    def _failed_login(self, user: User, supplied: str, now: dt.datetime) -> LoginFailure:
        user.failed_logins += 1
        if user.failed_logins >= self.settings.lockout_attempts:
            user.locked_until = now + dt.timedelta(minutes=self.settings.lockout_minutes)
        if supplied == user.password:
            return LoginFailure(
                "LOGIN_MUST_USE_SECURITY_TOKEN",
                "Invalid username, password, security token; or user locked out. Are you at a "
                "new location? When accessing Salesforce--either via a desktop client or the "
                "API--from outside of your company's trusted networks, you must add a security "
                "token to your password to log in. To get your new security token, log in to "
                "Salesforce. From your personal settings, enter Reset My Security Token in the "
                "Quick Find box, then select Reset My Security Token.",
            )
        return LoginFailure("INVALID_LOGIN", INVALID_LOGIN_MESSAGE)

    def change_password(self, new_password: str, username: str | None = None) -> None:
        """Set a user's password (the first user by default); their sessions stay valid."""
        with self.lock:
            user = self.find_user(username) if username else self.default_user
            if user is None:
                raise KeyError(f"no user {username!r} in the emulated org")
            user.password = new_password

    def unlock(self) -> None:
        with self.lock:
            for user in self.users.values():
                user.failed_logins = 0
                user.locked_until = None

    # Sessions

    def open_session(self, user: User) -> str:
        """Return a new session for ``user``, or the user's live one when ``reuse_sessions`` is set."""
        with self.lock:
            if self.settings.reuse_sessions:
                for session in list(self.sessions.values()):
                    if session.user_id == user.id and self.touch_session(session.token):
                        return session.token
            token = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(72)}"
            self.sessions[token] = Session(token, user.id, clock.now())
            return token

    def count_login(self, user: User) -> None:
        """Count a successful login; raise LoginFailure past the hourly login limit."""
        with self.lock:
            now = clock.now()
            recent = self.logins.setdefault(user.id, collections.deque())
            while recent and recent[0] <= now - dt.timedelta(hours=1):
                recent.popleft()
            if len(recent) >= self.settings.login_rate_limit_per_hour:
                # NOTE: Salesforce reports "Login Rate Exceeded", but the exact exception
                # code is not confirmed, so this uses the generic limit code.
                raise LoginFailure("REQUEST_LIMIT_EXCEEDED", "Login Rate Exceeded")
            recent.append(now)

    def touch_session(self, token: str) -> Session | None:
        """Return the live session for ``token`` and restart its idle timer, or None."""
        with self.lock:
            session = self.sessions.get(token)
            if session is None:
                return None
            now = clock.now()
            idle = dt.timedelta(seconds=self.settings.session_timeout_seconds)
            if now - session.last_used > idle:
                del self.sessions[token]
                return None
            session.last_used = now
            return session

    def expire_sessions(self) -> int:
        with self.lock:
            count = len(self.sessions)
            self.sessions.clear()
            return count

    # API allocation (rolling 24 hours)

    def api_usage(self) -> tuple[int, int]:
        with self.lock:
            self._forget_old_calls()
            return len(self.api_calls), self.settings.daily_api_limit

    def spend_api_call(self) -> bool:
        """Count one API request; return False when the allocation is already used up."""
        with self.lock:
            self._forget_old_calls()
            if len(self.api_calls) >= self.settings.daily_api_limit:
                return False
            self.api_calls.append(clock.now())
            return True

    def set_api_usage(self, used: int) -> None:
        """Pretend ``used`` requests were made in the last 24 hours (for limit tests)."""
        with self.lock:
            now = clock.now()
            self.api_calls = collections.deque([now] * used)

    def _forget_old_calls(self) -> None:
        horizon = clock.now() - dt.timedelta(hours=24)
        while self.api_calls and self.api_calls[0] <= horizon:
            self.api_calls.popleft()

    # Seed

    def seed(
        self,
        username: str,
        password: str,
        security_token: str,
        consumer_key: str,
        consumer_secret: str,
    ) -> None:
        """Create the integration user, the connected app and a Document folder."""
        from docrelay.emulators.salesforce.dml import insert_system_record

        private_pem, cert_pem = generate_keypair()
        with self.lock:
            user_id = insert_system_record(
                self,
                "User",
                {
                    "Username": username,
                    "FirstName": "DocRelay",
                    "LastName": "Integration",
                    "Email": username,
                    "Alias": "docrelay",
                },
            )
            self.users[username.lower()] = User(
                user_id, username, password, security_token, "DocRelay Integration", username
            )
            self.app = ConnectedApp(
                consumer_key, consumer_secret, cert_pem, private_pem, run_as_username=username
            )
            insert_system_record(
                self,
                "Folder",
                {
                    "Name": "DocRelay Documents",
                    "DeveloperName": "DocRelay_Documents",
                    "Type": "Document",
                },
            )


@functools.cache
def generate_keypair() -> tuple[str, str]:
    """Return (private key PEM, self-signed certificate PEM) for the JWT bearer flow.

    Cached per process: RSA key generation takes a noticeable fraction of a
    second, and test fixtures start many emulators.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DocRelay Salesforce emulator")])
    now = clock.now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    return private_pem, cert_pem
