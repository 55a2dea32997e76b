"""Fast unit tests of the pieces around the core: the micro-batcher, the tracker, the
calibration, the threshold rule and the API key rule. No network, no file."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from facerec.errors import CalibrationError, FacerecError, QueueFull, Unavailable, WorkerLost
from facerec.live.tracker import IouTracker
from facerec.names import UNKNOWN
from facerec.recognition.calibration import calibrate
from facerec.results import Candidate, Match
from facerec.server.batcher import MicroBatcher
from facerec.server.config import check_api_key
from facerec.types import Detection


def box(x: float, y: float, side: float = 50.0, score: float = 0.9) -> Detection:
    return Detection((x, y, x + side, y + side), ((x, y),) * 5, score)


# micro-batcher -------------------------------------------------------------------------------
def test_batcher_groups_items_that_arrive_together():
    calls = []
    batcher = MicroBatcher(lambda items: calls.append(list(items)) or [i * 2 for i in items],
                           max_batch=8, max_wait=0.05, max_queue=64)
    futures = [batcher.submit(i) for i in range(5)]
    assert [f.result(5) for f in futures] == [0, 2, 4, 6, 8]
    batcher.close()
    assert len(calls) <= 2 and sum(map(len, calls)) == 5
    assert batcher.items == 5 and batcher.batches == len(calls)


def test_batcher_isolates_a_bad_item():
    def process(items):
        if "bad" in items:
            raise ValueError("bad item")
        return [item.upper() for item in items]

    batcher = MicroBatcher(process, max_batch=4, max_wait=0.05)
    futures = [batcher.submit(x) for x in ("a", "bad", "c")]
    assert futures[0].result(5) == "A" and futures[2].result(5) == "C"
    with pytest.raises(ValueError):
        futures[1].result(5)
    batcher.close()


def test_batcher_refuses_beyond_its_queue():
    gate = threading.Event()
    batcher = MicroBatcher(lambda items: gate.wait(5) and list(items), max_batch=1,
                           max_wait=0.0, max_queue=2)
    first = batcher.submit(1)
    time.sleep(0.1)  # the worker holds the first item
    batcher.submit(2)
    batcher.submit(3)
    with pytest.raises(QueueFull):
        batcher.submit(4)
    assert isinstance(QueueFull("x"), FacerecError)
    gate.set()
    assert first.result(5) == 1
    batcher.close()


class WorkerCrash(BaseException):
    """What kills a thread that catches only Exception (as SystemExit would)."""


def test_batcher_replaces_a_worker_that_dies():
    def process(items):
        if "crash" in items:
            raise WorkerCrash
        return [item.upper() for item in items]

    batcher = MicroBatcher(process, max_batch=1, max_wait=0.0, deadline=5.0)
    lost = batcher.submit("crash")
    with pytest.raises(WorkerLost):
        lost.result(5)  # failed at once, not left hanging
    assert asyncio.run(batcher.run("next")) == "NEXT"  # a new worker took over
    assert batcher.restarts == 1 and isinstance(WorkerLost("x"), Unavailable)
    batcher.close()


def test_batcher_gives_up_on_a_stalled_call_and_moves_on():
    stuck = threading.Event()

    def process(items):
        if "stall" in items:
            stuck.wait(10)
        return [item.upper() for item in items]

    batcher = MicroBatcher(process, max_batch=1, max_wait=0.0, deadline=0.3)

    async def two_requests():
        stalled = asyncio.ensure_future(batcher.run("stall"))
        await asyncio.sleep(0.05)
        queued = asyncio.ensure_future(batcher.run("queued"))
        return await asyncio.gather(stalled, queued, return_exceptions=True)

    started = time.monotonic()
    stalled, queued = asyncio.run(two_requests())
    assert isinstance(stalled, WorkerLost) and time.monotonic() - started < 3
    assert queued == "QUEUED" or isinstance(queued, WorkerLost)
    assert asyncio.run(batcher.run("after")) == "AFTER"  # served while the old call hangs
    assert batcher.restarts == 1
    stuck.set()
    batcher.close()


# tracker -------------------------------------------------------------------------------------
def test_tracker_follows_a_moving_face_and_ends_it():
    tracker = IouTracker(max_missed=2)
    seen, _ = tracker.update([box(0, 0)], 0.0)
    (track,) = seen
    for step in range(1, 5):
        seen, ended = tracker.update([box(step * 5, 0)], step / 10)
        assert seen == [track] and not ended
    for step in range(3):
        seen, ended = tracker.update([], 1 + step)
    assert ended == [track] and not tracker.tracks


def test_tracker_embeds_when_needed_and_votes_the_name():
    tracker = IouTracker(refresh=3, grow=1.5)
    (track,) = tracker.update([box(0, 0)], 0.0)[0]
    assert tracker.needs_embedding(track, 0)
    tracker.record(track, Match(track.detection, "ada", 0.6, ()), 0)
    track.embedded_area = track.detection.area
    assert not tracker.needs_embedding(track, 1) and tracker.needs_embedding(track, 3)
    tracker.update([box(0, 0, side=70)], 0.1)  # grew by about twice the area
    assert tracker.needs_embedding(track, 1)
    tracker.record(track, Match(track.detection, UNKNOWN, 0.2, ()), 1)
    tracker.record(track, Match(track.detection, "ada", 0.5, ()), 2)
    assert track.name == "ada" and track.similarity == pytest.approx(0.55)


# recognition rules -------------------------------------------------------------------------
def test_calibration_finds_the_threshold_for_a_false_accept_rate():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((30, 64))
    labels = np.repeat(np.arange(30), 6)
    faces = centres[labels] + rng.standard_normal((180, 64)) * 0.7
    faces /= np.linalg.norm(faces, axis=1, keepdims=True)
    result = calibrate(faces.astype(np.float32), labels, far=0.01)
    sims = faces @ faces.T
    upper = np.triu_indices(180, 1)
    impostor = sims[upper][labels[upper[0]] != labels[upper[1]]]
    assert np.mean(impostor >= result.threshold) <= 0.01
    assert result.reliable and result.true_accept_rate > 0.9
    with pytest.raises(CalibrationError):
        calibrate(faces.astype(np.float32), labels, far=1.5)


@pytest.mark.parametrize("key", ["Zq8-vK2mP_x7LrT4wN9s", "correct-horse-battery-staple-42"])
def test_strong_api_keys_pass(key):
    check_api_key(key)


@pytest.mark.parametrize("key", ["x" * 40, "0123456789abcdefghij", "abababababababababab",
                                 "has a space in it 12345", "short"])
def test_weak_api_keys_fail(key):
    with pytest.raises(FacerecError, match="API key"):
        check_api_key(key)


def test_http_schemas_are_made_from_the_result_types():
    """Every answer validates against its schema with nothing left over, and a key a
    to_dict gains without its shape is refused, never dropped."""
    import pydantic

    from facerec.results import EnrollReport, Identification, Skip, Threshold, Verification
    from facerec.server import schemas

    match = Match(box(0, 0), "ada", 0.8, (Candidate("ada", 0.8), Candidate("bob", 0.3)))
    unsure = Match(box(0, 0), "unknown", 0.8, (Candidate("ada", 0.8),), "unsure", "ada or bob")
    answer = Identification((match, unsure), Threshold(0.5, "open-set", 0.01, 3, 6),
                            "m").to_dict()
    assert schemas.IdentifyResult.model_validate(answer).model_dump(exclude_none=True) == answer
    verification = Verification(True, 0.8, Threshold(0.5, "model"), "m", (box(0, 0), box(1, 1)))
    assert schemas.VerifyResult.model_validate(verification.to_dict()).model_dump(
        exclude_none=True) == verification.to_dict()
    report = EnrollReport(people={"ada"}, photos=2, skipped=[Skip("a.jpg", "no face", "bob")],
                          duplicates=[Skip("b.jpg", "same photo as c.jpg")])
    body = schemas.enroll_body("ada", report)
    validated = schemas.EnrollResult.model_validate(body).model_dump(exclude_none=True)
    assert validated == body
    with pytest.raises(pydantic.ValidationError, match="extra"):
        schemas.IdentifyResult.model_validate({**answer, "added_later": 1})
    with pytest.raises(pydantic.ValidationError, match="extra"):
        schemas.IdentifiedFace.model_validate({**match.to_dict(), "added_later": 1})
