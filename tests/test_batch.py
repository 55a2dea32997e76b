"""facerec batch on a local Ray runtime (2 CPUs) over real photos: the same faces and
embeddings as one machine, a database that identifies alike, bad files recorded, resumed
runs without duplicates."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from cli import run_cli

ray = pytest.importorskip("ray", reason="Ray is the cluster extra: pip install "
                                        "'facerec[cluster]'")

from facerec import Gallery, Recognizer  # noqa: E402
from facerec.batch.embed import embed_to_parquet  # noqa: E402
from facerec.batch.enroll import enroll_records, identify_records  # noqa: E402
from facerec.batch.records import read_records, shards  # noqa: E402
from facerec.cli import main  # noqa: E402

pytestmark = pytest.mark.slow  # real services, browsers or kill loops: the full run


@pytest.fixture(scope="module")
def photos(shared_faces, tmp_path_factory):
    """The gallery (folder = person) and probes, plus a corrupt photo and a text file."""
    root = tmp_path_factory.mktemp("photos")
    shutil.copytree(shared_faces / "gallery", root / "gallery")
    junk = root / "gallery" / "junk"
    junk.mkdir()
    data = (shared_faces / "gallery" / "obama" / "obama.jpg").read_bytes()
    (junk / "truncated.jpg").write_bytes(data[:2000])
    (junk / "notes.jpg").write_text("not a photo")
    return root


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def embedded(local_ray, photos, model_paths, tmp_path_factory):
    out = tmp_path_factory.mktemp("records")
    embed_to_parquet([str(photos / "gallery")], out, workers=1)
    return out


def test_records_equal_the_single_machine_embed(embedded, photos, tmp_path):
    assert main(["embed", str(photos / "gallery"), "--out", str(tmp_path / "one.npz")]) == 1
    with np.load(tmp_path / "one.npz") as one:
        single = {(str(p), int(f)): e for p, f, e in
                  zip(one["image"], one["face"], one["embedding"])}
    table = read_records(embedded)
    rows = [r for r in table.to_pylist() if r["error"] is None]
    assert {(r["photo"], r["face"]) for r in rows} == set(single)
    for r in rows:
        assert np.abs(np.array(r["embedding"]) - single[(r["photo"], r["face"])]).max() < 1e-5
    reasons = {r["photo"].rsplit("/", 1)[1]: r["error"] for r in table.to_pylist()
               if r["error"]}
    assert set(reasons) == {"truncated.jpg", "notes.jpg"}  # recorded, the run went on


def test_a_database_from_records_identifies_like_enroll(embedded, photos, shared_faces,
                                                       tmp_path):
    with Gallery(tmp_path / "batch-db") as gallery:
        report = enroll_records(gallery, embedded)
    assert report.added == 9 and len(report.skipped) == 2
    assert main(["enroll", str(photos / "gallery"), "--db", str(tmp_path / "db")]) == 1
    probes = sorted((shared_faces / "probes").glob("*.jpg"))
    answers = []
    for db in ("batch-db", "db"):
        with Recognizer.open(tmp_path / db, create=False) as recognizer:
            assert sorted(recognizer.gallery.people()) == [
                ("alex_lacamoire", 1), ("biden", 2), ("kit_harington", 2), ("obama", 2),
                ("rose_leslie", 2)]
            answers.append([[m.person for m in recognizer.identify(p)] for p in probes])
    assert answers[0] == answers[1]
    with Gallery(tmp_path / "batch-db", create=False) as gallery:
        rows, _ = identify_records(gallery, embedded)
    named = {photo.rsplit("/", 2)[1] for photo, _, m in rows if m.person != "unknown"}
    assert named == {"alex_lacamoire", "biden", "kit_harington", "obama", "rose_leslie"}


def test_a_killed_run_resumes_without_duplicates(local_ray, photos, model_paths, tmp_path):
    out = tmp_path / "records"
    embed_to_parquet([str(photos / "gallery" / "obama"), str(photos / "gallery" / "biden")],
                     out)
    first = read_records(out).num_rows
    broken = shards(out)[0]
    broken.write_bytes(broken.read_bytes()[:40])  # as a kill mid-write leaves it
    embed_to_parquet([str(photos / "gallery")], out)
    table = read_records(out)
    keys = [(r["sha256"], r["face"]) for r in table.to_pylist()]
    assert len(keys) == len(set(keys))  # nothing twice
    assert table.num_rows == 11 > first  # every photo once: 9 faces and 2 reasons


def test_batch_enroll_writes_into_a_shared_database(embedded, postgres, monkeypatch):
    """facerec batch enroll into PostgreSQL: the records become people every server of
    the database answers with."""
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    address = postgres.database_url("batch")
    done = run_cli("batch", "enroll", embedded, "--db", address)
    assert done.returncode in (0, 1), done.stderr  # 1: the two unreadable photos, named
    with Gallery(address, create=False) as gallery:
        assert sorted(gallery.people()) == [
            ("alex_lacamoire", 1), ("biden", 2), ("kit_harington", 2), ("obama", 2),
            ("rose_leslie", 2)]
        assert gallery.check() == (9, 9)
