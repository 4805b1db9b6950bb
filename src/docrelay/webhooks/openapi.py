"""Publish the event payload models in the API's OpenAPI document.

Each model of :data:`~docrelay.webhooks.events.PAYLOAD_MODELS` becomes a
schema under ``components.schemas``, and each event gets an entry in the
OpenAPI 3.1 ``webhooks`` section, so client generators and readers see what a
receiver can expect for every event.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from docrelay.webhooks.events import EVENT_LABELS, PAYLOAD_MODELS

REF_TEMPLATE = "#/components/schemas/{model}"


def payload_schema_name(event_type: str) -> str:
    """Return the name of ``event_type``'s payload schema in ``components.schemas``."""
    return PAYLOAD_MODELS[event_type].__name__


def add_event_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """Add the payload schemas and the ``webhooks`` entries to an OpenAPI document in place."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    webhooks = document.setdefault("webhooks", {})
    for event_type, model in PAYLOAD_MODELS.items():
        schema = model.model_json_schema(ref_template=REF_TEMPLATE)
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schema["x-event"] = event_type
        schemas[model.__name__] = schema
        webhooks[event_type] = {
            "post": {
                "summary": EVENT_LABELS[event_type],
                "description": (
                    f"Payload of `{event_type}`. Web notification designs shape their own "
                    "body with merge fields; this schema lists the facts of the event."
                ),
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"$ref": REF_TEMPLATE.format(model=model.__name__)}
                        }
                    }
                },
                "responses": {"2XX": {"description": "The receiver accepted the notification."}},
            }
        }
    return document


def install_event_schemas(app: FastAPI) -> None:
    """Make ``app.openapi()`` include the event payload schemas."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_event_schemas(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
