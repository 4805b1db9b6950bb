"""Two accounts never see each other's objects, through any endpoint."""

from __future__ import annotations

import json
import re

from core_helpers import create_template, sign_all, started_document, two_step_definition

ID_PARAMETERS = {"template_id", "document_id"}


def _routes_with_ids(app) -> list[tuple[str, str]]:
    """List (method, path) of every API operation whose path names only templates or documents."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        if path.startswith("/api/v1/") and names and names <= ID_PARAMETERS:
            found.extend((method.upper(), path) for method in operations)
    return sorted(found)


def test_other_account_gets_404_everywhere(runtime, user, other_user) -> None:
    template = create_template(user.client)
    document, _paths = started_document(user.client, template["id"])
    ids = {"template_id": template["id"], "document_id": document["id"]}

    routes = _routes_with_ids(other_user.client.app)
    assert ("GET", "/api/v1/documents/{document_id}/download") in routes
    assert ("DELETE", "/api/v1/templates/{template_id}") in routes
    # Valid bodies, so that only ownership can make these requests fail.
    bodies = {
        ("PUT", "/api/v1/templates/{template_id}"): {
            "data": {"definition": json.dumps(two_step_definition())}
        },
        ("POST", "/api/v1/documents/{document_id}/cancel"): {"json": {"remarks": "not mine"}},
    }
    for method, path in routes:
        url = path.format(**{name: ids[name] for name in re.findall(r"{(\w+)}", path)})
        response = other_user.client.request(method, url, **bodies.get((method, path), {}))
        if path.endswith("/workflow") and method == "PUT":
            # This body's shape belongs to the workflow API; a 422 there still reveals nothing.
            assert response.status_code in (404, 422), f"{method} {url}: {response.status_code}"
        else:
            assert response.status_code == 404, f"{method} {url} answered {response.status_code}"
        assert "dana@example.com" not in response.text
        assert "Agreement 42" not in response.text

    # Nothing changed for the owner.
    mine = user.client.get(f"/api/v1/documents/{document['id']}").json()
    assert mine["status"] == "DSS"
    assert user.client.get(f"/api/v1/templates/{template['id']}").status_code == 200


def test_lists_are_scoped(user, other_user) -> None:
    template = create_template(user.client)
    started_document(user.client, template["id"])
    assert other_user.client.get("/api/v1/templates").json()["items"] == []
    assert other_user.client.get("/api/v1/documents").json()["items"] == []
    assert len(user.client.get("/api/v1/documents").json()["items"]) == 1


def test_other_account_cannot_use_template(user, other_user) -> None:
    template = create_template(user.client)
    body = {
        "template_id": template["id"],
        "signatories": [
            {"name": "A", "email": "a@example.com"},
            {"name": "B", "email": "b@example.com"},
        ],
    }
    assert other_user.client.post("/api/v1/documents", json=body).status_code == 404


def test_settings_are_per_account(user, other_user) -> None:
    user.client.patch("/api/v1/settings", json={"time_zone": "Europe/Berlin"})
    assert other_user.client.get("/api/v1/settings").json()["time_zone"] == "UTC"
    assert other_user.client.get("/api/v1/settings").json()["context_id"] == other_user.context_id


def test_completed_download_is_scoped(user, other_user) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    sign_all(user.client, paths)
    for kind in ("original", "completed", "audit"):
        url = f"/api/v1/documents/{document['id']}/download?type={kind}"
        assert other_user.client.get(url).status_code == 404
        assert user.client.get(url).status_code == 200


def test_missing_key_is_401(app_client) -> None:
    assert app_client.get("/api/v1/documents").status_code == 401
    assert (
        app_client.get(
            "/api/v1/settings", headers={"Authorization": "Bearer drk_wrong"}
        ).status_code
        == 401
    )
