"""``facerec models``, ``samples``, ``detect``, ``embed`` and ``verify`` end to end."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from cli import assert_no_traceback, run_cli


def test_every_command_explains_itself():
    """``facerec COMMAND --help`` for every command (argparse formats help texts with
    ``%``: a bare one, as in "1%", crashed identify's and calibrate's)."""
    from facerec.cli import build_parser

    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    for name in ["", *commands]:
        done = run_cli(*([name] if name else []), "--help")
        assert done.returncode == 0 and "usage: facerec" in done.stdout, (name, done.stderr)


def test_models_lists_state_and_license(model_paths):
    done = run_cli("models", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert rows["yunet-2023mar"]["state"] == "ready"
    assert rows["sface-2021dec"]["license"] == "Apache-2.0"
    text = run_cli("models")
    assert "MIT" in text.stdout and "ready" in text.stdout


def test_models_import_refuses_an_unknown_file(tmp_path):
    bogus = tmp_path / "x.onnx"
    bogus.write_bytes(b"nothing")
    done = run_cli("models", "import", bogus)
    assert done.returncode == 2
    assert "matches no known model" in done.stderr
    assert_no_traceback(done)


def test_detect_json_and_bad_inputs(samples, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    done = run_cli("detect", "--json", "--device", "cpu", samples / "obama.jpg", broken,
                   tmp_path / "missing.jpg")
    assert done.returncode == 1
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 1 and len(records[0]["faces"]) == 1
    face = records[0]["faces"][0]
    assert len(face["box"]) == 4 and len(face["landmarks"]) == 5 and face["score"] > 0.8
    assert "broken.jpg" in done.stderr and "missing.jpg" in done.stderr
    assert_no_traceback(done)


@pytest.mark.slow
def test_embed_npz_and_csv(samples, tmp_path):
    out = tmp_path / "faces.npz"
    done = run_cli("embed", samples, "--out", out, "--device", "cpu")
    assert done.returncode == 0, done.stderr
    with np.load(out, allow_pickle=False) as data:
        assert data["embedding"].shape == (7, 128)
        assert data["box"].shape == (7, 4)
        np.testing.assert_allclose(np.linalg.norm(data["embedding"], axis=1), 1.0, atol=1e-5)
        assert str(data["model"]) == "sface-2021dec"
    table = tmp_path / "faces.csv"
    assert run_cli("embed", samples / "biden.jpg", "--out", table).returncode == 0
    with open(table, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1 and rows[0]["image"].endswith("biden.jpg") and "e127" in rows[0]
    refused = run_cli("embed", samples, "--out", tmp_path / "faces.pkl")
    assert refused.returncode == 2 and ".npz or .csv" in refused.stderr


@pytest.mark.parametrize("other, same", [("obama2.jpg", True), ("obama3.jpg", True),
                                         ("biden.jpg", False)])
def test_verify_same_and_different(samples, other, same):
    done = run_cli("verify", samples / "obama.jpg", samples / other, "--json")
    assert done.returncode == (0 if same else 1), done.stderr
    result = json.loads(done.stdout)
    assert result["same_person"] is same
    assert (result["similarity"] >= result["threshold"]) is same


def test_verify_without_a_face(samples, tmp_path):
    from PIL import Image
    blank = tmp_path / "blank.png"
    Image.new("RGB", (320, 240), (128, 128, 128)).save(blank)
    done = run_cli("verify", samples / "obama.jpg", blank)
    assert done.returncode == 2 and "no face found" in done.stderr
    assert_no_traceback(done)
