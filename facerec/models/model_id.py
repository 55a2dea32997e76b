"""Which embeddings a database holds: an embedder's registry name, and whether each
embedding averages a face with its mirror image's. Written ``"sface"`` or
``"sface+flip"``; the two never mix in one database."""

from __future__ import annotations

from dataclasses import dataclass

from facerec.errors import ModelError
from facerec.models.registry import ModelSpec, get_model

FLIP_SUFFIX = "+flip"


@dataclass(frozen=True)
class ModelId:
    """An embedder (a registry name) and whether its embeddings are flip-averaged."""

    embedder: str
    flip: bool = False

    @classmethod
    def parse(cls, text: str) -> ModelId:
        """The id written ``text`` (as ``str`` writes it and a database stores it)."""
        embedder = text.removesuffix(FLIP_SUFFIX)
        return cls(embedder, embedder != text)

    def __str__(self) -> str:
        return self.embedder + (FLIP_SUFFIX if self.flip else "")

    @property
    def spec(self) -> ModelSpec:
        """The embedder's registry entry (``ModelError`` for a name it does not know)."""
        return get_model(self.embedder, "embedder")

    @property
    def dim(self) -> int:
        """The length of the embedder's embeddings."""
        size = self.spec.embedding_size
        if size is None:
            raise ModelError(f"{self.embedder} has no embedding size in the registry")
        return size
