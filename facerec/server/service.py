"""The recognition service behind the HTTP routes, free of HTTP.

Images from concurrent requests go through the networks together (a MicroBatcher on
one worker thread); database calls run one at a time on a thread pool under a lock, so
the event loop never blocks and every write is committed (durably) before it returns.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from starlette.concurrency import run_in_threadpool
from typing_extensions import TypedDict

from facerec.enrollment import AnalyzedPhoto, Enrollment, Incoming, turned_note, upload_source
from facerec.errors import ImageError, ModelError, PersonNotFound
from facerec.faces.main_face import main_face
from facerec.faces.reading import Received as Upload
from facerec.formats.face_crops import face_jpeg
from facerec.library import Library, Together
from facerec.library.erasure import erase_from_library
from facerec.names import validate_name
from facerec.photos.image import image_size, load_image
from facerec.photos.photo import FullPhoto, Photo, decode_for_detection
from facerec.recognition.corrections import Correction, correct
from facerec.recognition.recognizer import Recognizer
from facerec.recognition.verification import verify_faces
from facerec.results import EnrollReport, LibraryPhoto, Match, Skip, Threshold, Verification
from facerec.server.batcher import MicroBatcher
from facerec.server.clusters import SeenFace, UnknownFaces, cluster_body
from facerec.server.config import ServerConfig
from facerec.server.memory import PixelBudget
from facerec.server.thumbnails import Thumbnails, photo_jpeg
from facerec.storage.erasure import Erasure
from facerec.storage.store import FaceRecord
from facerec.types import Face, closed

log = logging.getLogger(__name__)

T = TypeVar("T")


@closed
class HealthDict(TypedDict):
    """How the service is: its model and device, the database's size (people, faces),
    and the batcher's figures (images waiting, images and forward passes so far)."""

    status: str
    model: str
    device: str
    people: int
    faces: int
    waiting: int
    images: int
    batches: int


