"""Phone photo formats: HEIC/HEIF and AVIF made from real photos give the faces their JPEG
gives, wherever a photo comes in (the Python API, enroll, identify, batch embed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from facerec.cli import main
from facerec.faces.reading import Received, analyze_photos

pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif writes the HEIC files "
                                                        "these tests read (a test dependency)")

PHOTOS = ("obama.jpg", "obama2.jpg", "biden.jpg")


def as_heic(source: Path, target: Path) -> Path:
    upright = ImageOps.exif_transpose(Image.open(source)).convert("RGB")
    pillow_heif.from_pillow(upright).save(target, quality=90)
    return target


def as_avif(source: Path, target: Path) -> Path:
    ImageOps.exif_transpose(Image.open(source)).convert("RGB").save(target, "AVIF", quality=90)
    return target


def iou(a, b) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


@pytest.mark.slow
@pytest.mark.parametrize("convert", [as_heic, as_avif], ids=["heic", "avif"])
def test_a_phone_format_gives_the_faces_of_its_jpeg(analyzer, samples, tmp_path, convert):
    suffix = ".heic" if convert is as_heic else ".avif"
    for name in PHOTOS:
        jpeg = samples / name
        other = convert(jpeg, tmp_path / Path(name).with_suffix(suffix).name)
        expected, found = analyzer.analyze(jpeg), analyzer.analyze(other)
        assert len(found) == len(expected) >= 1, name
        for a, b in zip(expected, found):
            assert iou(a.detection.box, b.detection.box) > 0.9, name
            assert float(np.dot(a.embedding, b.embedding)) > 0.95, name


def test_heic_bytes_received_without_a_name_are_read(analyzer, samples, tmp_path):
    """An upload or a dataset row carries no file name: the format is told by its bytes."""
    data = as_heic(samples / "biden.jpg", tmp_path / "x.heic").read_bytes()
    ((_, faces),) = analyze_photos(analyzer, [(0, Received("upload", data))])
    assert len(faces.faces) == 1 and faces.size == Image.open(samples / "biden.jpg").size


@pytest.mark.slow
def test_enroll_a_folder_of_phone_photos_and_identify_one(samples, tmp_path, capsys):
    known = tmp_path / "known"
    (known / "obama").mkdir(parents=True)
    (known / "biden").mkdir()
    as_heic(samples / "obama.jpg", known / "obama" / "IMG_0001.HEIC")
    as_avif(samples / "obama2.jpg", known / "obama" / "IMG_0002.avif")
    as_heic(samples / "biden.jpg", known / "biden" / "IMG_0003.heif")
    db = tmp_path / "db"
    assert main(["enroll", str(known), "--db", str(db)]) == 0
    assert "added 3," in capsys.readouterr().out
    probe = as_heic(samples / "obama3.jpg", tmp_path / "probe.heic")
    capsys.readouterr()
    assert main(["identify", str(probe), "--db", str(db), "--json"]) == 0
    assert '"person": "obama"' in capsys.readouterr().out


def test_a_heic_renamed_jpg_is_read_by_its_bytes(analyzer, samples, tmp_path):
    renamed = as_heic(samples / "obama.jpg", tmp_path / "photo.heic")
    shutil.move(renamed, tmp_path / "photo.jpg")
    assert len(analyzer.analyze(tmp_path / "photo.jpg")) == 1


def test_a_heic_gets_the_size_limits_of_a_jpeg(samples, tmp_path):
    from facerec.errors import ImageError
    from facerec.photos.image import load_image

    heic = as_heic(samples / "obama.jpg", tmp_path / "big.heic")
    with pytest.raises(ImageError, match="image too large"):
        load_image(heic, max_pixels=100_000)


def test_batch_embed_reads_heic_bytes(model_paths, samples, tmp_path):
    """``batch embed`` receives each photo's bytes from Ray Data, with no decoder chosen by
    name: a HEIC row gives its face like a JPEG row."""
    pytest.importorskip("pyarrow", reason="batch is the cluster extra: facerec[cluster]")
    from facerec.batch.embed import EmbedFaces

    heic = as_heic(samples / "biden.jpg", tmp_path / "b.heic").read_bytes()
    jpeg = (samples / "biden.jpg").read_bytes()
    rows = EmbedFaces("sface-2021dec", set())({
        "path": np.array(["b.heic", "b.jpg"], dtype=object),
        "bytes": np.array([heic, jpeg], dtype=object)})
    assert rows["photo"] == ["b.heic", "b.jpg"] and rows["face"] == [0, 0]
    assert rows["width"][0] == rows["width"][1]
