"""``facerec watch`` headless on a real video built from photos, through the entry point."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from cli import assert_no_traceback, run_cli, run_cli_process
from video import face_patch, write_video

pytestmark = pytest.mark.slow  # real services, browsers or kill loops: the full run


@pytest.fixture(scope="module")
def scene(tmp_path_factory, analyzer, shared_faces):
    """Obama enrolled; a 3-second clip with Obama, then Biden (not enrolled) joining."""
    root = tmp_path_factory.mktemp("watch")
    db = root / "db"
    done = run_cli("enroll", shared_faces / "gallery" / "obama", "--name", "obama", "--db", db)
    assert done.returncode == 0, done.stderr
    obama = face_patch(analyzer, shared_faces / "probes" / "obama1.jpg")
    biden = face_patch(analyzer, next((shared_faces / "gallery" / "biden").glob("*.jpg")))
    video = write_video(root / "clip.avi", [(obama, 0, 44), (biden, 10, 44)], frames=45)
    return root, db, video


def test_headless_events_and_video(scene):
    root, db, video = scene
    events, out = root / "events.jsonl", root / "named.mp4"
    done = run_cli_process("watch", "--source", video, "--headless", "--db", db,
                           "--events", events, "--out", out, "--unknown-after", "1.0")
    assert done.returncode == 0, done.stderr
    assert_no_traceback(done)
    records = [json.loads(line) for line in events.read_text().splitlines()]
    kinds = [r["event"] for r in records]
    appeared = [r for r in records if r["event"] == "person_appeared"]
    assert [r["person"] for r in appeared] == ["obama"] and appeared[0]["time"] < 0.2
    lingering = [r for r in records if r["event"] == "unknown_lingering"]
    assert len(lingering) == 1 and 1.0 < lingering[0]["time"] < 2.5
    ended = {r["track"]: r["person"] for r in records if r["event"] == "track_ended"}
    assert sorted(ended.values()) == ["obama", "unknown"]
    assert kinds.count("person_appeared") == 1  # the name never flickered
    capture = cv2.VideoCapture(str(out))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 45
    capture.release()


def test_bad_sources_fail_cleanly(scene, tmp_path):
    _, db, _ = scene
    not_video = tmp_path / "notes.txt"
    not_video.write_text("hello")
    for source in (str(not_video), str(tmp_path / "missing.mp4"), "7"):
        done = run_cli_process("watch", "--source", source, "--headless", "--db", db)
        assert done.returncode == 2, (source, done.stderr)
        assert "cannot open" in done.stderr
        assert_no_traceback(done)


def test_a_damaged_video_is_read_past_the_damage(scene, tmp_path, analyzer, shared_faces):
    """Noise over the middle of an mp4: frames after it are still watched, the lost ones
    are counted and reported, and the exit code says part of the file was lost."""
    obama = face_patch(analyzer, shared_faces / "probes" / "obama1.jpg")
    clean = write_video(tmp_path / "clean.mp4", [(obama, 0, 119)], frames=120, codec="mp4v")
    data = bytearray(clean.read_bytes())
    middle = len(data) // 2
    size = min(200_000, len(data) // 5)
    data[middle:middle + size] = np.random.default_rng(0).integers(0, 256, size,
                                                                   dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    _, db, _ = scene
    done = run_cli_process("watch", "--source", damaged, "--headless", "--db", db,
                           "--events", tmp_path / "events.jsonl")
    assert_no_traceback(done)
    assert done.returncode == 1 and "could not be decoded" in done.stderr, done.stderr
    watched = int(done.stderr.split(" frames in ")[0].rsplit(" ", 1)[-1])
    lost = int(done.stderr.split(" frames of ")[0].rsplit(" ", 1)[-1])
    assert watched + lost == 120 and lost > 0 and watched > 60


def test_outputs_are_checked_before_watching(scene, tmp_path):
    _, db, video = scene
    for option, target in (("--events", tmp_path / "no" / "events.jsonl"),
                           ("--out", tmp_path / "no" / "named.mp4"),
                           ("--out", tmp_path / "named.gif")):
        done = run_cli_process("watch", "--source", video, "--headless", "--db", db, option, target)
        assert done.returncode == 2, (option, target, done.stderr)
        assert_no_traceback(done)


def test_several_cameras_in_one_process(scene, tmp_path, analyzer, shared_faces, capsys):
    """Two cameras through one copy of the networks: each has its own tracks and events,
    the same as it has watched alone."""
    from facerec.cli import main

    root, db, video = scene
    biden = face_patch(analyzer, next((shared_faces / "gallery" / "biden").glob("*.jpg")))
    yard = write_video(tmp_path / "yard.avi", [(biden, 5, 40)], frames=45)
    alone, together = tmp_path / "alone.jsonl", tmp_path / "together.jsonl"
    common = ["--headless", "--db", str(db), "--unknown-after", "1.0"]
    assert main(["watch", "--source", str(video), "--events", str(alone), *common]) == 0
    assert main(["watch", "--source", f"door={video}", "--source", f"yard={yard}",
                 "--events", str(together), *common]) == 0
    err = capsys.readouterr().err
    assert "door: 45 frames" in err and "yard: 45 frames" in err, err
    records = [json.loads(line) for line in together.read_text().splitlines()]
    door = [r for r in records if r["camera"] == "door"]
    yard_events = [r for r in records if r["camera"] == "yard"]
    assert len(door) + len(yard_events) == len(records)
    single = [json.loads(line) for line in alone.read_text().splitlines()]
    assert [(r["event"], r.get("person")) for r in door] == \
        [(r["event"], r.get("person")) for r in single]
    assert [r["event"] for r in yard_events] == ["unknown_lingering", "track_ended"]
    assert yard_events[-1]["person"] == "unknown"
    assert main(["watch", "--source", str(video), "--source", str(yard), "--out",
                 str(tmp_path / "both.mp4"), *common]) == 2
    assert "one --source" in capsys.readouterr().err


def test_cameras_are_named_from_their_sources():
    from facerec.cli.watch import camera_names
    from facerec.errors import FacerecError

    sources = ["front=rtsp://cam.local/live?channel=1", "rtsp://user:pw@10.0.0.5:554/s?a=1",
               "0", "clips/yard.mp4", "clips/yard.mp4", "yard=other.mp4"]
    assert camera_names(sources) == [
        ("front", "rtsp://cam.local/live?channel=1"),
        ("10_0_0_5", "rtsp://user:pw@10.0.0.5:554/s?a=1"),
        ("camera0", "0"), ("yard_2", "clips/yard.mp4"), ("yard_3", "clips/yard.mp4"),
        ("yard", "other.mp4")]
    with pytest.raises(FacerecError, match="two cameras are named 'door'"):
        camera_names(["door=a.mp4", "door=b.mp4"])


def test_sigterm_stops_watch_as_ctrl_c_does(scene, tmp_path, analyzer, shared_faces):
    """What systemd and docker send to stop a service: the run ends at once, the video
    written so far plays, and the command says why it stopped (exit 143)."""
    import signal
    import subprocess
    import time

    from cli import SCRIPT

    root, db, _ = scene
    obama = face_patch(analyzer, shared_faces / "probes" / "obama1.jpg")
    long = write_video(tmp_path / "long.avi", [(obama, 0, 1499)], frames=1500, size=(320, 240))
    events, out = tmp_path / "events.jsonl", tmp_path / "named.mp4"
    process = subprocess.Popen([str(SCRIPT), "watch", "--source", str(long), "--headless",
                                "--db", str(db), "--events", str(events), "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and not (
            events.exists() and "person_appeared" in events.read_text()):
        time.sleep(0.2)
    time.sleep(1.0)
    assert process.poll() is None, "the clip ended before it could be stopped"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "stopped (SIGTERM)" in stderr and "Traceback" not in stderr
    capture = cv2.VideoCapture(str(out))
    written = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, _ = capture.read()
    capture.release()
    assert ok and 0 < written < 1500


@pytest.fixture
def stalled_camera():
    """A network camera on loopback that answers with its headers and then sends
    nothing, holding the connection open."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            connection.recv(4096)
            connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;"
                               b"boundary=frame\r\n\r\n")
            held.append(connection)

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/video.mjpg"
    server.close()
    for connection in held:
        connection.close()


