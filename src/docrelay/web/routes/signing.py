"""The signing API behind each signatory's link: JSON for the signing page, page images, actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from docrelay.signing import access, service, viewing
from docrelay.signing.context import Client
from docrelay.signing.requests import AccessCode, Decline, Feedback, FieldValues, SignRequest
from docrelay.web.deps import RuntimeDep

router = APIRouter(prefix="/sign", tags=["signing"])

PAGE_WIDTH_PX = 1000


def get_client(request: Request) -> Client:
    session_value = request.headers.get(access.SESSION_HEADER) or request.cookies.get(
        access.SESSION_COOKIE
    )
    return Client(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        signing_session=session_value,
    )


ClientDep = Annotated[Client, Depends(get_client)]


@router.get("/{token}", summary="Show the document, pages and fields for one signatory")
def signing_page(runtime: RuntimeDep, client: ClientDep, token: str) -> dict[str, Any]:
    return viewing.signing_view(runtime, token, client)


@router.get("/{token}/pages/{number}.png", summary="Render one page of the document as a PNG image")
def page_image(
    runtime: RuntimeDep, client: ClientDep, token: str, number: Annotated[int, Path(ge=1)]
) -> Response:
    from docrelay.pdf.render import render_page_png

    pdf = viewing.page_source(runtime, token, number, client)
    image = render_page_png(pdf, number, width_px=PAGE_WIDTH_PX)
    return Response(
        content=image, media_type="image/png", headers={"Cache-Control": "private, max-age=300"}
    )


@router.post("/{token}/access-code", summary="Check the access code and open a signing session")
def access_code(
    runtime: RuntimeDep, client: ClientDep, token: str, body: AccessCode, response: Response
) -> dict[str, Any]:
    value = viewing.submit_access_code(runtime, token, body.access_code, client)
    response.set_cookie(
        access.SESSION_COOKIE,
        value,
        max_age=int(access.SESSION_LIFETIME.total_seconds()),
        path=f"/sign/{token}",
        httponly=True,
        samesite="strict",
        secure=runtime.settings.base_url.startswith("https://"),
    )
    return {
        "session": value,
        "header": access.SESSION_HEADER,
        "expires_in": int(access.SESSION_LIFETIME.total_seconds()),
    }


@router.post("/{token}/fields", summary="Fill field values")
def fill_fields(
    runtime: RuntimeDep, client: ClientDep, token: str, body: FieldValues
) -> dict[str, Any]:
    return {"fields": service.fill_fields(runtime, token, body.values, client)}


@router.post("/{token}/sign", summary="Sign with a typed name or a drawn signature")
def sign(runtime: RuntimeDep, client: ClientDep, token: str, body: SignRequest) -> dict[str, Any]:
    return service.sign(runtime, token, body, client)


@router.post("/{token}/decline", summary="Decline to sign, with a reason")
def decline(runtime: RuntimeDep, client: ClientDep, token: str, body: Decline) -> dict[str, Any]:
    return service.decline(runtime, token, body.reason, client)


@router.post("/{token}/feedback", status_code=204, summary="Leave feedback for the sender")
def feedback(runtime: RuntimeDep, client: ClientDep, token: str, body: Feedback) -> Response:
    service.submit_feedback(runtime, token, body.feedback, client)
    return Response(status_code=204)
