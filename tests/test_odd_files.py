"""One odd file never costs a run, and what facerec writes never attacks its reader: decoder
errors of any kind, names that are not UTF-8 or hold control characters, a full disk, and
names that a spreadsheet would run as formulas."""

from __future__ import annotations

import csv
import io
import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from cli import assert_no_traceback, run_cli
from PIL import Image, ImageFile, features

from facerec import load_image
from facerec.errors import ImageError
from facerec.escaping import shown, spreadsheet_safe

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def png_with_text_bomb(megabytes: int = 64) -> bytes:
    """A valid 64x64 PNG whose zTXt chunk inflates to ``megabytes`` MB."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 100, 90)).save(buffer, "PNG")
    png = buffer.getvalue()
    payload = b"Comment\x00\x00" + zlib.compress(b"A" * (megabytes << 20), 9)
    chunk = (struct.pack(">I", len(payload)) + b"zTXt" + payload
             + struct.pack(">I", zlib.crc32(b"zTXt" + payload)))
    return png[:33] + chunk + png[33:]  # after the signature (8) and IHDR (25)


@pytest.fixture
def known(tmp_path, samples) -> Path:
    """known/obama with two real photos, a PNG text bomb and a photo whose name is not
    UTF-8; known/<not UTF-8> with biden."""
    folder = tmp_path / "known"
    (folder / "obama").mkdir(parents=True)
    shutil.copy(samples / "obama.jpg", folder / "obama" / "a.jpg")
    shutil.copy(samples / "obama2.jpg", folder / "obama" / "b.jpg")
    (folder / "obama" / "bomb.png").write_bytes(png_with_text_bomb())
    raw = os.fsencode(folder)
    shutil.copy(samples / "obama3.jpg", raw + b"/obama/caf\xe9\x1b[31m.jpg")
    os.mkdir(raw + b"/Jos\xe9")
    shutil.copy(samples / "biden.jpg", raw + b"/Jos\xe9/b.jpg")
    return folder


def test_any_decoder_error_is_the_files_reason(tmp_path, monkeypatch):
    # face_recognition, imported by other tests, turns Pillow's LOAD_TRUNCATED_IMAGES on
    # for the whole process (the text chunk is then dropped and the image read)
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_with_text_bomb())
    with pytest.raises(ImageError, match="bomb.png: corrupt image"):
        load_image(bomb)
    with pytest.raises(ImageError, match="corrupt image"):
        load_image(bomb.read_bytes())


@pytest.mark.slow
def test_enroll_and_identify_skip_what_they_cannot_read_and_go_on(known, tmp_path,
                                                                   model_paths, monkeypatch):
    # the command runs in this process: Pillow as a fresh process has it (see above)
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)
    db, report = tmp_path / "db", tmp_path / "report.csv"
    done = run_cli("enroll", known, "--db", db, "--report", report)
    assert_no_traceback(done)
    assert done.returncode == 1, done.stderr
    assert "added 2" in done.stdout
    assert "bomb.png: corrupt image" in done.stderr
    # names that are not UTF-8 are skipped, named with their bytes escaped; the escape
    # character never reaches the terminal raw
    assert "caf\\xe9\\x1b[31m.jpg: its name is not valid UTF-8" in done.stderr
    assert "Jos\\xe9" in done.stderr and "\x1b" not in done.stderr
    rows = list(csv.reader(report.open(encoding="utf-8")))
    reasons = {Path(row[1]).name: row[2] for row in rows[1:]}
    assert "corrupt image" in reasons["bomb.png"]
    assert "not valid UTF-8" in reasons["caf\\xe9\\x1b[31m.jpg"]
    photos = sorted((known / "obama").iterdir())       # a.jpg, b.jpg, bomb.png, caf\xe9.jpg
    identified = run_cli("identify", "--db", db, *photos)
    assert_no_traceback(identified)
    assert identified.returncode == 1 and "bomb.png: corrupt image" in identified.stderr
    named = [line for line in identified.stdout.splitlines() if line.startswith("  obama ")]
    assert len(named) == 3, identified.stdout
    assert "caf\\xe9\\x1b[31m.jpg: 1 face" in identified.stdout


def test_control_characters_in_names_are_printed_escaped(tmp_path, model_paths):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("evil\u202egpj.exe.jpg", "two\nlines.jpg", "bell\x07.jpg"):
        (folder / name).write_bytes(b"not an image")
    done = run_cli("detect", folder)
    assert_no_traceback(done)
    assert done.returncode == 1
    for raw, escaped in (("\u202e", "\\u202e"), ("\n", "\\n"), ("\x07", "\\x07")):
        assert escaped in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("facerec: ") for line in lines), lines
    assert "\u202e" not in done.stderr and "\x07" not in done.stderr


def test_a_full_disk_is_one_line(tmp_path, samples, model_paths):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    out = tmp_path / "faces.npz"
    out.symlink_to("/dev/full")
    done = run_cli("embed", samples / "obama.jpg", "--out", out)
    assert_no_traceback(done)
    assert done.returncode == 2
    assert done.stderr.strip().endswith("disk full"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\",\"y\")", "+SUM(1,1)", "-1+2",
                                  "@x", "\t=1", "\r=1", "=cmd|' /C calc'!A0"])
def test_formula_cells_are_neutralised(cell):
    safe = spreadsheet_safe(cell)
    assert not safe.startswith(FORMULA_START)


@pytest.mark.parametrize("number", ["-1", "-3.25", "+2", "12", "1e-05", "-0.5E3"])
def test_numbers_stay_numbers(number):
    assert spreadsheet_safe(number) == number


@pytest.mark.slow
def test_every_csv_facerec_writes_is_neutralised(tmp_path, samples, model_paths):
    """Person folders and photos named as formulas, in a folder named as one (given as a
    relative path, so every path cell starts with it)."""
    known = tmp_path / "+SUM(1,1)"
    for person, photo, stray in (("=1+1", "obama.jpg", "@x.jpg"),
                                 ("@SUM(A1)", "biden.jpg", "-1+2.jpg")):
        (known / person).mkdir(parents=True)
        shutil.copy(samples / photo, known / person / photo)
        (known / person / stray).write_bytes(b"not an image")
    db, report, embedded = tmp_path / "db", tmp_path / "report.csv", tmp_path / "e.csv"
    enrolled = run_cli("enroll", known.name, "--db", db, "--report", report, cwd=tmp_path)
    assert "added 2" in enrolled.stdout, enrolled.stderr
    identified = run_cli("identify", "--db", db, "--csv", known.name, cwd=tmp_path)
    embed = run_cli("embed", known.name, "--out", embedded, cwd=tmp_path)
    assert embed.returncode == 1, embed.stderr
    tables = {"enroll --report": report.read_text(encoding="utf-8"),
              "identify --csv": identified.stdout, "embed --out": embedded.read_text()}
    for command, text in tables.items():
        rows = list(csv.reader(io.StringIO(text)))
        assert len(rows) >= 3, (command, text)
        cells = [cell for row in rows for cell in row]
        dangerous = [c for c in cells if c.startswith(FORMULA_START)
                     and not _is_number(c)]
        assert dangerous == [], (command, dangerous)
        assert any(c.startswith("'") for c in cells), (command, text)
    names = {row[6] for row in csv.reader(io.StringIO(identified.stdout))}
    assert {"'=1+1", "'@SUM(A1)"} <= names


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_shown_escapes_only_what_a_terminal_acts_on():
    assert shown("José Ünal 李") == "José Ünal 李"
    assert shown("a\tb\x1b[2J\u202e\udcff") == "a\\tb\\x1b[2J\\u202e\\xff"


def test_photos_in_formats_not_read_are_named_never_passed_over(tmp_path, samples,
                                                                model_paths):
    """Camera RAW files in a folder are named with the reason, and so is a HEIC too
    damaged to read (by its name or renamed .jpg); an AVIF is read."""
    folder = tmp_path / "phone"
    folder.mkdir()
    heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64   # a header, no image
    (folder / "IMG_0001.HEIC").write_bytes(heic)
    (folder / "renamed.jpg").write_bytes(heic)
    (folder / "DSC_0002.NEF").write_bytes(b"II*\0" + b"\0" * 64)
    avif = features.check("avif")                       # Pillow 11.3 and later
    if avif:
        Image.open(samples / "obama.jpg").save(folder / "obama.avif")
    done = run_cli("detect", folder)
    assert_no_traceback(done)
    assert done.returncode == 1
    assert not avif or "obama.avif: 1 face" in done.stdout
    for name, reason in (("IMG_0001.HEIC", "not an image"), ("renamed.jpg", "not an image"),
                         ("DSC_0002.NEF", "a camera RAW photo, which facerec does not read "
                                          "yet")):
        assert f"{name}: {reason}" in done.stderr
