"""People's names: what facerec accepts, how it compares them, and the word it keeps for a
stranger.

A name is stored in Unicode normal form C (NFC), so "José" typed on macOS (which sends
NFD: ``e`` and a combining accent) and on Linux (one ``é``) is one person. Two names that
differ only by case (``obama`` and ``Obama``) are taken for a mistake: a new name whose
``name_key`` equals an enrolled person's is refused, naming that person.
"""

from __future__ import annotations

import unicodedata

from facerec.errors import InvalidName, PersonExists
from facerec.escaping import shown

UNKNOWN = "unknown"
"""What identification answers for a face of nobody enrolled; no person may be called so."""

MAX_NAME = 200


def normalize_name(name: str) -> str:
    """``name`` without surrounding spaces, in NFC: the form names are stored and looked
    up in."""
    return unicodedata.normalize("NFC", name.strip())


def name_key(name: str) -> str:
    """What two names must share to be the same person but for case or form: NFKC, then
    case folded (``"Obama"`` and ``"OBAMA"`` share ``"obama"``; ``"Straße"`` and
    ``"STRASSE"`` share ``"strasse"``; fullwidth ``"ｂｏｂｂｙ"`` and ``"bobby"`` share
    ``"bobby"``)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def case_clash(name: str, enrolled: str) -> PersonExists:
    """The error for a new name ``name`` that differs only by case or form from
    ``enrolled``."""
    return PersonExists(f"{name!r} differs only by case or character width from "
                        f"{enrolled!r}, who is enrolled; use {enrolled!r}, or rename that "
                        "person first")


def look_alike_word(name: str) -> str | None:
    """A word of ``name`` that mixes scripts with letters that look alike (``bоbby``
    with a Cyrillic ``о``), by Unicode's confusables data; None when there is none.
    Words in different scripts (``Ivan Иванов``) are fine."""
    from confusable_homoglyphs import confusables

    return next((word for word in name.split() if confusables.is_dangerous(word)), None)


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
    if (word := look_alike_word(cleaned)) is not None:
        raise InvalidName(f"invalid person name {name!r}: {word!r} mixes letters of "
                          "different scripts that look alike (a Cyrillic or Greek letter "
                          "among Latin ones, say); type it in one script")
    if cleaned.casefold() == UNKNOWN:
        raise InvalidName(f"{cleaned!r} is reserved: identify answers {UNKNOWN!r} for a face "
                          "of nobody enrolled; choose another name")
    return cleaned
