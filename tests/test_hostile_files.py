"""Files as a careless or hostile user hands them over: things that are not regular files,
huge sparse files, folders of junk, outputs that cannot be written, and faces that are
plainly there but at an awkward size."""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest
from cli import assert_no_traceback, run_cli_process
from PIL import Image

from facerec import load_image
from facerec.errors import ImageError


@pytest.fixture
def junk(tmp_path, samples):
    """A folder holding one real photo and entries that must be refused by name."""
    folder = tmp_path / "junk"
    folder.mkdir()
    shutil.copy(samples / "obama.jpg", folder / "real.jpg")
    os.mkfifo(folder / "pipe.jpg")
    os.symlink("/dev/zero", folder / "zero.jpg")
    os.symlink(tmp_path / "nowhere.jpg", folder / "broken.jpg")
    (folder / "folder.jpg").mkdir()
    return folder


@pytest.mark.parametrize("entry, reason", [("pipe.jpg", "a FIFO"),
                                           ("zero.jpg", "a character device")])
def test_special_files_are_refused_unread(junk, entry, reason):
    with pytest.raises(ImageError, match=reason):
        load_image(junk / entry)
    started = time.monotonic()
    done = run_cli_process("detect", junk / entry, timeout=120)
    assert done.returncode == 1 and reason in done.stderr and time.monotonic() - started < 60
    assert_no_traceback(done)


def test_a_huge_sparse_file_is_refused_before_it_is_read(tmp_path, model_paths):
    huge = tmp_path / "huge.jpg"
    with open(huge, "wb") as fh:
        fh.truncate(6 * 1024 ** 3)
    started = time.monotonic()
    with pytest.raises(ImageError, match="file too large"):
        load_image(huge)
    assert time.monotonic() - started < 1.0


def test_folder_entries_that_are_skipped_are_named(junk):
    done = run_cli_process("detect", junk, "--json", timeout=300)
    assert done.returncode == 1, done.stderr
    assert_no_traceback(done)
    assert "real.jpg" in done.stdout
    for entry, reason in (("pipe.jpg", "a FIFO"), ("zero.jpg", "a character device"),
                          ("broken.jpg", "a broken link"), ("folder.jpg", "a folder")):
        line = next(line for line in done.stderr.splitlines() if entry in line)
        assert reason in line


def test_enrolling_a_folder_of_junk_names_what_was_skipped(tmp_path, junk):
    known = tmp_path / "known"
    (known / "obama").mkdir(parents=True)
    for entry in junk.iterdir():
        os.rename(entry, known / "obama" / entry.name)
    done = run_cli_process("enroll", "--db", tmp_path / "db", known, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "added 1" in done.stdout
    for entry in ("pipe.jpg", "zero.jpg", "broken.jpg", "folder.jpg"):
        assert entry in done.stderr


def test_nothing_to_work_on_is_said(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for command in (("detect", empty), ("embed", empty, "--out", tmp_path / "e.npz")):
        done = run_cli_process(*command)
        assert done.returncode == 2 and "no photos to" in done.stderr, done.stderr
        assert_no_traceback(done)


def test_outputs_are_checked_before_the_work(tmp_path, samples):
    started = time.monotonic()
    missing = run_cli_process("embed", samples, "--out", tmp_path / "no" / "such" / "out.npz")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    taken = tmp_path / "taken.txt"
    taken.write_text("")
    annotate = run_cli_process("identify", "--db", tmp_path / "db", samples, "--annotate", taken)
    assert annotate.returncode == 2 and "is a file" in annotate.stderr
    assert time.monotonic() - started < 60  # refused before loading any network
    for done in (missing, annotate):
        assert_no_traceback(done)


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_no_face_writes_a_valid_empty_result(tmp_path, suffix, model_paths):
    folder = tmp_path / "walls"
    folder.mkdir()
    Image.new("RGB", (320, 240), (90, 120, 90)).save(folder / "wall.png")
    out = tmp_path / f"faces{suffix}"
    done = run_cli_process("embed", folder, "--out", out)
    assert done.returncode == 0, done.stderr
    if suffix == ".npz":
        with np.load(out) as saved:
            assert saved["embedding"].shape == (0, 128) and saved["box"].shape == (0, 4)
    else:
        assert out.read_text().splitlines()[0].startswith("image,face,x1")


def test_close_ups_and_small_photos_show_their_face(analyzer, samples):
    """A face filling a large photo, and a face in a tiny one, are both found."""
    image = load_image(samples / "obama.jpg")
    (face,) = analyzer.detect(image)
    x1, y1, x2, y2 = (int(v) for v in face.box)
    crop = Image.fromarray(np.ascontiguousarray(image[y1:y2, x1:x2]))
    close_up = np.array(crop.resize((1200, round(1200 * (y2 - y1) / (x2 - x1)))))
    found = analyzer.detect(close_up)
    assert len(found) == 1 and found[0].width > 600
    tiny = np.array(Image.fromarray(image).resize((96, round(96 * image.shape[0]
                                                             / image.shape[1]))))
    (small,) = analyzer.detect(tiny)
    assert small.box[2] <= 96 + 5  # in the tiny photo's own coordinates
