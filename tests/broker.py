"""A real MQTT broker for the tests: Debian's mosquitto on a free loopback port, and a
paho-mqtt subscriber that records what it receives."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")


def need_mosquitto() -> str:
    if MOSQUITTO is None:
        pytest.skip("the mosquitto broker is not installed (Debian's mosquitto package, "
                    "installed by scripts/setup.sh --test where apt can)")
    pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is the [home] extra")
    return MOSQUITTO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Broker:
    """mosquitto listening on 127.0.0.1:``port``; ``stop``/``start`` restart it on the
    same port (with ``persistent``, what it held is saved on stop and loaded on start)."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None,
                 persistent: bool = False) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        lines = [f"listener {self.port} 127.0.0.1",
                 # run as whoever runs the tests (started as root, mosquitto would switch
                 # to its own user, who cannot read the test's folders)
                 f"user {getpass.getuser()}",
                 f"allow_anonymous {'false' if users else 'true'}",
                 f"persistence {'true' if persistent else 'false'}",
                 f"persistence_location {folder}/"]
        if users:
            passwords = folder / "passwords"
            passwords.write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
            subprocess.run([MOSQUITTO_PASSWD or "mosquitto_passwd", "-U", str(passwords)],
                           check=True)
            lines.append(f"password_file {passwords}")
        self.config = folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.folder / "mosquitto.log").open("a")
        self.process = subprocess.Popen([need_mosquitto(), "-c", str(self.config)],
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        log_text = (self.folder / "mosquitto.log").read_text()
        raise RuntimeError(f"mosquitto did not start: {log_text}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@contextmanager
def running_broker(folder: Path, users: dict[str, str] | None = None,
                   persistent: bool = False) -> Iterator[Broker]:
    broker = Broker(folder, users, persistent)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float


@dataclass
class Subscriber:
    """A paho-mqtt client subscribed to ``topics``, recording every message."""

    port: int
    topics: tuple[str, ...] = ("#",)
    client_id: str = ""
    durable: bool = False
    messages: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self._subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                  clean_session=not self.durable)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.messages.append(
            Received(m.topic, m.payload, bool(m.retain), time.perf_counter()))
        self.client.reconnect_delay_set(0.1, 0.5)

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        for topic in self.topics:
            client.subscribe(topic, qos=1)

    def __enter__(self) -> Subscriber:
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        assert self._subscribed.wait(10), "the subscription was not acknowledged"
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def on(self, topic: str) -> list[bytes]:
        return [m.payload for m in list(self.messages) if m.topic == topic]

    def wait_for(self, check, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.05)
        raise AssertionError(f"not received within {timeout} s; got topics "
                             f"{sorted({m.topic for m in self.messages})}")


def retained(port: int, topics: tuple[str, ...] = ("#",), settle: float = 1.0
             ) -> dict[str, bytes]:
    """The retained messages the broker holds now under ``topics`` (topic -> payload)."""
    with Subscriber(port, topics) as fresh:
        time.sleep(settle)
    return {m.topic: m.payload for m in fresh.messages if m.retain}
