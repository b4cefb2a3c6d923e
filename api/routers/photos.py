"""Photos as evidence: the crew uploads (multipart, field `file`), the desk and the crew read.

The type is checked by content (JPEG, PNG or WebP), the size against 10 MB;
the answer is `{photo_id, sha256, bytes, content_type, ...}`. Reading a
photo's bytes gives them as stored to auditors, and without the position the
photo's metadata claims to everyone else.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Path, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from rescue.api.deps import AnyRoleDep, AppDep, CrewDep, IdempotencyHeader
from rescue.api.replies import idempotency_key, respond
from rescue.api.responses import ANSWERS, SIGNED_IN, answers, json_answers
from rescue.domain.photos import KINDS, MAX_BYTES

router = APIRouter(prefix="/api/incidents", tags=["photos"])

PhotoId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {
        "model": ANSWERS[403]["model"],
        "description": f"the photo is larger than {MAX_BYTES // (1024 * 1024)} MB",
    }
}


@router.post(
    "/{incident_id}/photos",
    status_code=201,
    responses={**answers(*SIGNED_IN, 403, 404, 409, 422), **TOO_LARGE},
)
def attach_photo(
    incident_id: str,
    request: Request,
    app: AppDep,
    crew: CrewDep,
    file: Annotated[UploadFile, File(description="the photo: JPEG, PNG or WebP, at most 10 MB")],
    kind: Annotated[str, Form(description=f"what it shows: {', '.join(KINDS)}")] = "other",
    part_no: Annotated[str | None, Form(max_length=40)] = None,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Adds a photo of the job (crew of the incident's van); the same bytes again add nothing."""
    if file.size is not None and file.size > MAX_BYTES:
        raise HTTPException(413, f"a photo is at most {MAX_BYTES // (1024 * 1024)} MB")
    data = file.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise HTTPException(413, f"a photo is at most {MAX_BYTES // (1024 * 1024)} MB")
    # The key covers what was sent: the same key with other bytes is another request.
    fingerprint = {"sha256": hashlib.sha256(data).hexdigest(), "kind": kind, "part_no": part_no}
    idem = idempotency_key(crew, key, request.url.path, fingerprint)
    return respond(app.photos.attach(incident_id, data, kind, part_no, crew, idem))


@router.get("/{incident_id}/photos", responses=answers(*SIGNED_IN, 403, 404))
def list_photos(incident_id: str, app: AppDep, principal: AnyRoleDep) -> list[dict[str, Any]]:
    """The incident's photos with their hashes, oldest first (desk, crew of its van)."""
    return app.photos.photos(incident_id, principal)


@router.get(
    "/{incident_id}/photos/{photo_id}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
        **json_answers(*SIGNED_IN, 403, 404, 422),
    },
)
def photo_bytes(
    incident_id: str, photo_id: PhotoId, app: AppDep, principal: AnyRoleDep
) -> Response:
    """The photo's bytes (auditors: as stored; others: without its GPS metadata)."""
    data, content_type = app.photos.photo_bytes(incident_id, photo_id, principal)
    return Response(
        data,
        media_type=content_type,
        headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
