"""Triage: which offered photos need the networks, and which are settled without them.

A photo is *unchanged* when its source is enrolled with the same bytes for the same
person; a *duplicate* when the same bytes are enrolled, or offered earlier in the run, for
the same person; *refused* when its source or its bytes belong to another person (unless
``move``), naming them. The rest go on to be analysed, each with the sources it may take
from another person when stored (the store decides again inside its write, see
``Gallery.claim_faces``).
"""

from __future__ import annotations

from collections.abc import Sequence

from facerec.enrollment.plans import Incoming
from facerec.results import EnrollReport, Skip

Sources = dict[str, tuple[str, str]]
"""source -> (sha256, person) of enrolled faces."""

Holders = dict[str, list[tuple[str, str]]]
"""sha256 -> [(source, person)] of enrolled faces."""


def triage(incoming: Sequence[Incoming], known: Sources, holders: Holders, move: bool,
           report: EnrollReport) -> tuple[list[Incoming], dict[str, list[str]]]:
    """The photos to analyse and, by source, the sources each may take from another
    person; the others land in ``report``.

    Args:
        incoming: the photos offered, in order.
        known: the enrolled faces under the offered sources.
        holders: the enrolled faces with the offered photos' bytes.
        move: a photo of another person may become the offered person's.
        report: gets the unchanged, duplicate and refused photos.
    """
    todo: list[Incoming] = []
    moving: dict[str, list[str]] = {}
    first: dict[str, Incoming] = {}
    for item in incoming:
        current = known.get(item.source)
        if current == (item.sha256, item.person):
            report.unchanged += 1
            continue
        owner = None if current is None or current[1] == item.person else current[1]
        if owner is not None and not move:
            report.skipped.append(owned(item.label, item.person, owner, "this photo"))
            continue
        taken = [item.source] if owner is not None else []
        earlier = first.get(item.sha256)
        if earlier is not None:
            if earlier.person == item.person:
                report.duplicates.append(Skip(item.label, f"same photo as {earlier.label}"))
            else:
                report.skipped.append(Skip(item.label, f"same photo as {earlier.label}, "
                                                       f"given for {earlier.person!r}"))
            continue
        others = [(s, p) for s, p in holders.get(item.sha256, []) if s != item.source]
        mine = [s for s, p in others if p == item.person]
        if mine:
            report.duplicates.append(Skip(item.label, f"same photo as {mine[0]}, already "
                                                      f"enrolled for {item.person!r}"))
            continue
        foreign = [(s, p) for s, p in others if p != item.person]
        if foreign and not move:
            report.skipped.append(owned(item.label, item.person, foreign[0][1],
                                        f"the same photo ({foreign[0][0]})"))
            continue
        if foreign or taken:
            moving[item.source] = taken + [s for s, _ in foreign]
        first[item.sha256] = item
        todo.append(item)
    return todo, moving


def owned(label: str, person: str, owner: str, what: str) -> Skip:
    """The skip of a photo that is already ``owner``'s, offered for ``person``."""
    return Skip(label, f"{what} is already enrolled as {owner!r}; nothing was changed "
                       f"(enroll it with --move, or move=true over HTTP, to make it "
                       f"{person!r}'s)", owner)
