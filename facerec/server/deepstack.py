"""DeepStack's face API, at the paths its clients hard-code.

NVRs (Blue Iris, Agent DVR), Double Take and Home Assistant's DeepStack integrations send
faces to ``/v1/vision/face...`` as multipart forms and read DeepStack's answers; these
routes give them facerec's recognition without glue code. Every route is a POST and
answers ``{"success": true, ...}``; errors are ``{"success": false, "error": "..."}`` with
the HTTP status in ``code`` (see ``error_shapes``):

* ``/v1/vision/face`` (detect): form ``image``, optional ``min_confidence``; every face as
  ``{"confidence", "x_min", "y_min", "x_max", "y_max"}`` (the detector's score, pixels).
* ``/v1/vision/face/register``: form ``userid`` and one or more photos under any field
  names (``image``, ``image1``, ...); the main face of each is enrolled for ``userid``.
* ``/v1/vision/face/recognize``: form ``image``, optional ``min_confidence``; every face
  with ``userid`` (a name, or ``unknown`` with confidence 0) and ``confidence``.
* ``/v1/vision/face/list``: ``{"faces": [every name]}``.
* ``/v1/vision/face/delete``: form ``userid``; that person is removed everywhere, as
  ``DELETE /v1/people/{name}`` does.

**The key.** DeepStack clients send the key as the form field ``api_key``; it is checked
against facerec's API key (the ``X-API-Key`` header is accepted too). Host, origin, size
and pixel limits apply as on ``/v1``: the routes go through the same middleware and the
same ``RecognitionService``.

**Confidence.** A recognised face's ``confidence`` is its similarity rescaled so that the
database's threshold reads ``MATCH_CONFIDENCE`` (0.67) and a perfect match 1.0, linearly
in between; a face left unknown is answered with confidence 0. Who a
face is, is decided by the threshold alone, chosen for the model's (or
the database's calibrated) false-accept rate; a ``min_confidence`` above 0.67 makes
recognition stricter, one below it does not name anyone the threshold would not (clients
send their own defaults, chosen for DeepStack's model, not this one).
"""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, Request
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from facerec.errors import PersonNotFound
from facerec.names import UNKNOWN
from facerec.results import Match
from facerec.server.config import API_KEY_HEADER
from facerec.server.service import RecognitionService, Upload
from facerec.server.uploads import read_upload
from facerec.types import Detection

PREFIX = "/v1/vision/face"
MATCH_CONFIDENCE = 0.67
"""The confidence a face at exactly the database's threshold is given."""
MAX_FORM_FILES = 64
"""Most photos in one request (``register`` takes several)."""


def confidence(similarity: float, threshold: float) -> float:
    """``similarity`` (cosine, -1..1) on DeepStack's 0..1 scale, where ``threshold``
    reads ``MATCH_CONFIDENCE`` (see the module's docstring)."""
    if similarity >= threshold:
        span = max(1.0 - threshold, 1e-6)
        value = MATCH_CONFIDENCE + (1.0 - MATCH_CONFIDENCE) * (similarity - threshold) / span
    else:
        value = MATCH_CONFIDENCE * (similarity + 1.0) / max(threshold + 1.0, 1e-6)
    return round(min(max(value, 0.0), 1.0), 4)


