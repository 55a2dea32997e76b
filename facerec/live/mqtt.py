"""Live events over MQTT, and Home Assistant's MQTT discovery.

One connection per process (``MqttLink``), one ``MqttCamera`` sink per camera. Topics,
with ``P`` the prefix (``facerec``), ``C`` the camera's name, ``ID`` a person's id
(``person_id``):

* ``P/status``: ``online`` while the process runs, ``offline`` after (retained; also the
  connection's last will, so a killed process reads ``offline`` too);
* ``P/C/availability``: ``online`` while the camera runs, ``offline`` after (retained);
* ``P/C/events``: every event of ``facerec.live.watch`` as JSON (QoS 1, not retained);
* ``P/C/state``: who is in view now, ``{"people": [...], "unknown": n, "faces": n}``
  (retained);
* ``P/C/people/ID``: ``ON`` while that enrolled person is in view, else ``OFF`` (retained);
* ``P/C/snapshot``: a JPEG of the last face named or lingering unknown (retained; only
  with snapshots on; cleared when the person it shows is removed, and when a run starts,
  since a snapshot an earlier run left may show someone removed since).

Home Assistant discovery (prefix ``D``, ``homeassistant`` by default) makes each camera a
device with a "Faces in view" sensor (``D/sensor/facerec_C/faces/config``), a presence
binary sensor per enrolled person (``D/binary_sensor/facerec_C/ID/config``) and, with
snapshots, a camera entity (``D/camera/facerec_C/snapshot/config``): no YAML. Every
payload is JSON written by ``json.dumps`` and names people only as values, never inside a
template, so no name can change what Home Assistant evaluates.

The people are read again every ``PEOPLE_EVERY`` seconds: someone enrolled while watching
gets their sensor; someone removed has their retained discovery config and state cleared
(an empty retained message each), so Home Assistant drops the entity and the broker keeps
nothing naming them. What an earlier run left, a killed one included, and what cameras
not in this run keep is found too (the retained topics under both prefixes are subscribed
to on connect and again whenever the people change) and put right by the rule of
``facerec.live.retained``: nothing names someone removed, and a camera not watching reads
offline, with nobody in view and no snapshot.

The broker may go away: the client reconnects with backoff in its own thread while the
live loop goes on; events wait in a queue of at most ``max_queue`` messages (beyond it
they are dropped and counted); on every connect the status, discovery, availability and
state are published again, so a broker that lost its retained messages gets them back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np

from facerec import __version__
from facerec.errors import FacerecError
from facerec.formats.face_crops import face_jpeg
from facerec.live.retained import replacement
from facerec.live.watch import View

log = logging.getLogger(__name__)

PEOPLE_EVERY = 5.0
"""Seconds between readings of who is enrolled (for the per-person sensors)."""
CAMERA_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
SNAPSHOT_EVENTS = ("person_appeared", "unknown_lingering")
SNAPSHOT_SIDE = 320
PASSWORD_ENV = "FACEREC_MQTT_PASSWORD"
USERNAME_ENV = "FACEREC_MQTT_USERNAME"


@dataclass(frozen=True)
class MqttSettings:
    """Where and how to publish.

    Attributes:
        host, port: the broker.
        tls: connect with TLS (``mqtts://``), checking the broker's certificate against
            ``ca_file`` or the system's authorities.
        username, password: the login, if the broker wants one.
        prefix: the first level of every topic facerec publishes.
        discovery_prefix: Home Assistant's discovery prefix; None for no discovery.
        snapshots: publish a JPEG of each face named or lingering unknown.
        max_queue: most messages waiting while the broker is away.
    """

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    prefix: str = "facerec"
    discovery_prefix: str | None = "homeassistant"
    snapshots: bool = False
    ca_file: Path | None = None
    max_queue: int = 1000

    @classmethod
    def from_url(cls, url: str, username: str | None = None, password: str | None = None,
                 **options: Any) -> MqttSettings:
        """Settings for ``mqtt://[USER@]HOST[:PORT]`` or ``mqtts://...`` (ports 1883 and
        8883 by default). A password in the URL is refused: the command line is seen by
        every user of the machine.

        Raises:
            FacerecError: not such a URL, or a password in it, or a bad prefix.
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise FacerecError(f"{url!r} is not a broker URL: {exc}") from None
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise FacerecError(f"{url!r} is not a broker URL: write mqtt://HOST[:PORT] or "
                               "mqtts://HOST[:PORT]")
        if parts.password is not None:
            raise FacerecError(f"put the MQTT password in ${PASSWORD_ENV} or a file given to "
                               "--mqtt-password-file, not in the URL (other users of this "
                               "machine can read the command line)")
        if parts.path not in ("", "/") or parts.query:
            raise FacerecError(f"{url!r}: a broker URL has no path; set the topic prefix "
                               "with --mqtt-prefix")
        tls = parts.scheme == "mqtts"
        settings = cls(host=parts.hostname, port=port or (8883 if tls else 1883), tls=tls,
                       username=unquote(parts.username) if parts.username else username,
                       password=password, **options)
        for prefix in (settings.prefix, settings.discovery_prefix):
            if prefix is not None:
                check_topic_prefix(prefix)
        return settings

    @property
    def address(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def check_topic_prefix(prefix: str) -> None:
    """Refuse a prefix that is not a plain topic: empty levels, wildcards, NUL."""
    levels = prefix.split("/")
    if not prefix or any(not level or set(level) & {"+", "#", "\0"} for level in levels):
        raise FacerecError(f"{prefix!r} is not a usable topic prefix: use levels of letters, "
                           "digits, - or _, separated by /")


def check_camera_name(name: str) -> str:
    """A camera's name as it goes into topics and ids (1-64 of A-Z a-z 0-9 _ -)."""
    if not CAMERA_NAME.fullmatch(name):
        raise FacerecError(f"{name!r} cannot name a camera: use 1 to 64 letters, digits, "
                           "- or _ (it becomes part of MQTT topics)")
    return name


def person_id(name: str) -> str:
    """A person's id in topics and Home Assistant ids: their name folded to lower-case
    ASCII letters, digits and ``_`` (at most 32), then 8 hex digits of the name's sha256,
    so that two names that fold alike (``José``, ``Jose``) never share one."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", folded.lower()).strip("_")[:32]
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{slug}_{digest}" if slug else digest


class MqttLink:
    """The process's connection to the broker, shared by its cameras.

    Args:
        settings: the broker and topics.
        people: who is enrolled now (names); called every ``PEOPLE_EVERY`` seconds.
    """

    def __init__(self, settings: MqttSettings, people: Callable[[], Sequence[str]]) -> None:
        try:
            import paho.mqtt.client as paho
            from paho.mqtt.enums import CallbackAPIVersion
        except ImportError:
            raise FacerecError("MQTT needs paho-mqtt: pip install 'facerec[home]'") from None
        self.settings = settings
        self._list_people = people
        self._people = sorted(people())
        self._people_read = time.monotonic()
        self.cameras: dict[str, MqttCamera] = {}
        self.dropped = 0
        self._lock = threading.RLock()
        self._answered = threading.Event()
        self._started = False
        self._refusal: str | None = None
        self._closing = False
        self._paho = paho
        client = paho.Client(CallbackAPIVersion.VERSION2,
                             client_id=f"facerec-{secrets.token_hex(6)}",
                             protocol=paho.MQTTv311)
        client.will_set(self.status_topic, "offline", qos=1, retain=True)
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            client.tls_set(ca_certs=str(settings.ca_file) if settings.ca_file else None)
        client.max_queued_messages_set(settings.max_queue)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client

    @property
    def status_topic(self) -> str:
        return f"{self.settings.prefix}/status"

    # the connection -----------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        """Connect, and keep the connection in a background thread.

        Raises:
            FacerecError: the broker cannot be reached, or refuses the login, within
                ``timeout`` seconds.
        """
        where = self.settings.address
        try:
            self.client.connect(self.settings.host, self.settings.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise FacerecError(f"cannot reach the MQTT broker at {where}: "
                               f"{getattr(exc, 'strerror', None) or exc}") from None
        self.client.loop_start()
        if not self._answered.wait(timeout) or self._refusal is not None:
            self.client.loop_stop()
            self.client.disconnect()
            reason = self._refusal
            if reason is None:
                raise FacerecError(f"the MQTT broker at {where} did not answer within "
                                   f"{timeout:.0f} s")
            login = "authori" in reason.lower() or "password" in reason.lower()
            raise FacerecError(f"the MQTT broker at {where} refused the connection: {reason}"
                               + (f"; check ${USERNAME_ENV} (or the URL's user) and the "
                                  "password" if login else ""))
        self._started = True

    def close(self) -> None:
        """Mark every camera and the process offline, send what waits, disconnect."""
        with self._lock:
            self._closing = True
            cameras = list(self.cameras.values())
        for camera in cameras:
            camera.close()
        info = self.client.publish(self.status_topic, "offline", qos=1, retain=True)
        if self.client.is_connected():
            try:
                info.wait_for_publish(5.0)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            self._refusal = str(reason)
            if self._started:
                log.warning("the MQTT broker refused the connection: %s", reason)
            else:
                client.disconnect()  # at start: ``start`` reports it and gives up
            self._answered.set()
            return
        self._refusal = None
        self.client.publish(self.status_topic, "online", qos=1, retain=True)
        with self._lock:
            for camera in self.cameras.values():
                camera.announce()
        self._watch_retained()
        if self._started:
            log.warning("connected to the MQTT broker again")
        self._answered.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
        if self._started and not self._closing:
            log.warning("lost the MQTT broker (%s); reconnecting", reason)

    def _watch_retained(self) -> None:
        """Subscribe (again) to the retained topics any run of ours leaves; the broker
        sends what it holds, and ``_on_message`` puts right what is stale."""
        prefix, discovery = self.settings.prefix, self.settings.discovery_prefix
        topics = [f"{prefix}/+/{leaf}" for leaf in ("people/+", "state", "snapshot",
                                                     "availability")]
        if discovery is not None:
            topics.append(f"{discovery}/binary_sensor/+/+/config")
        self.client.subscribe([(topic, 1) for topic in topics])

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        """A retained message sent on subscribing: replaced when it names someone no
        longer enrolled or shows a camera not in this run as watching. Messages that
        match the subscriptions live (this run's own) are left alone."""
        if not message.retain:
            return
        with self._lock:  # a camera registers under the lock, after any fix published
            payload = replacement(
                message.topic, message.payload, self.settings.prefix,
                self.settings.discovery_prefix, set(self.cameras),
                {person_id(name) for name in self._people}, self.settings.snapshots)
            if payload is not None:
                self.publish(message.topic, payload, retain=True, queue=False)

    def publish(self, topic: str, payload: str | bytes, retain: bool = False,
                queue: bool = True) -> None:
        """Publish with QoS 1; ``queue=False`` skips it while disconnected (it is sent
        again on connect anyway). A full queue drops the message and counts it."""
        if not queue and not self.client.is_connected():
            return
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc == self._paho.MQTT_ERR_QUEUE_SIZE:
            self.dropped += 1
            if self.dropped == 1:
                log.warning("the MQTT broker is away and %d messages wait; dropping new "
                            "events until it is back", self.settings.max_queue)

    # cameras and people -------------------------------------------------------------------
    def camera(self, name: str) -> MqttCamera:
        """The sink of camera ``name``, announced at once (and on every connect)."""
        camera = MqttCamera(self, check_camera_name(name))
        with self._lock:
            self.cameras[name] = camera
        if self.client.is_connected():
            camera.announce()
        return camera

    @property
    def enrolled(self) -> list[str]:
        """Who is enrolled, as last read (sorted names)."""
        return self._people

    def people(self) -> list[str]:
        """Who is enrolled, read again when ``PEOPLE_EVERY`` seconds have passed; the
        cameras are told who came and who went."""
        now = time.monotonic()
        if now - self._people_read < PEOPLE_EVERY:
            return self._people
        self._people_read = now
        people = sorted(self._list_people())
        with self._lock:
            if people == self._people:
                return people
            gone = set(self._people) - set(people)
            self._people = people
            cameras = list(self.cameras.values())
        for camera in cameras:
            camera.people_changed(gone)
        if gone and self.client.is_connected():
            self._watch_retained()  # what other cameras keep of them
        return people


class MqttCamera:
    """One camera's sink: its events, state, per-person presence and discovery."""

    def __init__(self, link: MqttLink, name: str) -> None:
        self.link, self.name = link, name
        self.settings = link.settings
        self.topic = f"{self.settings.prefix}/{name}"
        self.view_now = View()
        self.running = True
        self.snapshot_of: str | None = None  # whom the retained snapshot shows (None: unknown)
        self.snapshot_cleared = False

    # the Sink protocol --------------------------------------------------------------------
    def event(self, event: dict, image: np.ndarray | None) -> None:
        self.link.publish(f"{self.topic}/events", json.dumps(event))
        if (self.settings.snapshots and image is not None and image.size
                and event.get("event") in SNAPSHOT_EVENTS):
            jpeg = face_jpeg(image, event["box"], SNAPSHOT_SIDE)
            self.snapshot_of = event.get("person")
            self.link.publish(f"{self.topic}/snapshot", jpeg, retain=True, queue=False)

    def view(self, view: View) -> None:
        before, self.view_now = self.view_now, view
        self._publish_state()
        for name in set(before.people) ^ set(view.people):
            self._presence(name)

    def tick(self) -> None:
        self.link.people()

    def close(self) -> None:
        if not self.running:
            return
        self.running = False
        if self.view_now != View():
            self.view(View())
        self.link.publish(f"{self.topic}/availability", "offline", retain=True, queue=False)

    # publishing ---------------------------------------------------------------------------
    def announce(self) -> None:
        """Discovery, availability, state and every person's presence, retained (on
        every connect). A snapshot an earlier run left is cleared once: whom it shows
        is not known, and they may have been removed since."""
        if self.settings.snapshots and not self.snapshot_cleared:
            self.snapshot_cleared = True
            self.clear_snapshot()
        if self.settings.discovery_prefix is not None:
            self._publish_config("sensor", "faces", self._faces_config())
            if self.settings.snapshots:
                self._publish_config("camera", "snapshot", self._snapshot_config())
            for name in self.link.enrolled:
                self._publish_config("binary_sensor", person_id(name),
                                     self._person_config(name))
        for name in self.link.enrolled:
            self._presence(name)
        self._publish_state()
        self.link.publish(f"{self.topic}/availability",
                          "online" if self.running else "offline", retain=True, queue=False)

    def people_changed(self, gone: set[str]) -> None:
        """Sensors for everyone enrolled now; the removed ones' cleared, and the snapshot
        too when it shows one of them."""
        for name in gone:
            self.forget(person_id(name))
        if self.snapshot_of is not None and self.snapshot_of in gone:
            self.clear_snapshot()
        self.announce()

    def clear_snapshot(self) -> None:
        """Drop the retained snapshot from the broker."""
        self.snapshot_of = None
        self.link.publish(f"{self.topic}/snapshot", b"", retain=True, queue=False)

    def forget(self, object_id: str) -> None:
        """Clear a person's retained presence and discovery config from the broker."""
        self.link.publish(f"{self.topic}/people/{object_id}", b"", retain=True, queue=False)
        if self.settings.discovery_prefix is not None:
            self._publish_config("binary_sensor", object_id, None)

    def _publish_state(self) -> None:
        self.link.publish(f"{self.topic}/state", json.dumps(self.view_now.to_dict()),
                          retain=True, queue=False)

    def _presence(self, name: str) -> None:
        if name in self.link.enrolled:
            state = "ON" if name in self.view_now.people else "OFF"
            self.link.publish(f"{self.topic}/people/{person_id(name)}", state, retain=True,
                              queue=False)

    def _publish_config(self, component: str, object_id: str,
                        config: dict[str, object] | None) -> None:
        topic = f"{self.settings.discovery_prefix}/{component}/facerec_{self.name}/" \
                f"{object_id}/config"
        payload = b"" if config is None else json.dumps(config)
        self.link.publish(topic, payload, retain=True, queue=False)

    # Home Assistant's discovery payloads ---------------------------------------------------
    def _common(self, object_id: str) -> dict[str, object]:
        return {
            "unique_id": f"facerec_{self.name}_{object_id}",
            "availability": [{"topic": self.link.status_topic},
                             {"topic": f"{self.topic}/availability"}],
            "availability_mode": "all",
            "device": {"identifiers": [f"facerec_{self.name}"],
                       "name": f"facerec {self.name}", "manufacturer": "facerec",
                       "model": "facerec watch", "sw_version": __version__},
            "origin": {"name": "facerec", "sw_version": __version__},
        }

    def _faces_config(self) -> dict[str, object]:
        return {**self._common("faces"), "name": "Faces in view",
                "state_topic": f"{self.topic}/state", "value_template": "{{ value_json.faces }}",
                "json_attributes_topic": f"{self.topic}/state", "state_class": "measurement",
                "unit_of_measurement": "faces", "icon": "mdi:face-recognition"}

    def _person_config(self, name: str) -> dict[str, object]:
        object_id = person_id(name)
        return {**self._common(object_id), "name": name, "device_class": "presence",
                "state_topic": f"{self.topic}/people/{object_id}",
                "payload_on": "ON", "payload_off": "OFF"}

    def _snapshot_config(self) -> dict[str, object]:
        return {**self._common("snapshot"), "name": "Last face",
                "topic": f"{self.topic}/snapshot"}
