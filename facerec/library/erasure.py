"""What the photo library keeps of faces erased from the database.

The library is an index of the user's own photos, so a removed person's photos stay in
it, their faces now of nobody enrolled. What goes, before the removal answers, is every
copy of what was erased and everything that names them:

* a sidecar ``export-xmp`` wrote naming someone removed is written again without them
  (one that cannot be written is named in ``not_erased``, its record kept so that a later
  ``export-xmp`` can);
* a library photo holding a copy of an erased face (the photo it was enrolled from,
  scanned too, or the same pixels in another file: a face at ``COPY_SIMILARITY``) is
  forgotten whole: its files, faces and sidecar record. A later scan of a folder that
  still holds it reads it again, as a photo of nobody enrolled;

then the vector rows of the faces forgotten are zeroed and the write-ahead log emptied,
so neither ``library.vectors`` nor ``library.sqlite-wal`` keeps an older copy.
"""

from __future__ import annotations

from dataclasses import astuple

from facerec.errors import DatabaseError, FacerecError
from facerec.formats.xmp import FaceRegion
from facerec.library.export import sidecar_path, write_without
from facerec.library.library import Library
from facerec.storage.erasure import Erasure
from facerec.storage.gallery import Gallery

COPY_SIMILARITY = 0.999
"""Cosine similarity at or above which a library face is a copy of an erased one: the
same pixels (the photo copied, its metadata edited, saved again losslessly). A copy
resized or saved again as JPEG scores 0.94-0.99 on the sample photos, as two frames of
one burst may, so it stays, its face of nobody enrolled."""


def erase_from_library(gallery: Gallery, erasure: Erasure,
                       library: Library | None = None) -> None:
    """Erase the faces of ``erasure`` (just removed from ``gallery``) from its photo
    library, recording what was done in ``erasure``; ``library``: the caller's open
    library (else one is opened, when there is one)."""
    if not erasure.faces or gallery.path is None:  # a library lives in a folder
        return
    path = gallery.path / "library.sqlite"
    if library is None and not path.is_file():
        return
    try:
        opened = library or Library(gallery, create=False)
    except FacerecError as exc:
        erasure.not_erased.append(f"{path} could not be opened ({exc}); `facerec repair "
                                  f"--db {gallery.path} --library` sets it aside")
        return
    try:
        _erase(opened, gallery, erasure)
    except DatabaseError as exc:
        erasure.not_erased.append(f"{path} could not be changed ({exc})")
    finally:
        if library is None:
            opened.close()


def _erase(library: Library, gallery: Gallery, erasure: Erasure) -> None:
    store = library.store
    enrolled = {name for name, _ in gallery.people()}
    gone = {face.person for face in erasure.faces} - enrolled
    if gone:
        erasure.sidecars_rewritten = _rewrite_sidecars(library, gone, erasure)
    photos = set(store.photos_by_digest(face.sha256 for face in erasure.faces).values())
    comparable = library.model is not None and library.model == gallery.model
    if comparable:  # (another model's embeddings are no copies of these)
        photos |= store.photos_of_faces(library.copies_of(erasure.embeddings,
                                                          COPY_SIMILARITY))
    erasure.library_faces = store.forget_photos(photos)
    library.sync_vectors()
    if comparable:
        library.refresh()  # faces matched to an erased one look again now
    if not store.truncate_log():
        erasure.log_truncated = False


def _rewrite_sidecars(library: Library, gone: set[str], erasure: Erasure) -> int:
    """Write every sidecar naming one of ``gone`` again without them; how many were."""
    store, rewritten = library.store, 0
    for photo, regions in store.sidecars().items():
        written = [FaceRegion(*region) for region in regions]
        if not any(region.name in gone for region in written):
            continue
        size = store.photo_size(photo)
        try:
            if size is None:
                raise FacerecError("the photo is no longer in the library")
            kept = write_without(photo, written, size, gone)
        except (FacerecError, ValueError, OSError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            erasure.not_erased.append(f"{sidecar_path(photo)} still names them ({reason}); "
                                      "remove the name there, or run export-xmp once it "
                                      "can be written")
            continue
        store.record_sidecar(photo, [astuple(region) for region in kept])
        rewritten += 1
    return rewritten
