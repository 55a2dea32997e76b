"""The HTTP API (FastAPI): routes, the API key, and errors as JSON.

Every data route is under ``/v1`` and needs the ``X-API-Key`` header when the server
has a key; ``/v1/health`` and the API description (``/docs``, served offline, and
``/openapi.json``) do not. Every request passes ``access.py`` first (its host, where a
change comes from, its framing), and every response carries the headers of ``headers.py``.
Errors are ``{"error": {"status": N, "message": "..."}}`` and never carry a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    File,
    Query,
    Request,
    Security,
    UploadFile,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from facerec import __version__
from facerec.errors import (
    DatabaseDamaged,
    DatabaseError,
    DatabaseUnavailable,
    FacerecError,
    ImageError,
    InvalidName,
    LibraryNotFound,
    NoFaceError,
    PersonExists,
    PersonNotFound,
    Unavailable,
)
from facerec.library import Together
from facerec.library.export import sidecars_naming
from facerec.names import normalize_name
from facerec.results import Identification, IdentificationDict, LibraryPhoto, VerificationDict
from facerec.server import schemas
from facerec.server.access import AccessMiddleware
from facerec.server.body_limit import BodyLimitMiddleware
from facerec.server.config import API_KEY_HEADER
from facerec.server.deepstack import deepstack_routes
from facerec.server.docs import add_offline_docs
from facerec.server.error_shapes import error_body
from facerec.server.guards import RequestGuardMiddleware
from facerec.server.headers import SecurityHeadersMiddleware
from facerec.server.schemas import PhotoPageDict
from facerec.server.service import HealthDict, RecognitionService
from facerec.server.uploads import read_upload
from facerec.server.web import add_web_page

log = logging.getLogger(__name__)

SHA256 = re.compile(r"[0-9a-f]{64}")
NO_STORE = "private, no-store"
"""Face crops are never kept in a browser's cache."""

ERROR_STATUS: dict[type[Exception], int] = {
    Unavailable: 503,
    DatabaseUnavailable: 503,
    DatabaseDamaged: 503,
    ImageError: 400,
    InvalidName: 400,
    NoFaceError: 422,
    PersonNotFound: 404,
    LibraryNotFound: 404,
    PersonExists: 409,
    DatabaseError: 409,
    FacerecError: 400,
}
"""Our exceptions and their HTTP status (the most specific class of an error wins)."""


