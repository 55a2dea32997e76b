"""``facerec watch --mqtt`` against a real broker (Debian's mosquitto on loopback), read by
a paho-mqtt subscriber as Home Assistant would: events on a real video of
``../shared/faces`` people, retained state, discovery payloads checked against Home
Assistant's documented MQTT options, a broker restart mid-video, a refused login."""

from __future__ import annotations

import io
import json
import threading
import time

import numpy as np
import pytest
from broker import Subscriber, need_mosquitto, retained, running_broker
from PIL import Image
from video import face_patch, write_video

from facerec import Recognizer
from facerec.cli import main
from facerec.live import mqtt as mqtt_module
from facerec.live.capture import FrameSource
from facerec.live.mqtt import MqttLink, MqttSettings, person_id
from facerec.live.retained import IDLE_STATE, replacement
from facerec.live.watch import Camera, View, Watcher, run_cameras

pytestmark = pytest.mark.slow  # real services, browsers or kill loops: the full run

ODD_NAME = 'Rose "{{ states(\'lock.front\') }}" Leslie'
"""A name holding quotes and a Home Assistant template: it must stay a plain value."""

# Home Assistant's documented MQTT discovery options (integrations/sensor.mqtt,
# binary_sensor.mqtt, camera.mqtt and the shared availability/device/origin options)
COMMON = {"availability", "availability_mode", "availability_template", "availability_topic",
          "device", "enabled_by_default", "encoding", "entity_category", "entity_picture",
          "icon", "json_attributes_template", "json_attributes_topic", "name", "object_id",
          "default_entity_id", "origin", "payload_available", "payload_not_available", "qos",
          "unique_id", "platform"}
OPTIONS = {
    "sensor": COMMON | {"state_topic", "value_template", "unit_of_measurement", "state_class",
                        "device_class", "expire_after", "force_update", "last_reset_value_template",
                        "suggested_display_precision", "options"},
    "binary_sensor": COMMON | {"state_topic", "value_template", "payload_on", "payload_off",
                               "device_class", "expire_after", "force_update", "off_delay"},
    "camera": COMMON | {"topic", "image_encoding"},
}
REQUIRED = {"sensor": {"state_topic"}, "binary_sensor": {"state_topic"}, "camera": {"topic"}}
DEVICE = {"identifiers", "connections", "name", "manufacturer", "model", "model_id",
          "sw_version", "hw_version", "suggested_area", "via_device", "configuration_url",
          "serial_number"}
BINARY_CLASSES = {"presence", "occupancy", "motion"}
STATE_CLASSES = {"measurement", "total", "total_increasing"}


def check_discovery(topic: str, payload: bytes, published: set[str]) -> dict:
    """A discovery message as Home Assistant reads it: ``<prefix>/<component>/<node_id>/
    <object_id>/config`` with ids of [a-zA-Z0-9_-], a JSON object of documented options,
    its topics among those facerec publishes."""
    prefix, component, node, object_id, last = topic.split("/")
    assert prefix == "homeassistant" and last == "config"
    for part in (node, object_id):
        assert part and all(c.isascii() and (c.isalnum() or c in "_-") for c in part), topic
    config = json.loads(payload)
    assert set(config) <= OPTIONS[component], set(config) - OPTIONS[component]
    assert REQUIRED[component] <= set(config)
    assert isinstance(config["unique_id"], str) and config["unique_id"]
    assert set(config["device"]) <= DEVICE and config["device"]["identifiers"]
    assert config["origin"]["name"] == "facerec"
    assert config["availability_mode"] in ("all", "any", "latest")
    for entry in config["availability"]:
        assert set(entry) <= {"topic", "payload_available", "payload_not_available",
                              "value_template"} and entry["topic"] in published
    for key in ("state_topic", "topic", "json_attributes_topic"):
        if key in config:
            assert config[key] in published and not set(config[key]) & {"+", "#"}
    if component == "binary_sensor":
        assert config["device_class"] in BINARY_CLASSES
        assert (config["payload_on"], config["payload_off"]) == ("ON", "OFF")
    if component == "sensor":
        assert config["state_class"] in STATE_CLASSES
    return config


