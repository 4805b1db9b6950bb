"""The environment that points a CLI run at a test's runtime (same data dir, database and key)."""

from __future__ import annotations

from docrelay.runtime import Runtime


def settings_env(runtime: Runtime) -> dict[str, str]:
    settings = runtime.settings
    assert settings.secret_key is not None
    return {
        "DOCRELAY_DATA_DIR": str(settings.data_dir),
        "DOCRELAY_DATABASE_URL": settings.resolved_database_url,
        "DOCRELAY_SECRET_KEY": settings.secret_key.get_secret_value(),
        "DOCRELAY_LOG_LEVEL": "WARNING",
    }