def create_app(service: RecognitionService) -> FastAPI:
    """The ASGI app over ``service`` (limits and API key from its config); it closes the
    service when the server stops."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(title="facerec", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="Face recognition: identify, verify and enroll faces.",
                  responses={400: {"model": schemas.Error}, 401: {"model": schemas.Error},
                             413: {"model": schemas.Error}, 503: {"model": schemas.Error}})
    app.add_middleware(BodyLimitMiddleware, max_bytes=service.config.max_upload_bytes)
    app.add_middleware(RequestGuardMiddleware, body_timeout=service.config.body_timeout)
    app.add_middleware(AccessMiddleware, hosts=service.config.host_rule())
    app.add_middleware(SecurityHeadersMiddleware)
    add_offline_docs(app)
    add_web_page(app)
    _add_error_handlers(app)
    app.include_router(_public_routes(service), prefix="/v1")
    app.include_router(_data_routes(service), prefix="/v1",
                       dependencies=[Depends(_key_guard(service.config.api_key))])
    if service.config.deepstack_api:
        app.include_router(deepstack_routes(service))
    return app


# access ---------------------------------------------------------------------------------
def _key_guard(expected: str | None) -> Callable[..., Coroutine[Any, Any, None]]:
    header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)

    async def require_key(given: str | None = Security(header)) -> None:
        if expected is None:
            return
        if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(401, f"a valid {API_KEY_HEADER} header is required")

    return require_key


# routes ---------------------------------------------------------------------------------
def _public_routes(service: RecognitionService) -> APIRouter:
    router = APIRouter()

    @router.get("/health", response_model=schemas.HealthResult, tags=["service"])
    async def health() -> HealthDict:
        """Whether the service runs, with its model, device and database size."""
        return await service.health()

    return router


def _data_routes(service: RecognitionService) -> APIRouter:
    router = APIRouter()
    default_top_k = service.config.top_k

    @router.post("/identify", response_model=schemas.IdentifyResult, tags=["recognition"])
    async def identify(
        image: Annotated[UploadFile, File(description="a photo (JPEG, PNG, WebP, ...)")],
        top_k: Annotated[int, Query(ge=1, le=50)] = default_top_k,
        threshold: Annotated[float | None, Query(ge=-1, le=1, description=(
            "a fixed similarity to reach instead of the open-set threshold"))] = None,
        fpir: Annotated[float | None, Query(gt=0, lt=1, description=(
            "the share of strangers that may be given a name (default: the database's, "
            "else 0.01); the threshold follows from it and the people enrolled"))] = None,
    ) -> IdentificationDict:
        """Every face in the photo: its box, the person, "unsure" (two people nearly as
        close: no name, see the candidates) or "unknown" with the reason, and the rule
        that decided."""
        matches, used = await service.identify(await read_upload(image), top_k, threshold,
                                               fpir)
        return Identification(tuple(matches), used, service.analyzer.model_id).to_dict()

    @router.post("/verify", response_model=schemas.VerifyResult, tags=["recognition"])
    async def verify(
        image_a: Annotated[UploadFile, File(description="the first photo")],
        image_b: Annotated[UploadFile, File(description="the second photo")],
        threshold: Annotated[float | None, Query(ge=-1, le=1)] = None,
    ) -> VerificationDict:
        """Whether the main faces of two photos show the same person."""
        result = await service.verify(await read_upload(image_a), await read_upload(image_b),
                                      threshold)
        return result.to_dict()

    @router.post("/clusters", tags=["recognition"])
    async def clusters(
        images: Annotated[list[UploadFile] | None,
                          File(description="photos whose faces to group; none: the "
                                           "unknown faces identify has seen")] = None,
        threshold: Annotated[float | None, Query(ge=-1, le=1)] = None,
    ) -> dict[str, object]:
        """Group faces by person without names: every face of the photos sent, or, with
        none, the most recent faces identify called unknown (kept in memory only)."""
        return await service.clusters([await read_upload(i) for i in images or []], threshold)

    @router.get("/faces/{face_id}/thumbnail", tags=["people"],
                response_class=Response,
                responses={200: {"content": {"image/jpeg": {}},
                                 "description": "a JPEG crop of the face"},
                           404: {"model": schemas.Error}})
    async def thumbnail(face_id: int, request: Request) -> Response:
        """A small JPEG of an enrolled face (its box with a margin), for pages that show
        people. Never stored by the browser (a face erased here must not live on in its
        cache); the ETag lets it revalidate."""
        jpeg = await service.thumbnail(face_id)
        if jpeg is None:
            raise HTTPException(404, f"face {face_id} has no thumbnail: its photo is gone")
        tag = '"' + hashlib.sha256(jpeg).hexdigest()[:32] + '"'
        headers = {"Cache-Control": NO_STORE, "ETag": tag}
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers=headers)
        return Response(jpeg, media_type="image/jpeg", headers=headers)

    @router.delete("/faces/{face_id}", response_model=schemas.RemovedFace, tags=["people"])
    async def remove_face(face_id: int) -> dict[str, object]:
        """Delete one enrolled face; the person goes too when it was their last. Erased
        from every copy before the answer (``erased`` says where)."""
        erased = await service.remove_face(face_id)
        return {"id": face_id, "person": erased.faces[0].person, "erased": erased.to_dict()}

    @router.get("/unknown/{number}/thumbnail", tags=["recognition"],
                response_class=Response,
                responses={200: {"content": {"image/jpeg": {}},
                                 "description": "a JPEG crop of the face"},
                           404: {"model": schemas.Error}})
    async def unknown_thumbnail(number: int) -> Response:
        """The crop of an unknown face identify saw (its ``unknown_face`` number in
        ``/v1/clusters``), while the server still remembers it."""
        jpeg = service.unknown.crop(number)
        if jpeg is None:
            raise HTTPException(404, f"unknown face {number} is not remembered")
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": NO_STORE})

    @router.get("/people", response_model=schemas.PeopleList, tags=["people"])
    async def people() -> dict[str, object]:
        """Everyone enrolled, by name, with their number of faces."""
        return {"people": [{"name": name, "faces": count}
                           for name, count in await service.people()]}

    @router.get("/people/{name}", response_model=schemas.Person, tags=["people"])
    async def person(name: str) -> dict[str, object]:
        """One person's enrolled faces."""
        faces = await service.person(name)
        return {"name": normalize_name(name), "faces": [
            {"id": f.id, "source": f.source, "box": [round(v, 2) for v in f.detection.box],
             "score": round(f.detection.score, 4), "quality": round(f.quality, 4)}
            for f in faces]}

    @router.post("/people/{name}/faces", response_model=schemas.EnrollResult,
                 tags=["people"], status_code=201,
                 responses={200: {"model": schemas.EnrollResult,
                                  "description": "nothing new: every photo was there"},
                            409: {"model": schemas.EnrollResult,
                                  "description": "nothing enrolled: the photos belong to "
                                                 "another person (see move)"},
                            422: {"model": schemas.EnrollResult,
                                  "description": "no photo could be enrolled"}})
    async def enroll(
        name: str,
        images: Annotated[list[UploadFile], File(description="photos with one face each")],
        strict: Annotated[bool, Query(description="skip photos with several faces")] = False,
        move: Annotated[bool, Query(description="take photos enrolled for another "
                                                "person")] = False,
        keep_poor: Annotated[bool, Query(description="enroll faces too small or turned "
                                                     "to recognise others from")] = False,
    ) -> JSONResponse:
        """Enroll photos of a person (created if new). Saved before the answer is sent."""
        report = await service.enroll(name, [await read_upload(i) for i in images], strict,
                                      move, keep_poor)
        body = schemas.enroll_body(normalize_name(name), report)
        schemas.EnrollResult.model_validate(body)  # a key the schema lacks fails here
        if report.stored:
            status = 201
        elif report.unchanged or report.duplicates:
            status = 200
        elif any(s.owner is not None for s in report.skipped):
            status = 409
        else:
            status = 422
        return JSONResponse(body, status_code=status)

    @router.post("/people/{name}/rejections", response_model=schemas.CorrectionResult,
                 tags=["people"], status_code=201,
                 responses={200: {"model": schemas.CorrectionResult,
                                  "description": "already known: nothing changed"},
                            404: {"model": schemas.Error}})
    async def reject(
        name: str,
        image: Annotated[UploadFile, File(description="the photo the face is in")],
        face: Annotated[int | None, Query(ge=0, description=(
            "which face, in identify's order from 0 (default: the photo's main face)"))] = None,
    ) -> JSONResponse:
        """Say that a face is not this person ("not this person"): from then on faces
        more like it than like the person's own photos are not given their name. Saved
        before the answer is sent; erased with the person."""
        result = await service.reject(name, await read_upload(image), face)
        body = result.to_dict()
        schemas.CorrectionResult.model_validate(body)
        return JSONResponse(body, status_code=201 if result.changed else 200)

    @router.patch("/people/{name}", response_model=schemas.PersonSummary, tags=["people"])
    async def rename(name: str, change: schemas.Rename) -> dict[str, object]:
        """Rename a person (409 if the new name is taken)."""
        await service.rename(name, change.name)
        new = normalize_name(change.name)
        return {"name": new, "faces": len(await service.person(new))}

    @router.delete("/people/{name}", response_model=schemas.Removed, tags=["people"])
    async def remove(name: str) -> dict[str, object]:
        """Delete a person and all their faces, erased before the answer from the
        database and its write-ahead log, the index file, face crops, the skip memory,
        reindex backups, the photo library's copies and the server's memory of unknown
        faces; the XMP sidecars export-xmp wrote are written again without them
        (``erased`` says where; ``not_erased`` names any file that still holds them).
        ``sidecars_naming_them`` counts the sidecars that could not be written and still
        name them."""
        erased = await service.remove(name)
        people = {face.person for face in erased.faces}
        return {"name": normalize_name(name), "removed_faces": len(erased.faces),
                "erased": erased.to_dict(),
                "sidecars_naming_them": await run_in_threadpool(
                    sidecars_naming, service.gallery.path, people)}

    router.include_router(_library_routes(service))
    return router


