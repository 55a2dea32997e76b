"""Recognition: photos in, people out. The one path the CLI, the HTTP service and the
live loop all take from a photo to a person.

A ``Recognizer`` holds the networks (``FaceAnalyzer``) and the storage (``Gallery``). It
identifies faces by the open-set decision (``facerec.recognition.matching``: a name only when the
face's score passes the threshold that keeps strangers strangers for the people enrolled
now, ``unsure`` when two people are nearly as close, never a name a user rejected), and
verifies pairs by the pair threshold. Enrolling is ``facerec.enrollment``'s; ``enroll``
runs it over this recognizer's gallery and networks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from facerec.enrollment import Enrollment, suspicious_faces
from facerec.errors import DatabaseError, FacerecError
from facerec.models.model_id import ModelId
from facerec.models.registry import DEFAULT_EMBEDDER
from facerec.photos.image import ImageInput
from facerec.photos.photo import Photo
from facerec.recognition.matching import gallery_rule, match_faces, threshold_rule
from facerec.recognition.verification import verify_images
from facerec.results import EnrollReport, Match, Skip, Threshold, Verification
from facerec.storage.gallery import Gallery
from facerec.types import Detection

if TYPE_CHECKING:
    from facerec.faces.analyzer import FaceAnalyzer
    from facerec.recognition.calibration import Calibration

log = logging.getLogger(__name__)

class Recognizer:
    """Enroll, identify and verify faces against one database.

    Args:
        gallery: the database's storage.
        analyzer: the networks; made on first use (fetching weights) when None.
    """

    def __init__(self, gallery: Gallery, analyzer: FaceAnalyzer | None = None) -> None:
        self.gallery = gallery
        self._analyzer = analyzer

    @classmethod
    def open(cls, path: str | Path, analyzer: FaceAnalyzer | None = None,
             create: bool = True) -> Recognizer:
        """The recognizer of the database in folder ``path`` (see ``Gallery``).

        The database's model decides the networks: without ``analyzer`` they are built
        for it on first use; an ``analyzer`` of another model is refused here.

        Raises:
            DatabaseError: ``analyzer`` embeds with another model than the database's.
        """
        recognizer = cls(Gallery(path, create=create), analyzer)
        if analyzer is not None:
            try:
                recognizer._check_model()
            except DatabaseError:
                recognizer.close()
                raise
        return recognizer

    def close(self) -> None:
        self.gallery.close()

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def address(self) -> str:
        """What names the database: its folder, or its PostgreSQL address."""
        return self.gallery.address

    @property
    def analyzer(self) -> FaceAnalyzer:
        if self._analyzer is None:
            from facerec.faces.analyzer import FaceAnalyzer

            model = ModelId.parse(self.gallery.model or DEFAULT_EMBEDDER)
            self._analyzer = FaceAnalyzer(download=True, embedder=model.embedder,
                                          flip=model.flip)
        return self._analyzer

    def threshold(self, given: float | None = None) -> Threshold:
        """The threshold for a pair of faces (``verify``): ``given``, else the database's
        calibrated threshold, else the model's default."""
        return threshold_rule(given, self.gallery.calibrated_threshold,
                              lambda: self.analyzer.threshold)

    def identification_threshold(self, given: float | None = None,
                                 fpir: float | None = None) -> Threshold:
        """The threshold faces are named by against the people enrolled now: ``given``,
        else the open-set threshold for the share ``fpir`` of strangers named (see
        ``facerec.recognition.matching.identification_threshold``)."""
        self._check_model()
        return gallery_rule(self.gallery, given, fpir)[0].threshold

    # enroll -------------------------------------------------------------------------------
    def enroll(self, root: Path | None = None, *, name: str | None = None,
               paths: Sequence[Path] = (), strict: bool = False, sync: bool = False,
               move: bool = False, keep_poor: bool = False, progress: bool = False
               ) -> EnrollReport:
        """Enroll a known-people folder (``root``), or ``paths`` as one person (``name``).

        Unchanged photos are not analysed again; changed ones replace their old face; a
        photo already enrolled for another person is refused unless ``move``; the same
        bytes already enrolled for this person are a duplicate, not stored twice. With
        ``sync``, faces whose files under ``root`` are gone are removed. A photo with no
        face is skipped; with several, the main one is used (``strict``: skipped); a face
        too small or turned to be recognised from is skipped unless ``keep_poor``. Skips
        are remembered and not analysed again while bytes and settings stay the same.
        Every batch is one transaction, so an interrupted run keeps what it finished.
        See ``facerec.enrollment``.
        """
        enrollment = Enrollment(self.gallery, self.analyzer, strict=strict, move=move,
                                keep_poor=keep_poor)
        if name is not None:
            return enrollment.named(name, paths, progress=progress)
        if root is not None:
            return enrollment.folder(root, sync=sync, progress=progress)
        raise FacerecError("give a folder, or a name with paths")

    def suspicious_faces(self, sources: set[str] | None = None) -> list[Skip]:
        """Faces closer to another person's faces than to their own person's (see
        ``enrollment.suspicious_faces``)."""
        return suspicious_faces(self.gallery, sources)

    # identify -----------------------------------------------------------------------------
    def identify(self, image: ImageInput | Photo, top_k: int = 3,
                 threshold: float | Threshold | None = None, upright: bool = False,
                 fpir: float | None = None) -> list[Match]:
        """Every face of one image (or a ``Photo`` already decoded) with its person,
        ``unsure`` or ``unknown``; boxes in the image's own pixels."""
        return self.identify_batch([image], top_k, threshold, upright, fpir)[0]

    def identify_batch(self, images: Sequence[ImageInput | Photo], top_k: int = 3,
                       threshold: float | Threshold | None = None, upright: bool = False,
                       fpir: float | None = None) -> list[list[Match]]:
        """Every face of every image, detected and embedded in batches. With ``upright``,
        a photo with no face or only weak ones is looked at turned by 90, 180 and 270
        degrees too (``FaceAnalyzer.analyze_upright``; boxes stay in its own pixels)."""
        found = self.analyzer.analyze_batch_upright(images, [upright] * len(images))
        faces = [photo_faces for photo_faces, _ in found]
        flat = [f for per_image in faces for f in per_image]
        matches = iter(self.match([f.embedding for f in flat], [f.detection for f in flat],
                                  top_k, threshold, fpir))
        return [[next(matches) for _ in per_image] for per_image in faces]

    def match(self, embeddings: Sequence[np.ndarray], detections: Sequence[Detection],
              top_k: int = 3, threshold: float | Threshold | None = None,
              fpir: float | None = None) -> list[Match]:
        """Decide faces from their (D,) embeddings (e.g. computed elsewhere) by the
        open-set rule (``facerec.recognition.matching``); a ``Threshold`` from
        ``identification_threshold`` is used as it is, a number fixes one by hand."""
        if not len(embeddings):
            return []
        self._check_model()
        rule, templates = gallery_rule(self.gallery, threshold, fpir)
        return match_faces(embeddings, detections, templates, rule, top_k)

    def _check_model(self) -> None:
        model = self.gallery.model
        if model is not None and model != self.analyzer.model_id:
            raise DatabaseError(f"this database holds {model} embeddings, not "
                                f"{self.analyzer.model_id}; they cannot be mixed (`facerec "
                                "reindex --embedder` moves a database to another model)")

    # verify -------------------------------------------------------------------------------
    def verify(self, first: ImageInput, second: ImageInput,
               threshold: float | None = None) -> Verification:
        """Whether the main faces of two photos are the same person, by the threshold
        rule (the database's calibrated threshold applies)."""
        return verify_images(self.analyzer, first, second, self.threshold(threshold))

    # manage -------------------------------------------------------------------------------
    def calibrate(self, far: float, force: bool = False) -> Calibration:
        """Measure and store the database's threshold (see ``calibration``)."""
        from facerec.recognition.calibration import calibrate_gallery

        return calibrate_gallery(self.gallery, far, force)


FaceDB = Recognizer.open
"""The name the Python API had before storage and recognition were split:
``FaceDB(path, analyzer=None, create=True)`` is ``Recognizer.open``."""
