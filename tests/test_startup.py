"""What a cold command loads: a one-photo ``identify`` imports neither torchvision's
package nor onnx (NMS comes from torchvision's compiled operator alone, ONNX files are read
only when their prepared copies are made), and its NMS answers as torchvision's does."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from facerec.faces.nms import batched_nms, nms

HEAVY = ("torchvision", "onnx")


@pytest.mark.slow
def test_identify_imports_neither_torchvision_nor_onnx(samples, tmp_path):
    db = tmp_path / "db"
    code = f"""
import sys
from facerec.cli import main
assert main(["enroll", "--db", {str(db)!r}, "--name", "obama", {str(samples / "obama.jpg")!r}]) == 0
before = {{m for m in sys.modules if m.split(".")[0] in {HEAVY!r}}}
assert main(["identify", "--db", {str(db)!r}, {str(samples / "obama2.jpg")!r}]) == 0
print(sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r}))
"""
    # the enrollment may prepare the weights' copies (and read the ONNX files) first;
    # a second process then identifies cold
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


@pytest.mark.parametrize("seed", range(5))
def test_nms_answers_as_torchvision_does(seed):
    ops = pytest.importorskip("torchvision.ops")
    generator = torch.Generator().manual_seed(seed)
    corners = torch.rand(300, 2, generator=generator) * 500
    sizes = torch.rand(300, 2, generator=generator) * 120 + 5
    boxes = torch.cat([corners, corners + sizes], dim=1)
    scores = torch.rand(300, generator=generator)
    groups = torch.randint(0, 4, (300,), generator=generator)
    for threshold in (0.1, 0.3, 0.7):
        assert torch.equal(nms(boxes, scores, threshold), ops.nms(boxes, scores, threshold))
        assert torch.equal(batched_nms(boxes, scores, groups, threshold),
                           ops.batched_nms(boxes, scores, groups, threshold))
    empty = torch.zeros((0, 4))
    assert batched_nms(empty, torch.zeros(0), torch.zeros(0, dtype=torch.int64), 0.3).numel() == 0


@pytest.mark.slow
def test_importing_facerec_changes_no_process_setting_until_the_levers_are_on():
    """A program importing facerec keeps its environment and thread count; with the
    levers on (as the commands and the service turn them), OpenMP's threads spin briefly
    unless the user says otherwise, and the thread count follows the free cores."""
    check = ("import os, torch; from facerec.levers import threads; "
             "print(os.environ.get('GOMP_SPINCOUNT'), threads._enabled)")
    plain = "import facerec, facerec.faces.analyzer; " + check
    levers = "from facerec.levers import enable_levers; enable_levers(); " + check
    environment = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}

    def run(code: str, **extra: str) -> str:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**environment, **extra}, check=True).stdout.strip()

    assert run(plain) == "None False"
    assert run(levers) == "30000 True"
    assert run(levers, GOMP_SPINCOUNT="100000") == "100000 True"


def test_the_librarys_questions_import_no_torch(samples, tmp_path):
    """``find``, ``photos`` and ``who`` (a photo the library holds) never run a network,
    so they never pay for importing torch."""
    from facerec.cli import main

    db, photos = str(tmp_path / "db"), tmp_path / "photos"
    photos.mkdir()
    for name in ("obama2.jpg", "biden.jpg"):
        (photos / name).write_bytes((samples / name).read_bytes())
    assert main(["enroll", "--db", db, "--name", "obama", str(samples / "obama.jpg")]) == 0
    assert main(["scan", "--db", db, str(photos)]) == 0
    code = f"""
import sys
from facerec.cli import main
assert main(["find", "obama", "--db", {db!r}]) == 0
assert main(["photos", "--unknown", "--db", {db!r}]) == 0
assert main(["who", {str(photos / "obama2.jpg")!r}, "--db", {db!r}]) == 0
print(sorted(m for m in sys.modules if m.split(".")[0] == "torch")[:3])
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