class RecognitionService:
    """Identify, verify, enroll and manage people for concurrent requests.

    Args:
        recognizer: the database and the networks.
        config: batching and size limits.
    """

    def __init__(self, recognizer: Recognizer, config: ServerConfig) -> None:
        self.recognizer = recognizer
        self.gallery = recognizer.gallery
        self.gallery.follow_changes()  # a shared database's removals leave memory at once
        self.config = config
        self.analyzer = recognizer.analyzer
        self.batcher: MicroBatcher[tuple[Photo, bool], tuple[list[Face], int]] = MicroBatcher(
            self._analyze, max_batch=config.max_batch,
            max_wait=config.max_wait, max_queue=config.max_queue,
            deadline=config.analysis_timeout)
        self._db_lock = threading.Lock()
        self.budget = PixelBudget(config.max_pixels_in_flight)
        self.unknown = UnknownFaces()
        self.thumbnails = Thumbnails(self.gallery)
        self._library: Library | None = None

    def warm_up(self) -> None:
        """Run the networks and load the index once, so the first request is not slow."""
        self.analyzer.analyze(np.zeros((480, 640, 3), np.uint8))
        self.gallery.load_index()

    def close(self) -> None:
        self.batcher.close()
        if self._library is not None:
            self._library.close()
        self.recognizer.close()

    # the pipeline -------------------------------------------------------------------------
    async def faces_of(self, upload: Upload, upright: bool = False
                       ) -> tuple[list[Face], tuple[int, int], int]:
        """Every face of an uploaded photo, in its own pixel coordinates (after EXIF
        rotation), its (width, height), and the turn its faces were found at (0 unless
        ``upright`` asked to look at a photo on its side turned, see ``facerec.photos.sideways``).

        The photo's decoded size is reserved from the pixel budget before it is decoded
        (waiting for room when the budget is taken); it is decoded as ``_decode`` says
        and analysed in a batch with other requests' photos, as the commands analyse
        theirs (``FaceAnalyzer.analyze_batch_upright``).

        Raises:
            ImageError: naming the upload, when it is not a usable image.
            Unavailable: too many images already wait for the networks (QueueFull), or
                the networks did not answer within ``analysis_timeout`` (WorkerLost).
        """
        try:
            width, height = image_size(upload.data, upload.label, self.config.max_pixels)
        except ImageError as exc:
            raise ImageError(upload.label, exc.reason) from None
        async with self.budget.hold(width * height) as reservation:
            try:
                photo = await run_in_threadpool(self._decode, upload, max(width, height))
            except ImageError as exc:
                raise ImageError(upload.label, exc.reason) from None
            decoded_width, decoded_height = photo.size
            await reservation.shrink(decoded_width * decoded_height)
            faces, turned = await self.batcher.run((photo, upright))
            del photo
        if (decoded_width, decoded_height) != (width, height):
            faces = [face.rescaled(width / decoded_width, height / decoded_height)
                     for face in faces]
        return faces, (width, height), turned

    def _analyze(self, requests: Sequence[tuple[Photo, bool]]
                 ) -> list[tuple[list[Face], int]]:
        """The batcher's work: photos, each with whether to look for it upright."""
        return self.analyzer.analyze_batch_upright([photo for photo, _ in requests],
                                                   [upright for _, upright in requests])

    def _decode(self, upload: Upload, longer_side: int) -> Photo:
        """The upload's pixels for the networks. A photo within ``max_decode_side`` is
        read as the commands read files: a phone's JPEG decoded reduced for detection,
        its faces cropped from the full photo only where the reduced copy shows one
        smaller than the crop (see ``facerec.photos.photo``; the budget keeps its full size
        reserved for that). A larger photo is decoded reduced to ``max_decode_side``."""
        if longer_side <= self.config.max_decode_side:
            return decode_for_detection(upload.data, upload.label,
                                        self.analyzer.detector.config.max_side,
                                        self.config.max_pixels)
        return FullPhoto(load_image(upload.data, max_pixels=self.config.max_pixels,
                                    max_side=self.config.max_decode_side), upload.label)

    async def _locked(self, call: Callable[..., T], *args: object) -> T:
        def run() -> T:
            with self._db_lock:
                return call(*args)
        return await run_in_threadpool(run)

    # requests -----------------------------------------------------------------------------
    async def identify(self, upload: Upload, top_k: int, threshold: float | None,
                       fpir: float | None = None) -> tuple[list[Match], Threshold]:
        """Every face of the photo with its person, ``unsure`` or ``unknown`` (the
        open-set decision, ``facerec.recognition.matching``), and the threshold used; faces
        of no one enrolled are remembered for ``clusters``."""
        faces, size, _ = await self.faces_of(upload)

        def name_them() -> tuple[list[Match], Threshold]:
            used = self.recognizer.identification_threshold(threshold, fpir)
            return self.recognizer.match([f.embedding for f in faces],
                                         [f.detection for f in faces], top_k, used), used

        matches, used = await self._locked(name_them)
        strangers = [faces[i] for i, m in enumerate(matches) if m.status == "unknown"]
        if strangers:
            crops = await run_in_threadpool(self._crops, upload, strangers, size)
            self.unknown.add(upload.label, [f.detection for f in strangers],
                             [f.embedding for f in strangers], crops)
        return matches, used

    def _crops(self, upload: Upload, faces: list[Face], size: tuple[int, int]
               ) -> list[bytes | None]:
        """JPEG crops of ``faces`` (in the coordinates of a ``size`` photo) from the
        uploaded bytes, decoded again (the decoded photo is not kept)."""
        try:
            pixels = load_image(upload.data, max_pixels=self.config.max_pixels,
                                max_side=self.config.max_decode_side)
        except ImageError:
            return [None] * len(faces)
        scale = pixels.shape[1] / size[0], pixels.shape[0] / size[1]
        return [face_jpeg(pixels, face.detection.rescaled(*scale).box) for face in faces]

    async def clusters(self, uploads: Sequence[Upload], threshold: float | None
                       ) -> dict[str, object]:
        """Group every face of ``uploads`` by person, or, with no uploads, the unknown
        faces ``identify`` has seen lately (see ``facerec.server.clusters``)."""
        if uploads:
            found = await asyncio.gather(*(self.faces_of(upload) for upload in uploads))
            now = time.time()
            faces = [SeenFace(upload.label, face.detection, face.embedding, now)
                     for upload, (photo_faces, _, _) in zip(uploads, found)
                     for face in photo_faces]
        else:
            faces = self.unknown.snapshot()
        used = threshold if threshold is not None else \
            self.analyzer.embedder_spec.cluster_threshold
        if used is None:
            raise ModelError(f"{self.analyzer.model_id} has no clustering threshold; "
                             "give one")
        return await run_in_threadpool(cluster_body, faces, used, self.analyzer.model_id)

    async def verify(self, first: Upload, second: Upload,
                     threshold: float | None) -> Verification:
        """Whether the main faces of two photos are the same person, by the threshold
        rule (as ``facerec verify --db``)."""
        (faces_a, size_a, _), (faces_b, size_b, _) = await asyncio.gather(
            self.faces_of(first), self.faces_of(second))
        used = await self._locked(self.recognizer.threshold, threshold)
        return verify_faces((faces_a, size_a), (faces_b, size_b), used, self.analyzer.model_id,
                            (first.label, second.label))

    async def reject(self, name: str, upload: Upload, face: int | None) -> Correction:
        """Keep face ``face`` (the main one when None) of an uploaded photo as not person
        ``name`` (``facerec.recognition.corrections``); saved before returning."""
        faces, size, _ = await self.faces_of(upload)
        digest = hashlib.sha256(upload.data).hexdigest()
        return await self._locked(lambda: correct(
            self.recognizer, faces, size, sha256=digest, source=upload_source(digest),
            label=upload.label, face=face, person=name, said="not"))

    async def enroll(self, name: str, uploads: Sequence[Upload], strict: bool = False,
                     move: bool = False, keep_poor: bool = False) -> EnrollReport:
        """Add the photos to person ``name``; committed to disk before returning.

        As ``Recognizer.enroll``: photos this person already has are left as they are, a
        photo of another person is refused naming them unless ``move``, and photos that
        cannot be decoded or show no face are skipped with the reason. Photos go to the
        networks ``max_batch`` at a time and each such group is stored when done, so a
        large request neither fills the queue alone nor loses finished work on a 503.
        """
        name = validate_name(name)
        await self._locked(self.gallery.refuse_case_twin, name)
        enrollment = Enrollment(self.gallery, self.analyzer, strict=strict, move=move,
                                keep_poor=keep_poor)
        enrollment.report.people.add(name)
        enrollment.report.photos = len(uploads)
        offered, upload_of = [], {}
        for upload in uploads:
            digest = hashlib.sha256(upload.data).hexdigest()
            offered.append(Incoming(name, upload_source(digest), upload.label, digest))
            upload_of[offered[-1].source] = upload
        todo = await self._locked(enrollment.triage, offered)
        step = self.config.max_batch
        for start in range(0, len(todo), step):
            batch = [(item, upload_of[item.source]) for item in todo[start:start + step]]
            photos = await self._analyze_uploads(batch, enrollment.report)
            if photos:
                await self._locked(enrollment.store, photos)
        return enrollment.report

    async def _analyze_uploads(self, uploads: list[tuple[Incoming, Upload]],
                               report: EnrollReport) -> list[AnalyzedPhoto]:
        results = await asyncio.gather(*(self.faces_of(upload, upright=True)
                                         for _, upload in uploads), return_exceptions=True)
        photos = []
        for (item, upload), result in zip(uploads, results):
            if isinstance(result, ImageError):
                report.skipped.append(Skip(upload.label, result.reason))
            elif isinstance(result, BaseException):
                raise result
            else:
                faces, size, turned = result
                if turned and faces:
                    report.turned.append(Skip(upload.label, turned_note(turned)))
                photos.append(AnalyzedPhoto(item, faces, size))
                await run_in_threadpool(self._keep_thumbnail, upload, faces, size,
                                        item.sha256)
        return photos

    def _keep_thumbnail(self, upload: Upload, faces: list[Face], size: tuple[int, int],
                        sha256: str) -> None:
        """Keep a crop of the face an uploaded photo is enrolled for (its main face), as
        the photo itself is not kept."""
        face = main_face(faces, *size)
        if face is None:
            return
        jpeg = self._crops(upload, [face], size)[0]
        try:
            if jpeg is not None:
                self.thumbnails.keep(sha256, jpeg)
        except OSError as exc:
            log.warning("no thumbnail for %s: %s", upload.label, exc)

    async def thumbnail(self, face_id: int) -> bytes | None:
        """The JPEG thumbnail of enrolled face ``face_id`` (None when it cannot be made).

        Raises:
            PersonNotFound: no face has that id.
        """
        face = await self._locked(self._face, face_id)
        return await run_in_threadpool(self.thumbnails.of, face)

    def _face(self, face_id: int) -> FaceRecord:
        face = self.gallery.face(face_id)
        if face is None:
            raise PersonNotFound(f"no face {face_id}")
        return face

    async def remove_face(self, face_id: int) -> Erasure:
        """Delete one enrolled face (its person goes too when it was their last), erased
        everywhere as ``remove`` does."""
        return await self._locked(self._forgetting, self.gallery.remove_face, face_id)

    async def people(self) -> list[tuple[str, int]]:
        return await self._locked(self.gallery.people)

    async def person(self, name: str) -> list[FaceRecord]:
        return await self._locked(self.gallery.faces_of, name)

    async def rename(self, old: str, new: str) -> None:
        await self._locked(self.gallery.rename, old, new)

    async def remove(self, name: str) -> Erasure:
        """Delete a person, erased from every file of the database (``Gallery.remove``)
        and from this server's memory of unknown faces, before returning."""
        return await self._locked(self._forgetting, self.gallery.remove, name)

    def _forgetting(self, remove: Callable[[T], Erasure], what: T) -> Erasure:
        erased = remove(what)
        erase_from_library(self.gallery, erased, self._library)
        threshold = self.recognizer.threshold().value
        erased.unknown_faces = self.unknown.forget_like(erased.embeddings, threshold)
        return erased

    # the photo library --------------------------------------------------------------------
    def _opened_library(self) -> Library:
        """The database's photo library (LibraryNotFound until photos were scanned)."""
        if self._library is None:
            self._library = Library(self.gallery, create=False)
        return self._library

    async def photos(self, people: Sequence[str], together: Together = "any",
                     unknown: bool = False) -> list[LibraryPhoto]:
        """The library's photos of ``people`` (any or all of them), or those with a face
        of nobody enrolled, newest first; matched to the people as they are now."""
        def ask() -> list[LibraryPhoto]:
            library = self._opened_library()
            if unknown:
                return library.unknown()
            return library.find(people, together)
        return await self._locked(ask)

    async def photo_thumbnail(self, sha256: str) -> bytes | None:
        """A small JPEG of the library photo with that digest, from a file still showing
        it as scanned; None when no such file is left.

        Raises:
            ImageError: the file cannot be decoded any more.
        """
        path = await self._locked(lambda: self._opened_library().photo_file(sha256))
        return None if path is None else await run_in_threadpool(photo_jpeg, Path(path),
                                                                 sha256)

    async def health(self) -> HealthDict:
        people, faces = await self._locked(self.gallery.counts)
        return {"status": "ok", "model": self.analyzer.model_id,
                "device": str(self.analyzer.device), "people": people, "faces": faces,
                "waiting": self.batcher.waiting, "images": self.batcher.items,
                "batches": self.batcher.batches}
