"""The library's faces decided as identify decides a face (``facerec.recognition.matching``), from
their stored embeddings: no photo is read again.

Each library face keeps its nearest enrolled face (``library.matching``); since a
person's score is at most the similarity of their nearest face, a face whose nearest
match is under the threshold is unknown without more work, and only the others are
decided in full (two nearest faces, the open-set threshold, unsure, "not this person").
"""

from __future__ import annotations

from collections.abc import Sequence

from facerec.names import UNKNOWN
from facerec.recognition.matching import Rule, match_faces
from facerec.results import Match
from facerec.storage.library_store import LibraryStore, StoredFace
from facerec.storage.templates import PeopleTemplates


class Decider:
    """Decides stored library faces against the gallery as it is now.

    Args:
        store: the library's faces and their embeddings.
        rule, templates: the decision and the people (``matching.gallery_rule``).
    """

    def __init__(self, store: LibraryStore, rule: Rule, templates: PeopleTemplates) -> None:
        self.store = store
        self.rule = rule
        self.templates = templates

    @property
    def threshold(self) -> float:
        return self.rule.threshold.value

    def decide(self, faces: Sequence[StoredFace], top_k: int = 3) -> list[Match]:
        """Each face's answer, in order."""
        if not faces:
            return []
        ids, embeddings = self.store.embeddings_of(face.id for face in faces)
        row = {int(face_id): i for i, face_id in enumerate(ids)}
        present = [face for face in faces if face.id in row]
        decided = match_faces(embeddings[[row[face.id] for face in present]],
                              [face.detection for face in present], self.templates,
                              self.rule, top_k)
        answer = dict(zip((face.id for face in present), decided))
        return [answer.get(face.id) or Match(face.detection, UNKNOWN, -1.0, ())
                for face in faces]

    def named(self, faces: Sequence[StoredFace]) -> list[tuple[StoredFace, Match]]:
        """The faces among ``faces`` that could be named (their nearest match reaches
        the threshold), each with its answer."""
        near = [face for face in faces
                if face.similarity is not None and face.similarity >= self.threshold]
        return list(zip(near, self.decide(near)))