def test_a_stalled_camera_stops_alone(scene, tmp_path, stalled_camera, capsys, monkeypatch):
    """A camera that sends headers and then nothing, listed first, holds up no other:
    the door's video is watched in full, the stalled one is reported and the exit code
    says a camera stopped early."""
    from facerec.cli import main
    from facerec.live import capture

    monkeypatch.setattr(capture, "OPEN_TIMEOUT", 3.0)
    monkeypatch.setattr(capture, "READ_TIMEOUT", 3.0)
    _, db, video = scene
    events = tmp_path / "events.jsonl"
    code = main(["watch", "--source", f"stalled={stalled_camera}", "--source",
                 f"door={video}", "--headless", "--db", str(db), "--events", str(events)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "door: 45 frames" in err and "stalled: cannot open" in err, err
    records = [json.loads(line) for line in events.read_text().splitlines()]
    assert {r["camera"] for r in records} == {"door"}
    assert any(r["event"] == "person_appeared" and r["person"] == "obama" for r in records)


def test_a_camera_on_a_shared_database_names_whom_the_front_desk_enrolled(scene, postgres,
                                                                            shared_faces):
    """watch on PostgreSQL: a person enrolled elsewhere (another process, another machine)
    is named by the camera."""
    root, _, video = scene
    address = postgres.database_url("watched")
    env = postgres.environment()
    done = run_cli_process("enroll", shared_faces / "gallery" / "obama", "--name", "obama",
                           "--db", address, env=env)
    assert done.returncode == 0, done.stderr
    events = root / "shared-events.jsonl"
    done = run_cli_process("watch", "--source", video, "--headless", "--db", address,
                           "--events", events, env=env)
    assert done.returncode == 0, done.stderr
    appeared = [json.loads(line) for line in events.read_text().splitlines()
                if json.loads(line)["event"] == "person_appeared"]
    assert [r["person"] for r in appeared] == ["obama"]
