"""Saving the org to a JSON file and loading it back (``--state FILE``).

The file contains records, file bodies (base64), users with their current
passwords, the connected app with its JWT key pair, sessions, the 24-hour API
call times and the settings. It is written atomically (temporary file, then
rename), so a crash leaves the previous state readable.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from docrelay.emulators.salesforce.admin import settings_dict
from docrelay.emulators.salesforce.org import ConnectedApp, Org, OrgSettings, Session, User
from docrelay.errors import ConfigurationError

FORMAT_VERSION = 1


def snapshot(org: Org) -> dict[str, Any]:
    """Return the org state as JSON-able data."""
    with org.lock:
        return {
            "format": FORMAT_VERSION,
            "org_id": org.org_id,
            "next_id": org.ids.next_number,
            "settings": settings_dict(org.settings),
            "users": [_user_dict(user) for user in org.users.values()],
            "app": dataclasses.asdict(org.app),
            "sessions": [
                {"token": s.token, "user_id": s.user_id, "last_used": s.last_used.isoformat()}
                for s in org.sessions.values()
            ],
            "api_calls": [moment.isoformat() for moment in org.api_calls],
            "records": {name: list(table.values()) for name, table in org.store.records.items()},
            "blobs": {
                key: base64.b64encode(data).decode() for key, data in org.store.blobs.items()
            },
        }


def save(org: Org, path: Path) -> None:
    data = json.dumps(snapshot(org))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(org: Org, path: Path) -> None:
    """Replace the org's state with the file's; raise ConfigurationError when it is unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        _restore(org, data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"cannot load emulator state from {path}: {exc}; delete the file to start fresh"
        ) from exc


def _restore(org: Org, data: dict[str, Any]) -> None:
    if data.get("format") != FORMAT_VERSION:
        raise ValueError(f"unsupported state format {data.get('format')!r}")
    settings = dict(data["settings"])
    settings["jwt_audiences"] = tuple(settings.get("jwt_audiences", ()))
    known = {f.name for f in dataclasses.fields(OrgSettings)}
    with org.lock:
        org.org_id = data["org_id"]
        org.ids.next_number = int(data["next_id"])
        org.settings = OrgSettings(**{k: v for k, v in settings.items() if k in known})
        org.users = {u["username"].lower(): _user_from(u) for u in data["users"]}
        app = dict(data["app"])
        app["preapproved_usernames"] = tuple(app.get("preapproved_usernames", ()))
        org.app = ConnectedApp(**app)
        org.sessions = {
            s["token"]: Session(s["token"], s["user_id"], dt.datetime.fromisoformat(s["last_used"]))
            for s in data["sessions"]
        }
        org.api_calls.clear()
        org.api_calls.extend(dt.datetime.fromisoformat(t) for t in data["api_calls"])
        org.store.clear()
        for name, records in data["records"].items():
            org.store.records[name] = {record["Id"][:15]: record for record in records}
        org.store.blobs.update({k: base64.b64decode(v) for k, v in data["blobs"].items()})
        org.store.reindex()


def _user_dict(user: User) -> dict[str, Any]:
    values = dataclasses.asdict(user)
    values["locked_until"] = user.locked_until.isoformat() if user.locked_until else None
    return values


def _user_from(values: dict[str, Any]) -> User:
    locked = values.get("locked_until")
    return User(**{**values, "locked_until": dt.datetime.fromisoformat(locked) if locked else None})