def deepstack_routes(service: RecognitionService) -> APIRouter:
    """The DeepStack face routes over ``service`` (to include at the app's root)."""
    router = APIRouter(prefix=PREFIX, tags=["DeepStack face API"])
    key = service.config.api_key

    @router.post("")
    async def detect(request: Request) -> dict[str, object]:
        """Every face of ``image``, with the detector's score as ``confidence``."""
        started = time.perf_counter()
        form = await _form(request, key)
        floor = _min_confidence(form)
        faces, _, _ = await service.faces_of(await _image(form))
        found = [{"confidence": round(f.detection.score, 4), **_box(f.detection)}
                 for f in faces if floor is None or f.detection.score >= floor]
        return _answer(started, predictions=found)

    @router.post("/recognize")
    async def recognize(request: Request) -> dict[str, object]:
        """Every face of ``image`` with the person it is (``userid``) or ``unknown``."""
        started = time.perf_counter()
        form = await _form(request, key)
        floor = _min_confidence(form)
        matches, used = await service.identify(await _image(form), 1, None)
        return _answer(started, predictions=[_prediction(m, used.value, floor)
                                             for m in matches])

    @router.post("/register")
    async def register(request: Request) -> dict[str, object]:
        """Enroll the main face of each photo sent for ``userid``."""
        started = time.perf_counter()
        form = await _form(request, key)
        userid = _userid(form)
        uploads = await _images(form)
        report = await service.enroll(userid, uploads)
        if not (report.added or report.replaced or report.unchanged or report.duplicates):
            reasons = "; ".join(f"{s.path}: {s.reason}" for s in report.skipped)
            raise HTTPException(400, f"no face of {userid} could be registered: {reasons}")
        return _answer(started, message="face added")

    @router.post("/list")
    async def list_faces(request: Request) -> dict[str, object]:
        """The names of everyone registered."""
        started = time.perf_counter()
        await _form(request, key)
        return _answer(started, faces=[name for name, _ in await service.people()])

    @router.post("/delete")
    async def delete(request: Request) -> dict[str, object]:
        """Remove ``userid`` and every face of theirs, erased before the answer."""
        started = time.perf_counter()
        userid = _userid(await _form(request, key))
        try:
            await service.remove(userid)
        except PersonNotFound:
            return _answer(started, message=f"{userid} was not registered")
        return _answer(started, message="face deleted")

    return router


async def _form(request: Request, expected_key: str | None) -> FormData:
    """The request's form, once its key was checked (DeepStack's ``api_key`` field, or
    the ``X-API-Key`` header)."""
    header = request.headers.get(API_KEY_HEADER)
    if expected_key is not None and header is not None and _same(header, expected_key):
        expected_key = None
    form = await request.form(max_files=MAX_FORM_FILES, max_fields=100)
    if expected_key is not None:
        given = form.get("api_key")
        if not isinstance(given, str) or not _same(given, expected_key):
            raise HTTPException(401, "Incorrect api key")
    return form


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


async def _image(form: FormData) -> Upload:
    image = form.get("image")
    if not isinstance(image, UploadFile):
        raise HTTPException(400, "No valid image file found: send the photo as the form "
                                 "field 'image'")
    return await read_upload(image, "image")


async def _images(form: FormData) -> list[Upload]:
    images = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
    if not images:
        raise HTTPException(400, "No valid image file found: send one or more photos")
    return [await read_upload(image, "image") for image in images]


def _userid(form: FormData) -> str:
    userid = form.get("userid")
    if not isinstance(userid, str) or not userid.strip():
        raise HTTPException(400, "userid not specified")
    return userid


def _min_confidence(form: FormData) -> float | None:
    given = form.get("min_confidence")
    if given is None or given == "":
        return None
    try:
        value = float(given) if isinstance(given, str) else float("nan")
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise HTTPException(400, "min_confidence must be a number from 0 to 1")
    return value


def _prediction(match: Match, threshold: float, floor: float | None) -> dict[str, object]:
    score = confidence(match.similarity, threshold)
    named = match.person != UNKNOWN and (floor is None or score >= floor)
    return {"userid": match.person if named else UNKNOWN,
            "confidence": score if named else 0.0, **_box(match.detection)}


def _box(detection: Detection) -> dict[str, int]:
    x1, y1, x2, y2 = detection.box
    return {"x_min": round(x1), "y_min": round(y1), "x_max": round(x2), "y_max": round(y2)}


def _answer(started: float, **fields: object) -> dict[str, object]:
    return {"success": True, **fields,
            "duration": round((time.perf_counter() - started) * 1000)}
