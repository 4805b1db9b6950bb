"""The signing API: visits, access codes and lockout, steps, fields, decline, feedback, closed links."""

from __future__ import annotations

import base64
import io

from core_helpers import create_document, create_template, signing_paths, started_document
from PIL import Image, ImageDraw

from docrelay.signing.access import SESSION_HEADER


def _history_types(client, document_id: str) -> list[str]:
    return [
        event["event"]
        for event in client.get(f"/api/v1/documents/{document_id}/history").json()["events"]
    ]


def _events(client, document_id: str, event_type: str) -> list[dict]:
    events = client.get(f"/api/v1/documents/{document_id}/history").json()["events"]
    return [event for event in events if event["event"] == event_type]


def test_signing_view_shows_own_fields(user) -> None:
    template = create_template(user.client)
    _document, paths = started_document(user.client, template["id"])
    view = user.client.get(paths[0]).json()
    assert view["signatory"]["number"] == 1
    assert view["page_count"] == 1
    assert view["can_sign"] is True
    names = {field["name"]: field for field in view["fields"]}
    assert set(names) == {
        "customer_signature",
        "customer_name",
        "customer_date",
        "po_number",
        "agree",
    }
    assert names["po_number"]["value"] == "PO-7781"

    second = user.client.get(paths[1]).json()
    assert second["can_sign"] is False
    assert {field["name"] for field in second["fields"]} == {
        "company_signature",
        "company_initials",
    }


def test_landing_visit_recorded_once_per_visit(user) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    user.client.get(paths[0])
    user.client.get(paths[0])
    visits = _events(user.client, document["id"], "landing_page.visited")
    assert [event["data"] for event in visits] == [{"signatory": 1, "step": 1}]
    signatory = user.client.get(f"/api/v1/documents/{document['id']}").json()["signatories"][0]
    assert signatory["status"] == "viewed"