@pytest.fixture(scope="module")
def scene(tmp_path_factory, analyzer, shared_faces):
    """Obama and Rose Leslie (under a name with quotes and a template) enrolled; a
    4-second clip: Obama all along, Biden (not enrolled) from frame 20."""
    need_mosquitto()
    root = tmp_path_factory.mktemp("mqtt")
    db = root / "db"
    gallery = shared_faces / "gallery"
    assert main(["enroll", str(gallery / "obama"), "--name", "obama", "--db", str(db)]) == 0
    assert main(["enroll", str(gallery / "rose_leslie"), "--name", ODD_NAME,
                 "--db", str(db)]) == 0
    obama = face_patch(analyzer, shared_faces / "probes" / "obama1.jpg")
    biden = face_patch(analyzer, next((gallery / "biden").glob("*.jpg")))
    video = write_video(root / "clip.avi", [(obama, 0, 59), (biden, 20, 59)], frames=60)
    return root, db, video


def events_of(subscriber: Subscriber, camera: str) -> list[dict]:
    return [json.loads(p) for p in subscriber.on(f"facerec/{camera}/events")]


def test_events_state_and_discovery_for_home_assistant(scene, tmp_path):
    _, db, video = scene
    with running_broker(tmp_path) as broker, Subscriber(broker.port) as ha:
        events = tmp_path / "events.jsonl"
        code = main(["watch", "--source", f"front={video}", "--headless", "--db", str(db),
                     "--mqtt", broker.url, "--events", str(events), "--unknown-after", "1",
                     "--mqtt-snapshots"])
        assert code == 0
        ha.wait_for(lambda: ha.on("facerec/status")[-1:] == [b"offline"])
        kept = retained(broker.port)
    sent = events_of(ha, "front")
    assert sent == [json.loads(line) for line in events.read_text().splitlines()]
    assert all(e["camera"] == "front" for e in sent)
    kinds = [e["event"] for e in sent]
    assert [e["person"] for e in sent if e["event"] == "person_appeared"] == ["obama"]
    assert kinds.count("unknown_lingering") == 1 and kinds.count("track_ended") == 2
    states = [json.loads(p) for p in ha.on("facerec/front/state")]
    assert {"people": ["obama"], "unknown": 1, "faces": 2} in states
    assert states[-1] == {"people": [], "unknown": 0, "faces": 0}
    obama, rose = person_id("obama"), person_id(ODD_NAME)
    assert ha.on(f"facerec/front/people/{obama}")[-1:] == [b"OFF"]
    assert b"ON" in ha.on(f"facerec/front/people/{obama}")
    assert ha.on(f"facerec/front/people/{rose}") and b"ON" not in ha.on(
        f"facerec/front/people/{rose}")
    published = {m.topic for m in ha.messages if not m.topic.startswith("homeassistant/")}
    configs = {m.topic: check_discovery(m.topic, m.payload, published)
               for m in ha.messages if m.topic.startswith("homeassistant/") and m.payload}
    by_id = {c["unique_id"]: c for c in configs.values()}
    assert set(by_id) == {"facerec_front_faces", "facerec_front_snapshot",
                          f"facerec_front_{obama}", f"facerec_front_{rose}"}
    assert by_id[f"facerec_front_{rose}"]["name"] == ODD_NAME
    assert all("{{" not in c.get("value_template", "") or c["value_template"] ==
               "{{ value_json.faces }}" for c in configs.values())
    snapshot = Image.open(io.BytesIO(kept["facerec/front/snapshot"]))
    assert snapshot.format == "JPEG" and max(snapshot.size) <= 320
    assert kept["facerec/status"] == b"offline"
    assert kept["facerec/front/availability"] == b"offline"
    assert json.loads(kept["facerec/front/state"])["faces"] == 0
    assert set(configs) <= set(kept)  # Home Assistant keeps the entities, unavailable