PAGE = Annotated[int, Query(ge=1, le=500, description="photos per page")]
OFFSET = Annotated[int, Query(ge=0, description="photos skipped (earlier pages)")]


def _library_routes(service: RecognitionService) -> APIRouter:
    router = APIRouter(tags=["library"])

    def page(photos: list[LibraryPhoto], offset: int, limit: int, people: list[str],
             together: str, unknown: bool) -> PhotoPageDict:
        return {"people": people, "together": together, "unknown": unknown,
                "total": len(photos), "offset": offset, "limit": limit,
                "photos": [photo.to_dict() for photo in photos[offset:offset + limit]]}

    @router.get("/people/{name}/photos", response_model=schemas.PhotoPage)
    async def person_photos(name: str, offset: OFFSET = 0, limit: PAGE = 50
                            ) -> PhotoPageDict:
        """The photos of the library (``facerec scan``) a person is in, newest first."""
        person = normalize_name(name)
        return page(await service.photos([person]), offset, limit, [person], "any", False)

    @router.get("/photos", response_model=schemas.PhotoPage)
    async def photos(
        people: Annotated[list[str], Query(description="a person (repeat for several)")] = [],
        together: Annotated[Together, Query(description="any or all of them")] = "any",
        unknown: Annotated[bool, Query(description="photos with a face of nobody "
                                                   "enrolled, instead")] = False,
        offset: OFFSET = 0, limit: PAGE = 50,
    ) -> PhotoPageDict:
        """Photos of the library by the people in them, newest first."""
        if not people and not unknown:
            raise HTTPException(400, "name people (people=NAME, repeated for several) or "
                                     "ask for unknown=true")
        names = list(dict.fromkeys(normalize_name(p) for p in people))
        found = await service.photos(names, together, unknown)
        return page(found, offset, limit, [] if unknown else names, together, unknown)

    @router.get("/photos/{sha256}/thumbnail", response_class=Response,
                responses={200: {"content": {"image/jpeg": {}}}})
    async def photo_thumbnail(sha256: str) -> Response:
        """A small JPEG of a library photo (by its sha256), made from its file while that
        is as it was scanned."""
        if not SHA256.fullmatch(sha256):
            raise HTTPException(404, "no such photo")
        jpeg = await service.photo_thumbnail(sha256)
        if jpeg is None:
            raise HTTPException(404, "no file shows this photo as it was scanned")
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": NO_STORE})

    return router


# errors ---------------------------------------------------------------------------------
def _error(request: Request, status: int, message: str,
           headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(request.url.path, status, message), status_code=status,
                        headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return _error(request, exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        return _error(request, 422, f"invalid request: {problems}")

    for kind, status in ERROR_STATUS.items():
        app.add_exception_handler(kind, _known_error_handler(status))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s: %r", request.method, request.url.path, exc)
        return _error(request, 500, "internal error")


def _known_error_handler(status: int) -> Callable[[Request, Exception],
                                                  Coroutine[Any, Any, JSONResponse]]:
    headers = {"Retry-After": "1"} if status == 503 else None

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return _error(request, status, str(exc), headers)

    return handle