def test_page_image_is_png(user) -> None:
    template = create_template(user.client)
    _document, paths = started_document(user.client, template["id"])
    response = user.client.get(f"{paths[0]}/pages/1.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).width == 1000
    assert user.client.get(f"{paths[0]}/pages/2.png").status_code == 422


def test_later_step_cannot_sign_early(user) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    response = user.client.post(f"{paths[1]}/sign", json={"signature": {"typed_name": "Sam"}})
    assert response.status_code == 409
    assert response.json()["current_step"] == 1
    assert (
        user.client.get(f"/api/v1/documents/{document['id']}").json()["signatories"][1]["status"]
        == "pending"
    )


def test_fields_then_sign_moves_to_next_step(user) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    filled = user.client.post(
        f"{paths[0]}/fields", json={"values": {"agree": True, "po_number": "PO-9"}}
    )
    assert filled.status_code == 200, filled.text
    values = {field["name"]: field["value"] for field in filled.json()["fields"]}
    assert values["po_number"] == "PO-9"

    result = user.client.post(f"{paths[0]}/sign", json={"signature": {"typed_name": "Dana"}}).json()
    assert result["document_status"] == "DSS"
    assert result["current_step"] == 2
    assert _events(user.client, document["id"], "step.completed")[0]["data"] == {"step": 1}
    assert _events(user.client, document["id"], "step.started")[-1]["data"] == {"step": 2}

    again = user.client.post(f"{paths[0]}/sign", json={"signature": {"typed_name": "Dana"}})
    assert again.status_code == 409


def test_drawn_signature_accepted(user) -> None:
    template = create_template(user.client)
    _document, paths = started_document(user.client, template["id"])
    image = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(10, 80), (120, 20), (290, 70)], fill=(0, 0, 0, 255), width=5)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    body = {
        "signature": {"image_png_base64": base64.b64encode(buffer.getvalue()).decode()},
        "values": {"agree": True},
    }
    response = user.client.post(f"{paths[0]}/sign", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["signatories"][0]["status"] == "signed"


def test_access_code_lockout_after_five(user) -> None:
    template = create_template(user.client)
    signatories = [
        {"name": "Dana Customer", "email": "dana@example.com", "access_code": "4711"},
        {"name": "Sam Seller", "email": "sam@example.net"},
    ]
    document, paths = started_document(user.client, template["id"], signatories=signatories)
    view = user.client.get(paths[0]).json()
    assert view["access_code_required"] is True
    assert "fields" not in view
    assert (
        user.client.post(f"{paths[0]}/sign", json={"signature": {"typed_name": "Dana"}}).status_code
        == 401
    )

    for attempt in range(1, 5):
        response = user.client.post(f"{paths[0]}/access-code", json={"access_code": "0000"})
        assert response.status_code == 422
        assert f"{5 - attempt} attempt(s) left" in response.json()["detail"]
    final = user.client.post(f"{paths[0]}/access-code", json={"access_code": "0000"})
    assert final.status_code == 403
    # Even the right code no longer opens the link.
    assert (
        user.client.post(f"{paths[0]}/access-code", json={"access_code": "4711"}).status_code == 403
    )

    failures = _events(user.client, document["id"], "signer.authentication_failed")
    assert [event["data"] for event in failures] == [{"signatory": 1}]
    signatory = user.client.get(f"/api/v1/documents/{document['id']}").json()["signatories"][0]
    assert signatory["status"] == "authentication_failed"


def test_access_code_opens_session(app_client, user) -> None:
    template = create_template(user.client)
    signatories = [
        {"name": "Dana Customer", "email": "dana@example.com", "access_code": "4711"},
        {"name": "Sam Seller", "email": "sam@example.net"},
    ]
    _document, paths = started_document(user.client, template["id"], signatories=signatories)
    wrong = user.client.post(f"{paths[0]}/access-code", json={"access_code": "1234"})
    assert wrong.status_code == 422
    opened = user.client.post(f"{paths[0]}/access-code", json={"access_code": "4711"})
    assert opened.status_code == 200
    session = opened.json()["session"]

    # A browser without the cookie or header still needs the code.
    assert app_client.get(paths[0]).json()["access_code_required"] is True
    view = app_client.get(paths[0], headers={SESSION_HEADER: session}).json()
    assert view["access_code_required"] is False
    assert view["can_sign"] is True


def test_decline_ends_document(user) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    response = user.client.post(f"{paths[0]}/decline", json={"reason": "Price is wrong"})
    assert response.status_code == 200
    assert response.json()["document_status"] == "DSD"
    declined = _events(user.client, document["id"], "document.declined")
    assert declined[0]["data"] == {"signatory": 1, "reason": "Price is wrong"}

    closed = user.client.get(paths[1])
    assert closed.status_code == 410
    assert "declined" in closed.json()["detail"]
    assert closed.json()["current_status"] == "DSD"
    assert (
        user.client.post(f"{paths[0]}/sign", json={"signature": {"typed_name": "x"}}).status_code
        == 410
    )


def test_feedback_recorded(user) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    response = user.client.post(
        f"{paths[1]}/feedback", json={"feedback": "Please send it in German"}
    )
    assert response.status_code == 204
    events = _events(user.client, document["id"], "signer.feedback_submitted")
    assert events[0]["data"] == {"signatory": 2, "feedback": "Please send it in German"}


def test_unsent_and_unknown_links(user) -> None:
    template = create_template(user.client)
    document = create_document(user.client, template["id"])
    paths = signing_paths(user.client, document["id"])
    assert user.client.get(paths[0]).status_code == 409
    assert user.client.get("/sign/not-a-real-token").status_code == 404


def test_cancel_closes_links(user) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    user.client.post(f"/api/v1/documents/{document['id']}/cancel", json={"remarks": "duplicate"})
    assert user.client.get(paths[0]).status_code == 410
    assert _history_types(user.client, document["id"])[-1] == "document.cancelled"


def test_actions_record_client(user) -> None:
    template = create_template(user.client)
    document, paths = started_document(user.client, template["id"])
    headers = {"User-Agent": "SignerBrowser/1.0"}
    user.client.get(paths[0], headers=headers)
    user.client.post(
        f"{paths[0]}/sign",
        json={"signature": {"typed_name": "Dana"}, "values": {"agree": True}},
        headers=headers,
    )
    from docrelay.storage.models import Signatory

    runtime = user.client.app.state.runtime
    with runtime.database.transaction() as session:
        signatory = session.query(Signatory).filter_by(document_id=document["id"], position=1).one()
        actions = signatory.actions
    assert [action["action"] for action in actions] == ["viewed", "signed"]
    assert all(action["user_agent"] == "SignerBrowser/1.0" and action["ip"] for action in actions)