class PausingSource(FrameSource):
    """A video file that waits, before frame ``index``, until ``go[index]`` is set."""

    def __init__(self, path, go: dict[int, threading.Event]) -> None:
        super().__init__(str(path))
        self.go = go
        self.reached = {index: threading.Event() for index in go}

    def __iter__(self):
        for frame in super().__iter__():
            if frame.index in self.go:
                self.reached[frame.index].set()
                assert self.go[frame.index].wait(300)
            yield frame


def test_a_broker_restart_mid_video_loses_nothing(scene, tmp_path, monkeypatch):
    """The broker goes away after Obama is named and comes back after Biden has lingered
    unknown: the loop never stops, the event published meanwhile arrives once, and the
    retained state is the one of now, not the one the broker kept."""
    _, db, video = scene
    go = {15: threading.Event(), 45: threading.Event()}
    source = PausingSource(video, go)
    with running_broker(tmp_path, persistent=True) as broker, \
            Recognizer.open(db) as recognizer, \
            Subscriber(broker.port, ("facerec/#",), client_id="ha", durable=True) as ha:
        link = MqttLink(MqttSettings.from_url(broker.url),
                        lambda: [n for n, _ in recognizer.gallery.people()])
        link.start()
        watcher = Watcher(recognizer, link.camera("door"), unknown_after=1.0, camera="door")
        loop = threading.Thread(target=run_cameras, args=([Camera("door", source, watcher)],))
        loop.start()
        try:
            assert source.reached[15].wait(300)
            ha.wait_for(lambda: any(e["event"] == "person_appeared" for e in events_of(ha, "door")))
            broker.stop()
            go[15].set()
            assert source.reached[45].wait(300)
            assert "unknown_lingering" not in [e["event"] for e in events_of(ha, "door")]
            broker.start()
            ha.wait_for(lambda: link.client.is_connected(), timeout=90)
            ha.wait_for(lambda: "unknown_lingering" in
                        [e["event"] for e in events_of(ha, "door")])
            state = json.loads(retained(broker.port, ("facerec/door/state",))[
                "facerec/door/state"])
            assert state == {"people": ["obama"], "unknown": 1, "faces": 2}
        finally:
            for event in go.values():
                event.set()
            loop.join(300)
            link.close()
        ha.wait_for(lambda: [e["event"] for e in events_of(ha, "door")].count("track_ended") == 2)
    assert watcher.stats.frames == 60
    kinds = [e["event"] for e in events_of(ha, "door")]
    assert kinds.count("person_appeared") == 1 and kinds.count("unknown_lingering") == 1
    assert link.dropped == 0


