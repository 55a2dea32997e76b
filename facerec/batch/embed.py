"""``facerec batch embed``: every face of many photos embedded on a Ray cluster, into
Parquet shards (see ``records``).

Photos are read with Ray Data (local paths, globs, or any filesystem it reads, object
stores included), handed in small batches to a pool of actors that each hold the
networks (``--workers`` of them, ``--gpus-per-worker`` each), and written as Parquet
under ``OUT/run-<time>/``. Every photo gets rows: its faces, or one row with the reason it
gave none; nothing is dropped silently. A rerun skips photos whose sha256 a readable
shard already holds, so a killed run resumes where its written shards end.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facerec.batch.records import SCHEMA, done_photos, error_row, face_row
from facerec.photos.paths import expand_inputs

BATCH = 8
"""Photos per Ray Data batch handed to an actor."""


class EmbedFaces:
    """A Ray actor: decodes photos and embeds every face, as records rows.

    Args:
        embedder: registry name of the embedding model.
        done: sha256 of photos already in the output, skipped.
    """

    def __init__(self, embedder: str, done: set[str]) -> None:
        from facerec.faces.analyzer import FaceAnalyzer

        self.analyzer = FaceAnalyzer(embedder=embedder, download=True)
        self.model = self.analyzer.model_id
        self.done = done

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        from facerec.faces.reading import Received, analyze_photos
        from facerec.results import Skip

        rows: list[dict[str, object]] = []
        todo = []
        for path, data in zip(batch["path"], batch["bytes"]):
            data = bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            if digest not in self.done:
                todo.append(((str(path), digest), Received(str(path), data)))
        for (path, digest), outcome in analyze_photos(self.analyzer, todo):
            if isinstance(outcome, Skip):
                rows.append(error_row(path, digest, outcome.reason, self.model))
            elif not outcome.faces:
                rows.append(error_row(path, digest, "no face found", self.model))
            else:
                rows += [face_row(path, digest, index, outcome.size, face.detection,
                                  face.embedding, self.model)
                         for index, face in enumerate(outcome.faces)]
        return {name: [row[name] for row in rows] for name in SCHEMA.names}


@dataclass(frozen=True)
class EmbedRun:
    """What a run wrote: its folder, and the entries refused before reading."""

    folder: Path
    refused: list[tuple[str, str]]


def embed_to_parquet(sources: list[str], out: Path, workers: int = 1,
                     gpus_per_worker: float = 0.0, embedder: str = "sface-2021dec",
                     address: str | None = None) -> EmbedRun:
    """Embed every photo of ``sources`` into Parquet under ``out`` (see the module).

    Local sources are expanded here (folders, globs; special files refused with the
    reason, and recorded); other URIs go to Ray Data as they are.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    import ray

    local = [s for s in sources if "://" not in s]
    remote = [s for s in sources if "://" in s]
    paths, refused = expand_inputs(local) if local else ([], [])
    out = Path(out)
    run = out / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 1_000_000:06d}"
    done = done_photos(out) if out.exists() else set()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 num_cpus=None if address else workers + 1)  # + the reading tasks
    inputs = [str(p) for p in paths] + remote
    run.mkdir(parents=True, exist_ok=True)
    if refused:
        rows = [error_row(str(path), "", reason, embedder) for path, reason in refused]
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        pq.write_table(table, run / "refused.parquet")
    if inputs:
        dataset = ray.data.read_binary_files(inputs, include_paths=True)
        embedded = dataset.map_batches(
            EmbedFaces, fn_constructor_kwargs={"embedder": embedder, "done": done},
            batch_size=BATCH, compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=1, num_gpus=gpus_per_worker,
            batch_format="numpy")
        embedded.write_parquet(str(run), schema=SCHEMA)
    return EmbedRun(run, [(str(p), r) for p, r in refused])
