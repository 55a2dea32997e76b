"""People's names: what facerec accepts, how it compares them, and the word it keeps for a
stranger.

A name is stored in Unicode normal form C (NFC), so "José" typed on macOS (which sends
NFD: ``e`` and a combining accent) and on Linux (one ``é``) is one person. Two names that
differ only by case (``obama`` and ``Obama``) are taken for a mistake: a new name whose
``name_key`` equals an enrolled person's is refused, naming that person.
"""

from __future__ import annotations

import unicodedata

from .errors import InvalidName, PersonExists
from .escaping import shown

UNKNOWN = "unknown"
"""What identification answers for a face of nobody enrolled; no person may be called so."""

MAX_NAME = 200


def normalize_name(name: str) -> str:
    """``name`` without surrounding spaces, in NFC: the form names are stored and looked
    up in."""
    return unicodedata.normalize("NFC", name.strip())


def name_key(name: str) -> str:
    """What two names must share to be the same person but for case: NFC, then case
    folded (``"Obama"`` and ``"OBAMA"`` share ``"obama"``; ``"Straße"`` and
    ``"STRASSE"`` share ``"strasse"``)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def case_clash(name: str, enrolled: str) -> PersonExists:
    """The error for a new name ``name`` that differs only by case from ``enrolled``."""
    return PersonExists(f"{name!r} differs only by case from {enrolled!r}, who is enrolled; "
                        f"use {enrolled!r}, or rename that person first")


def validate_name(name: str) -> str:
    """A person's name, stripped of surrounding spaces and in NFC.

    Raises:
        InvalidName: not valid UTF-8 (a folder name in another encoding), not 1 to 200
            printable characters, a slash or backslash in it, or the reserved word
            ``unknown`` (in any case).
    """
    if any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        raise InvalidName(f"invalid person name '{shown(name)}': it is not valid UTF-8; "
                          "rename the folder (for example with convmv)")
    cleaned = normalize_name(name)
    if (not cleaned or len(cleaned) > MAX_NAME or not cleaned.isprintable()
            or "/" in cleaned or "\\" in cleaned):
        raise InvalidName(f"invalid person name {name!r}: it must be 1 to {MAX_NAME} "
                          "printable characters, without / or \\")
    if cleaned.casefold() == UNKNOWN:
        raise InvalidName(f"{cleaned!r} is reserved: identify answers {UNKNOWN!r} for a face "
                          "of nobody enrolled; choose another name")
    return cleaned
