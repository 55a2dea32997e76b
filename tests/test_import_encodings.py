"""Encodings stored by face_recognition users: reading them safely, and identifying the
same people after the import."""

from __future__ import annotations

import csv
import io
import json
import pickle
import resource
import warnings
import zipfile

import numpy as np
import pytest

from facerec import EncodingsError, FaceAnalyzer, Recognizer
from facerec.cli import main
from facerec.enrollment.from_encodings import similarity_for_tolerance
from facerec.formats.encodings_file import read_encodings
from facerec.storage.gallery import Gallery

RNG = np.random.default_rng(0)


def _vectors(count: int) -> np.ndarray:
    return RNG.normal(0.0, 0.12, (count, 128)).astype(np.float32)


def test_npz_csv_json_and_npy_read_alike(tmp_path):
    vectors, names = _vectors(3), ["ann", "bob", "ann"]
    np.savez(tmp_path / "e.npz", encodings=vectors, names=np.array(names))
    with open(tmp_path / "e.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", *[f"v{i}" for i in range(128)]])
        writer.writerows([[n, *map(repr, v.tolist())] for n, v in zip(names, vectors)])
    (tmp_path / "e.json").write_text(json.dumps(
        [{"name": n, "encoding": v.tolist()} for n, v in zip(names, vectors)]))
    np.save(tmp_path / "e.npy", vectors)
    (tmp_path / "names.txt").write_text("\n".join(names) + "\n")
    for path, names_file in ((tmp_path / "e.npz", None), (tmp_path / "e.csv", None),
                             (tmp_path / "e.json", None),
                             (tmp_path / "e.npy", tmp_path / "names.txt")):
        read = read_encodings(path, names_file)
        assert read.names == names and read.rows == [1, 2, 3] and not read.skipped, path
        np.testing.assert_allclose(read.vectors, vectors, rtol=1e-6)


def test_bad_rows_are_skipped_with_their_reason(tmp_path):
    good = _vectors(1)[0].tolist()
    items = [{"name": "ann", "encoding": good},
             {"name": "bob", "encoding": good[:100]},
             {"name": "cat", "encoding": [0.0] * 128},
             {"name": "unknown", "encoding": good},
             {"name": "dan", "encoding": [*good[:127], "x"]}]
    (tmp_path / "e.json").write_text(json.dumps(items))
    read = read_encodings(tmp_path / "e.json")
    assert read.names == ["ann"]
    reasons = {skip.path.rsplit("#", 1)[1]: skip.reason for skip in read.skipped}
    assert set(reasons) == {"2", "3", "4", "5"}
    assert "100 values" in reasons["2"] and "zeros" in reasons["3"]
    assert "reserved" in reasons["4"] or "unknown" in reasons["4"]


def test_pickles_are_refused_unopened(tmp_path):
    """A pickle can run code when loaded: refused by suffix and by content, with the
    conversion a user can run on a file they trust."""
    payload = pickle.dumps({"encodings": _vectors(2), "names": ["a", "b"]})
    for name in ("encodings.pickle", "encodings.npz"):
        path = tmp_path / name
        path.write_bytes(payload)
        with pytest.raises(EncodingsError, match="run any code") as caught:
            read_encodings(path)
        assert "np.savez" in str(caught.value)


def test_unpairable_files_are_errors(tmp_path):
    np.savez(tmp_path / "e.npz", encodings=_vectors(3), names=np.array(["a", "b"]))
    with pytest.raises(EncodingsError, match="2 names for 3 encodings"):
        read_encodings(tmp_path / "e.npz")
    np.save(tmp_path / "e.npy", _vectors(2))
    with pytest.raises(EncodingsError, match="--names"):
        read_encodings(tmp_path / "e.npy")
    (tmp_path / "e.txt").write_text("hello")
    with pytest.raises(EncodingsError, match="unknown format"):
        read_encodings(tmp_path / "e.txt")


def test_tolerance_maps_to_similarity():
    a = np.zeros(128)
    a[0] = 1.4
    b = np.zeros(128)
    b[0], b[1] = 1.4 * np.cos(0.3), 1.4 * np.sin(0.3)
    distance = float(np.linalg.norm(a - b))
    assert similarity_for_tolerance(distance, 1.4) == pytest.approx(np.cos(0.3))