def test_a_refused_login_is_one_line_and_exit_code_2(scene, tmp_path, capsys, monkeypatch):
    _, db, video = scene
    watch = ["watch", "--source", str(video), "--headless", "--db", str(db),
             "--max-frames", "3"]
    with running_broker(tmp_path, users={"cam": "right-password-123"}) as broker:
        url = f"mqtt://cam@127.0.0.1:{broker.port}"
        monkeypatch.setenv("FACEREC_MQTT_PASSWORD", "wrong-password")
        assert main([*watch, "--mqtt", url]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "refused" in err and "Traceback" not in err, err
        assert "wrong-password" not in err
        (tmp_path / "password").write_text("right-password-123\n")
        monkeypatch.delenv("FACEREC_MQTT_PASSWORD")
        assert main([*watch, "--mqtt", url, "--mqtt-password-file",
                     str(tmp_path / "password")]) == 0
        capsys.readouterr()
        for bad in (f"mqtt://cam:right-password-123@127.0.0.1:{broker.port}",
                    "http://127.0.0.1:1883", f"mqtt://127.0.0.1:{broker.port}/topic"):
            assert main([*watch, "--mqtt", bad]) == 2, bad
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and "right-password" not in err, err
    assert main([*watch, "--mqtt", url]) == 2  # the broker is gone
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach" in err, err


def test_removed_people_leave_the_broker(tmp_path, monkeypatch):
    """Someone removed while watching, or before this run, has no sensor or presence left
    on the broker; someone enrolled while watching gets one."""
    need_mosquitto()
    monkeypatch.setattr(mqtt_module, "PEOPLE_EVERY", 0.0)
    people = ["Ann", "Bob"]
    with running_broker(tmp_path) as broker:
        link = MqttLink(MqttSettings.from_url(broker.url), lambda: list(people))
        link.start()
        hall = link.camera("hall")
        time.sleep(0.5)
        ids = {name: person_id(name) for name in ("Ann", "Bob", "Cy", "Dee")}
        config = "homeassistant/binary_sensor/facerec_hall/{}/config"
        kept = retained(broker.port)
        assert {config.format(ids["Ann"]), config.format(ids["Bob"])} <= set(kept)
        people[:] = ["Ann", "Cy"]
        hall.tick()
        time.sleep(0.5)
        kept = retained(broker.port)
        assert config.format(ids["Bob"]) not in kept
        assert f"facerec/hall/people/{ids['Bob']}" not in kept
        assert config.format(ids["Cy"]) in kept and kept[f"facerec/hall/people/{ids['Cy']}"] \
            == b"OFF"
        link.close()
        # a later run, after Cy was removed and Dee enrolled while nothing watched
        people[:] = ["Ann", "Dee"]
        link = MqttLink(MqttSettings.from_url(broker.url), lambda: list(people))
        link.start()
        link.camera("hall")
        time.sleep(1.0)
        kept = retained(broker.port)
        link.close()
    assert config.format(ids["Cy"]) not in kept
    assert f"facerec/hall/people/{ids['Cy']}" not in kept
    assert {config.format(ids["Ann"]), config.format(ids["Dee"])} <= set(kept)


def test_person_ids_and_settings():
    assert person_id("José") != person_id("Jose") and person_id("José").startswith("jose_")
    assert person_id("李小龍") == person_id("李小龍") and person_id("李小龍").isalnum()
    for name in ("a/b", "+", "#", ODD_NAME, "x" * 300):
        assert set(person_id(name)) <= set("abcdefghijklmnopqrstuvwxyz0123456789_")
        assert len(person_id(name)) <= 41
    settings = MqttSettings.from_url("mqtts://ha@broker.local", password="p")
    assert (settings.host, settings.port, settings.tls, settings.username) == \
        ("broker.local", 8883, True, "ha")
    assert MqttSettings.from_url("mqtt://broker.local").port == 1883
    from facerec.errors import FacerecError
    for bad_prefix in ("", "a/+/b", "a//b", "#"):
        with pytest.raises(FacerecError):
            MqttSettings.from_url("mqtt://h", prefix=bad_prefix)


def test_a_removed_persons_snapshot_leaves_the_broker(tmp_path, monkeypatch):
    """The retained snapshot of someone removed while watching is cleared; one left by an
    earlier run (whom it shows is not known) is cleared when a run starts."""
    need_mosquitto()
    monkeypatch.setattr(mqtt_module, "PEOPLE_EVERY", 0.0)
    people = ["Ann", "Bob"]
    image = np.full((240, 320, 3), 128, np.uint8)
    with running_broker(tmp_path) as broker:
        settings = MqttSettings.from_url(broker.url, snapshots=True)
        link = MqttLink(settings, lambda: list(people))
        link.start()
        hall = link.camera("hall")
        time.sleep(0.5)
        hall.event({"event": "person_appeared", "person": "Bob", "box": [100, 60, 200, 180]},
                   image)
        time.sleep(0.5)
        assert "facerec/hall/snapshot" in retained(broker.port)
        people[:] = ["Ann"]
        hall.tick()
        time.sleep(0.5)
        assert "facerec/hall/snapshot" not in retained(broker.port)
        hall.event({"event": "person_appeared", "person": "Ann", "box": [100, 60, 200, 180]},
                   image)
        time.sleep(0.5)
        link.close()
        assert "facerec/hall/snapshot" in retained(broker.port)  # kept after the run...
        link = MqttLink(settings, lambda: list(people))
        link.start()
        link.camera("hall")
        time.sleep(1.0)
        kept = retained(broker.port)
        link.close()
    assert "facerec/hall/snapshot" not in kept  # ...and cleared when the next one starts


def test_what_other_runs_left_names_no_one_removed(tmp_path, monkeypatch):
    """A run killed while Bob was in view of the door leaves the door online, Bob in view,
    his presence and sensor and a snapshot retained. Bob removed, a later run watching
    only the hall puts every one of them right, and Ann's on the door once she is removed
    while it runs."""
    need_mosquitto()
    monkeypatch.setattr(mqtt_module, "PEOPLE_EVERY", 0.0)
    people = ["Ann", "Bob"]
    image = np.full((240, 320, 3), 128, np.uint8)
    ids = {name: person_id(name) for name in people}
    with running_broker(tmp_path) as broker:
        settings = MqttSettings.from_url(broker.url, snapshots=True)
        killed = MqttLink(settings, lambda: list(people))
        killed.start()
        door = killed.camera("door")
        door.event({"event": "person_appeared", "person": "Bob", "box": [100, 60, 200, 180]},
                   image)
        door.view(View(people=("Bob",)))
        time.sleep(0.5)
        killed.client.disconnect()  # no goodbye: what a kill leaves
        killed.client.loop_stop()
        before = retained(broker.port)
        assert before["facerec/door/availability"] == b"online"
        assert b"Bob" in before["facerec/door/state"]
        assert "facerec/door/snapshot" in before

        people[:] = ["Ann"]  # Bob removed while nothing watched
        link = MqttLink(MqttSettings.from_url(broker.url), lambda: list(people))
        link.start()
        hall = link.camera("hall")
        time.sleep(1.0)
        after = retained(broker.port)
        people[:] = []  # Ann removed while the hall is watched
        hall.tick()
        time.sleep(1.0)
        last = retained(broker.port)
        link.close()

    door_config = "homeassistant/binary_sensor/facerec_door/{}/config"
    assert after["facerec/door/availability"] == b"offline"
    assert json.loads(after["facerec/door/state"]) == {"people": [], "unknown": 0, "faces": 0}
    assert "facerec/door/snapshot" not in after
    assert door_config.format(ids["Bob"]) not in after
    assert f"facerec/door/people/{ids['Bob']}" not in after
    assert after[f"facerec/door/people/{ids['Ann']}"] == b"OFF"
    assert door_config.format(ids["Ann"]) in after
    assert not [t for t, p in after.items() if ids["Bob"] in t or b"Bob" in p]
    assert not [t for t, p in last.items() if ids["Ann"] in t or b"Ann" in p]


def test_the_retained_rule():
    def fix(topic: str, payload: bytes, running=("hall",), snapshots=True):
        return replacement(topic, payload, "facerec", "homeassistant", running, {"ann_1"},
                           snapshots)

    assert fix("homeassistant/binary_sensor/facerec_door/bob_2/config", b"{}") == b""
    assert fix("homeassistant/binary_sensor/facerec_hall/ann_1/config", b"{}") is None
    assert fix("homeassistant/binary_sensor/other_door/bob_2/config", b"{}") is None
    assert fix("facerec/hall/people/bob_2", b"ON") == b""
    assert fix("facerec/hall/people/ann_1", b"ON") is None
    assert fix("facerec/door/people/ann_1", b"ON") == b"OFF"
    assert fix("facerec/door/availability", b"online") == b"offline"
    assert fix("facerec/hall/availability", b"online") is None
    assert fix("facerec/door/state", b'{"people": ["Bob"]}') == IDLE_STATE
    assert fix("facerec/hall/state", b'{"people": ["Ann"]}') is None
    assert fix("facerec/door/snapshot", b"\xff\xd8") == b""
    assert fix("facerec/hall/snapshot", b"\xff\xd8") is None
    assert fix("facerec/hall/snapshot", b"\xff\xd8", snapshots=False) == b""
    assert fix("facerec/door/state", b"") is None  # already cleared
    assert fix("facerec/status", b"online") is None
