"""Outgoing alert emails: build them with the standard library, send them or write them as files.

With ``settings.smtp_url`` set (``smtp://`` or ``smtps://``, optional
``user:password@``, optional port) each message goes to that server. Without
it, each message is written as one ``.eml`` file under ``DATA_DIR/outbox``, so
a fresh install shows its alerts without any mail setup and tests can read
them back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.policy
import email.utils
import logging
import smtplib
import ssl
import urllib.parse
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

from docrelay import clock
from docrelay.config import Settings
from docrelay.errors import ConfigurationError, ValidationError

logger = logging.getLogger(__name__)

DEFAULT_SENDER = "DocRelay <docrelay@localhost>"
SMTP_TIMEOUT_SECONDS = 30
_LINE_BREAKS = ("\r", "\n", "\u2028", "\u2029", "\u0085", "\x0b", "\x0c")


def check_header(name: str, value: str) -> str:
    """Return ``value`` if it is safe as the header ``name``; raise ValidationError on a line break.

    A line break in a header value would let text from a design name or an
    error message start a new header (a header injection).
    """
    if any(mark in value for mark in _LINE_BREAKS):
        raise ValidationError.for_field(
            name, "must be a single line: header values may not contain line breaks"
        )
    return value


def build_message(
    *,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    now: dt.datetime | None = None,
) -> EmailMessage:
    """Build a plain-text email; every header value is checked for line breaks."""
    if not recipients:
        raise ValidationError.for_field("recipients", "name at least one address")
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = check_header("From", sender)
    message["To"] = ", ".join(check_header("To", address) for address in recipients)
    message["Subject"] = check_header("Subject", subject)
    message["Date"] = email.utils.format_datetime(now or clock.now())
    message["Message-ID"] = email.utils.make_msgid(domain="docrelay.local")
    message.set_content(body)
    return message


class Mailer:
    """Delivers built messages over SMTP, or to ``.eml`` files when no SMTP server is configured."""

    def __init__(self, smtp_url: str | None, outbox_dir: Path, sender: str = DEFAULT_SENDER):
        self.outbox_dir = outbox_dir
        self.sender = sender
        self._smtp = _parse_smtp_url(smtp_url) if smtp_url else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer:
        return cls(settings.smtp_url, settings.data_dir / "outbox")

    @property
    def writes_files(self) -> bool:
        return self._smtp is None

    def send(self, message: EmailMessage) -> str:
        """Send ``message``; return where it went (a file path or the SMTP host)."""
        if self._smtp is None:
            return str(self._write_file(message))
        self._send_smtp(message)
        return self._smtp.host

    def _write_file(self, message: EmailMessage) -> Path:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        stamp = clock.now().strftime("%Y%m%dT%H%M%S%f")
        token = str(message["Message-ID"]).strip("<>").split("@", 1)[0]
        path = self.outbox_dir / f"{stamp}-{token}.eml"
        path.write_bytes(message.as_bytes())
        return path

    def _send_smtp(self, message: EmailMessage) -> None:
        server = self._smtp
        assert server is not None
        if server.secure:
            context = ssl.create_default_context()
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host, server.port, timeout=SMTP_TIMEOUT_SECONDS, context=context
            )
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            if server.username is not None:
                client.login(server.username, server.password or "")
            client.send_message(message)


@dataclasses.dataclass(frozen=True, slots=True)
class _SmtpServer:
    host: str
    port: int
    secure: bool
    username: str | None
    password: str | None


def _parse_smtp_url(url: str) -> _SmtpServer:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigurationError(
            "DOCRELAY_SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465"
        )
    secure = parts.scheme == "smtps"
    return _SmtpServer(
        host=parts.hostname,
        port=parts.port or (465 if secure else 25),
        secure=secure,
        username=urllib.parse.unquote(parts.username) if parts.username else None,
        password=urllib.parse.unquote(parts.password) if parts.password else None,
    )