@pytest.fixture(scope="module")
def face_recognition():
    """The real face_recognition package (a test dependency, with dlib-bin)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # its models package uses pkg_resources
        return pytest.importorskip("face_recognition",
                                   reason="face_recognition is a test dependency")


def _nearest(known: np.ndarray, names: list[str], encoding: np.ndarray,
             tolerance: float) -> str:
    distances = np.linalg.norm(known - encoding, axis=1)
    best = int(np.argmin(distances))
    return names[best] if distances[best] <= tolerance else "unknown"


@pytest.mark.slow
def test_face_recognition_encodings_identify_the_same_people(
        face_recognition, shared_faces, dlib_path, model_paths, tmp_path):
    """Encodings made by face_recognition itself are imported through the command line;
    facerec, embedding the probes with its own port of the network, then names every
    probe face as face_recognition does with its own encodings and tolerance 0.6."""
    names, encodings = [], []
    for photo in sorted((shared_faces / "gallery").glob("*/*")):
        found = face_recognition.face_encodings(face_recognition.load_image_file(photo))
        assert len(found) == 1, photo
        names.append(photo.parent.name)
        encodings.append(found[0])
    known = np.array(encodings)
    np.savez(tmp_path / "known.npz", encodings=known, names=np.array(names))
    db = tmp_path / "db"
    assert main(["import-encodings", str(tmp_path / "known.npz"), "--db", str(db),
                 "--tolerance", "0.6"]) == 0

    analyzer = FaceAnalyzer("cpu", embedder="dlib-resnet-v1")
    compared = 0
    with Recognizer(Gallery(db, create=False), analyzer) as recognizer:
        assert recognizer.gallery.model == "dlib-resnet-v1"
        assert sorted(p for p, _ in recognizer.gallery.people()) == sorted(set(names))
        for probe in sorted((shared_faces / "probes").glob("*.jpg")):
            image = face_recognition.load_image_file(probe)
            locations = face_recognition.face_locations(image)
            theirs = [(_nearest(known, names, e, 0.6), loc) for e, loc in
                      zip(face_recognition.face_encodings(image, locations), locations)]
            ours = recognizer.identify(probe)
            for person, (top, right, bottom, left) in theirs:
                centre = np.array([(left + right) / 2, (top + bottom) / 2])
                match = min(ours, key=lambda m: np.linalg.norm(
                    np.array([(m.detection.box[0] + m.detection.box[2]) / 2,
                              (m.detection.box[1] + m.detection.box[3]) / 2]) - centre))
                assert match.person == person, (probe.name, person, match)
                compared += 1
    assert compared >= 8


def _forged_npy(shape: tuple[int, ...], dtype: str = "<f8", data: bytes = b"") -> bytes:
    """An .npy file whose header claims ``shape`` and holds ``data``."""
    buffer = io.BytesIO()
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def _write_zeros(archive: zipfile.ZipFile, name: str, header: bytes, size: int) -> None:
    """A member of ``header`` then ``size`` zero bytes, which deflate to almost nothing."""
    with archive.open(name, "w", force_zip64=True) as member:
        member.write(header)
        zeros = b"\0" * (1 << 24)
        for _ in range(size // len(zeros)):
            member.write(zeros)


def test_forged_headers_are_refused_before_the_data_is_read(tmp_path):
    """A 1.5 KB file claiming 10^12 x 128 floats, as .npy and inside an .npz."""
    forged = _forged_npy((10 ** 12, 128), data=b"\0" * 1024)
    (tmp_path / "big.npy").write_bytes(forged)
    (tmp_path / "names.txt").write_text("a\n")
    with pytest.raises(EncodingsError, match="claims"):
        read_encodings(tmp_path / "big.npy", tmp_path / "names.txt")
    with zipfile.ZipFile(tmp_path / "big.npz", "w") as archive:
        archive.writestr("encodings.npy", forged)
        archive.writestr("names.npy", _forged_npy((10 ** 12,), "<U5"))
    with pytest.raises(EncodingsError, match="claims"):
        read_encodings(tmp_path / "big.npz")


def test_a_zip_bomb_is_refused_before_it_inflates(tmp_path):
    """Under a megabyte that inflates to 256 MB of zeros, shaped like encodings: refused
    from the zip's directory, with memory untouched."""
    rows = (1 << 28) // (128 * 8)
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        _write_zeros(archive, "encodings.npy", _forged_npy((rows, 128)), rows * 128 * 8)
        archive.writestr("names.npy", _forged_npy((rows,), "<U1", b"a\0\0\0" * rows))
    assert path.stat().st_size < 8 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(EncodingsError, match="zip bomb|over the"):
        read_encodings(path)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100


@pytest.mark.parametrize("shape", [(3, 2, 64), (128,), (4, 129), (2, 64, 2)])
def test_only_n_by_128_arrays_are_encodings(tmp_path, shape):
    values = np.ones(shape, np.float32)
    np.save(tmp_path / "e.npy", values)
    (tmp_path / "names.txt").write_text("a\nb\nc\nd\n")
    with pytest.raises(EncodingsError, match="128"):
        read_encodings(tmp_path / "e.npy", tmp_path / "names.txt")
    np.savez(tmp_path / "e.npz", encodings=values, names=np.array(["a"] * len(values)))
    with pytest.raises(EncodingsError, match="128"):
        read_encodings(tmp_path / "e.npz")


def test_names_must_pair_with_the_encodings(tmp_path):
    np.savez(tmp_path / "e.npz", encodings=_vectors(3), names=np.array([["a", "b", "c"]]))
    with pytest.raises(EncodingsError, match=r"names must be an \(N,\) array"):
        read_encodings(tmp_path / "e.npz")


def test_a_names_bomb_is_refused_before_it_inflates(tmp_path):
    """Two honest encodings and a names array that inflates to a gigabyte of text:
    refused from the zip's directory (two names cannot need more than two long names'
    bytes), with memory untouched."""
    path = tmp_path / "names-bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        buffer = io.BytesIO()
        honest = np.random.default_rng(0).normal(size=(2, 128))
        np.save(buffer, honest / np.linalg.norm(honest, axis=1, keepdims=True))
        archive.writestr("encodings.npy", buffer.getvalue())
        width = (1 << 30) // 8 // 4  # two names of 128 Mi characters each: 1 GiB
        _write_zeros(archive, "names.npy", _forged_npy((2,), f"<U{width}"), 2 * width * 4)
    assert path.stat().st_size < 8 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(EncodingsError, match="over the"):
        read_encodings(path)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100
