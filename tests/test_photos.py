"""Reading photos for the networks: each file read once, its digest that of the bytes
decoded, and enrollment storing only what it hashed."""

from __future__ import annotations

import hashlib
import shutil
import threading

import numpy as np
import pytest
import torch

from facerec import ImageError
from facerec.enrollment import Enrollment, enrollment
from facerec.faces import reading as photos_module
from facerec.faces.reading import PhotoFaces, Received, analyze_photos, read_photos
from facerec.results import Skip
from facerec.storage.gallery import Gallery


def test_each_photo_gives_its_faces_or_a_skip_in_order(tmp_path, analyzer, samples):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((samples / "obama.jpg").read_bytes()[:300])
    blank = tmp_path / "blank.png"
    from PIL import Image
    Image.new("RGB", (200, 150), "white").save(blank)
    photos = [samples / "obama.jpg", broken, tmp_path / "missing.jpg", blank,
              Received("upload.jpg", (samples / "biden.jpg").read_bytes())]
    outcomes = list(analyze_photos(analyzer, enumerate(photos), batch=2))
    assert [tag for tag, _ in outcomes] == [0, 1, 2, 3, 4]
    obama, broken_out, missing, blank_out, upload = (o for _, o in outcomes)
    assert isinstance(obama, PhotoFaces) and len(obama.faces) == 1
    assert obama.sha256 == hashlib.sha256((samples / "obama.jpg").read_bytes()).hexdigest()
    assert isinstance(broken_out, Skip) and broken_out.path == str(broken)
    assert isinstance(missing, Skip) and missing.reason == "no such file"
    assert isinstance(blank_out, PhotoFaces) and blank_out.faces == []
    assert blank_out.size == (200, 150)
    assert upload.label == "upload.jpg" and len(upload.faces) == 1
    same = analyzer.analyze(samples / "obama.jpg")[0].embedding
    assert float(np.dot(same, obama.faces[0].embedding)) > 0.999


@pytest.mark.parametrize("threads", [1, 2])
def test_photos_are_read_on_the_cores_pytorch_has(threads, tmp_path, samples, monkeypatch):
    readers = []
    real = photos_module.read_photo

    def watched(photo, side=None):
        readers.append(threading.current_thread().name)
        return real(photo, side)

    monkeypatch.setattr(photos_module, "read_photo", watched)
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    paths = sorted(samples.glob("*.jpg"))[:5] + [broken]
    read = read_photos(paths, 1280)
    assert [r[0] for r in read[:5]] == [hashlib.sha256(p.read_bytes()).hexdigest()
                                        for p in paths[:5]]  # in the order given
    assert isinstance(read[5], ImageError) and read[5].source == str(broken)
    if threads == 1:
        assert set(readers) == {threading.current_thread().name}
    else:
        assert len(readers) == 6 and all(r.startswith("facerec-decode") for r in readers)


def test_a_photo_replaced_between_its_digest_and_its_reading_is_not_stored(
        tmp_path, analyzer, samples, monkeypatch):
    """The digest triage saw and the bytes the networks saw are compared: a file swapped
    in between is skipped, never stored with a digest of other bytes."""
    photo = tmp_path / "obama.jpg"
    shutil.copy(samples / "obama.jpg", photo)
    real = enrollment.analyze_photos

    def swapped_first(networks, photos, **options):
        shutil.copy(samples / "biden.jpg", photo)  # after triage hashed the file
        return real(networks, photos, **options)

    monkeypatch.setattr(enrollment, "analyze_photos", swapped_first)
    with Gallery(tmp_path / "db") as gallery:
        report = Enrollment(gallery, analyzer).named("obama", [photo])
        assert report.added == 0 and gallery.count() == 0
        assert report.skipped[0].reason == enrollment.CHANGED_WHILE_READ
        monkeypatch.setattr(enrollment, "analyze_photos", real)
        again = Enrollment(gallery, analyzer).named("obama", [photo])  # not remembered
        stored = gallery.faces_of("obama")
    assert again.added == 1
    assert stored[0].sha256 == hashlib.sha256(photo.read_bytes()).hexdigest()
