"""What to do with a retained MQTT message an earlier run (or a camera not in this run)
left: the rule that keeps the broker from naming someone removed, or showing a camera
that is not watching as online with people in view.

The broker keeps retained messages until they are replaced, whoever published them; a run
that was killed, or that watched other cameras, leaves its topics behind. One ``facerec
watch`` runs per topic prefix (they share ``P/status``), so a camera under the prefix that
this run does not watch is not watching.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from facerec.live.watch import View

IDLE_STATE = json.dumps(View().to_dict()).encode()
"""The state of a camera that sees nobody."""


def replacement(topic: str, payload: bytes, prefix: str, discovery_prefix: str | None,
                running: Collection[str], enrolled: Collection[str],
                own_snapshots: bool) -> bytes | None:
    """What a retained message should become (``b""`` clears it), or None to keep it.

    Args:
        topic, payload: the retained message, as the broker delivered it on subscribing.
        prefix: facerec's topic prefix (``P``); discovery_prefix: Home Assistant's (``D``).
        running: names of the cameras this run watches.
        enrolled: person ids (``mqtt.person_id``) of everyone enrolled now.
        own_snapshots: this run publishes snapshots (a running camera's snapshot is then
            its own to keep; without, any is left from before).

    The rules, for any camera ``C`` under the prefixes:

    * ``D/binary_sensor/facerec_C/ID/config`` and ``P/C/people/ID`` of someone not
      enrolled: cleared;
    * a camera not running: ``P/C/availability`` becomes ``offline``, ``P/C/state`` sees
      nobody, ``P/C/people/ID`` is ``OFF`` and ``P/C/snapshot`` is cleared (whom it shows
      is not known; they may have been removed since).
    """
    if not payload:
        return None
    if discovery_prefix is not None and topic.startswith(f"{discovery_prefix}/binary_sensor/"):
        levels = topic.removeprefix(f"{discovery_prefix}/binary_sensor/").split("/")
        if len(levels) == 3 and levels[0].startswith("facerec_") and levels[2] == "config":
            return b"" if levels[1] not in enrolled else None
        return None
    if not topic.startswith(f"{prefix}/"):
        return None
    camera, *rest = topic.removeprefix(f"{prefix}/").split("/")
    idle = camera not in running
    if len(rest) == 2 and rest[0] == "people":
        if rest[1] not in enrolled:
            return b""
        return b"OFF" if idle and payload != b"OFF" else None
    if rest == ["availability"]:
        return b"offline" if idle and payload != b"offline" else None
    if rest == ["state"]:
        return IDLE_STATE if idle and payload != IDLE_STATE else None
    if rest == ["snapshot"]:
        return b"" if idle or not own_snapshots else None
    return None
