"""XMP sidecars of the library's people, read back by a reader facerec did not write:
exiftool (Debian's libimage-exiftool-perl, installed by ``setup.sh --test``)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pytest

from facerec import Library
from facerec.cli import main
from facerec.formats.xmp import FaceRegion, sidecar


@pytest.fixture(scope="module")
def exiftool() -> str:
    found = shutil.which("exiftool")
    if found is None:
        pytest.skip("exiftool is not installed (setup.sh --test installs "
                    "libimage-exiftool-perl with apt; it could not here)")
    return found


def read_back(exiftool: str, path) -> dict:
    done = subprocess.run([exiftool, "-j", "-struct", "-XMP:all", str(path)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)[0]


def regions(tags: dict) -> dict[str, dict]:
    return {r["Name"]: r for r in tags["RegionInfo"]["RegionList"]}


def test_exported_regions_read_back_by_exiftool(shared_faces, tmp_path, exiftool, capsys):
    from PIL import Image

    photos = tmp_path / "photos"
    shutil.copytree(shared_faces / "probes", photos)
    pair = photos / "kit_with_rose.jpg"
    # the same photo stored on its side, with the EXIF orientation that shows it upright
    upright = Image.open(pair)
    exif = upright.getexif()
    exif[0x0112] = 6
    upright.transpose(Image.Transpose.ROTATE_90).save(photos / "turned.jpg", exif=exif,
                                                      quality=95)
    # a sidecar made by another program: tags, a face drawn by hand elsewhere, a pet, and a
    # face region over Kit's face that facerec is to update
    subprocess.run([exiftool, "-q", "-o", str(pair) + ".xmp", "-XMP-dc:Subject=holiday",
                    "-XMP-xmp:Rating=4", "-XMP-iptcExt:PersonInImage=Aunt May",
                    "-struct", "-XMP-mwg-rs:RegionInfo={"
                    "AppliedToDimensions={W=501,H=700,Unit=pixel},RegionList=["
                    "{Name=Grandma,Type=Face,Area={X=0.9,Y=0.9,W=0.1,H=0.1,Unit=normalized}},"
                    "{Name=Rex,Type=Pet,Area={X=0.5,Y=0.8,W=0.2,H=0.2,Unit=normalized}},"
                    "{Name=John Snow,Type=Face,Area={X=0.61,Y=0.2,W=0.18,H=0.17,"
                    "Unit=normalized}}]}", str(pair)], check=True)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in photos.iterdir()
              if p.suffix == ".jpg"}
    db = tmp_path / "db"

    def run(*args: object) -> tuple[int, str]:
        code = main([*map(str, args), "--db", str(db)])
        return code, capsys.readouterr().out

    assert run("enroll", shared_faces / "gallery")[0] == 0
    assert run("scan", photos)[0] == 0
    code, out = run("export-xmp", "kit_harington", "rose_leslie", "--json")
    assert code == 0
    assert json.loads(out) == {"written": 2, "merged": 1, "unchanged": 0, "skipped": []}

    with Library.open(db, create=False) as library:
        (photo,) = [p for p in library.find(["rose_leslie"]) if p.path == str(pair)]
    merged = read_back(exiftool, str(pair) + ".xmp")
    assert merged["Subject"] == ["holiday"] and merged["Rating"] == 4
    assert set(regions(merged)) == {"kit_harington", "rose_leslie", "Grandma", "Rex"}
    # the people list keeps a name typed without a region; a pet is no person
    assert sorted(merged["PersonInImage"]) == ["Aunt May", "Grandma", "kit_harington",
                                               "rose_leslie"]
    dims = merged["RegionInfo"]["AppliedToDimensions"]
    assert (dims["W"], dims["H"], dims["Unit"]) == (501, 700, "pixel")
    for face in photo.faces:
        x1, y1, x2, y2 = face.detection.box
        area = regions(merged)[face.person]["Area"]
        assert regions(merged)[face.person]["Type"] == "Face"
        assert area["Unit"] == "normalized"
        assert area["X"] == pytest.approx((x1 + x2) / 2 / 501, abs=1e-5)
        assert area["Y"] == pytest.approx((y1 + y2) / 2 / 700, abs=1e-5)
        assert area["W"] == pytest.approx((x2 - x1) / 501, abs=1e-5)
        assert area["H"] == pytest.approx((y2 - y1) / 700, abs=1e-5)

    turned = read_back(exiftool, photos / "turned.jpg.xmp")
    dims = turned["RegionInfo"]["AppliedToDimensions"]
    assert (dims["W"], dims["H"]) == (501, 700)  # as shown, after the EXIF orientation
    for name, region in regions(turned).items():
        for key in "XYWH":
            assert region["Area"][key] == pytest.approx(regions(merged)[name]["Area"][key],
                                                        abs=0.01)
    assert regions(read_back(exiftool, photos / "johnsnow_test1.jpg.xmp")).keys() == {
        "kit_harington"}
    assert not (photos / "obama1.jpg.xmp").exists()  # not a photo of the people named
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in photos.iterdir()
             if p.name in before}
    assert after == before  # no photo was written to

    assert json.loads(run("export-xmp", "--json")[1])["unchanged"] == 3

    # a person removed is named no more: their sidecars are written again at once, the
    # regions facerec wrote go, the ones it did not write stay
    code, out = run("remove", "kit_harington")
    assert code == 0 and "3 XMP sidecars written without them" in out
    after_removal = read_back(exiftool, str(pair) + ".xmp")
    assert set(regions(after_removal)) == {"rose_leslie", "Grandma", "Rex"}
    assert sorted(after_removal["PersonInImage"]) == ["Aunt May", "Grandma", "rose_leslie"]
    assert "RegionInfo" not in read_back(exiftool, photos / "johnsnow_test1.jpg.xmp")
    again = json.loads(run("export-xmp", "--json")[1])
    assert (again["written"], again["merged"], again["skipped"]) == (0, 0, [])


def test_a_sidecar_that_is_not_xmp_is_left_alone(tmp_path):
    with pytest.raises(Exception, match="left as it is"):
        sidecar([FaceRegion("a", 0.5, 0.5, 0.1, 0.1)], (10, 10), b"<not xmp")
    clipped = FaceRegion.from_box("a", (-10, -10, 50, 50), (100, 100))
    assert (clipped.x, clipped.y, clipped.w, clipped.h) == (0.25, 0.25, 0.5, 0.5)


def _photo(path, person: str = "ada"):
    from facerec.results import LibraryPhoto, Match
    from facerec.types import Detection

    face = Match(Detection((10.0, 10.0, 40.0, 40.0), ((20.0, 20.0),) * 5, 0.9), person, 0.8, ())
    return LibraryPhoto(str(path), "0" * 64, (100, 100), None, (face,))


def test_a_sidecar_with_an_ns0_prefix_is_merged_and_one_bad_sidecar_is_one_skip(tmp_path):
    """ElementTree keeps ns0, ns1... for itself; a sidecar written with them (by
    ElementTree itself, elsewhere) is still merged into, and one that cannot be read
    is skipped alone while the photos after it get theirs."""
    from facerec.library.export import export_sidecars

    existing = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
                '"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
                'xmlns:ns0="http://example.com/app/" ns0:rating="5"/></rdf:RDF></x:xmpmeta>')
    merged = sidecar([FaceRegion("ada", 0.5, 0.5, 0.1, 0.1)], (10, 10), existing.encode())
    assert b"ada" in merged and b'rating="5"' in merged
    photos = [tmp_path / name for name in ("a.jpg", "b.jpg", "c.jpg")]
    (tmp_path / "a.jpg.xmp").write_text(existing)
    (tmp_path / "b.jpg.xmp").write_text("<not xmp")
    report = export_sidecars([_photo(p) for p in photos], {}, lambda path, regions: None)
    assert (report.merged, report.written, len(report.skipped)) == (1, 1, 1)
    assert report.skipped[0].path.endswith("b.jpg.xmp")


def test_sidecars_keep_their_mode_and_long_names_get_one(tmp_path):
    """A photo app running as another user must still read the sidecars: an existing
    one keeps its mode, a new one follows the umask; a photo name near the file system's
    limit still gets its sidecar."""
    import os
    import stat

    from facerec.library.export import export_sidecars

    shared, readonly = tmp_path / "shared.jpg", tmp_path / "readonly.jpg"
    (tmp_path / "shared.jpg.xmp").write_text("")
    (tmp_path / "readonly.jpg.xmp").write_text("")
    os.chmod(tmp_path / "shared.jpg.xmp", 0o644)
    os.chmod(tmp_path / "readonly.jpg.xmp", 0o444)
    new = tmp_path / "new.jpg"
    long = tmp_path / ("x" * (250 - len(".jpg.xmp")) + ".jpg")
    previous = os.umask(0o022)
    try:
        report = export_sidecars([_photo(p) for p in (shared, readonly, new, long)], {},
                                 lambda path, regions: None)
    finally:
        os.umask(previous)
    assert report.skipped == []

    def mode(path) -> int:
        return stat.S_IMODE(os.stat(str(path) + ".xmp").st_mode)

    assert (mode(shared), mode(readonly), mode(new), mode(long)) == \
        (0o644, 0o444, 0o644, 0o644)
    assert not list(tmp_path.glob(".facerec-*"))
