"""Pictures of an ``Explanation``: the photo with its faces, the detector's score map over
it, the aligned face, a grid of each stage's strongest feature maps, and one overview."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from facerec.explain.explanation import Explanation, Stage, heatmap

TILE = 96
MAPS_PER_STAGE = 8
PANEL = 320


def photo_with_faces(explained: Explanation) -> np.ndarray:
    """The photo with every face boxed (the explained one in green, with its landmarks)."""
    out = explained.photo.copy()
    thickness = max(2, round(max(out.shape[:2]) / 400))
    for face in explained.faces:
        chosen = face is explained.face
        colour = (40, 200, 40) if chosen else (200, 200, 200)
        x1, y1, x2, y2 = (round(v) for v in face.detection.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thickness)
        if chosen:
            for x, y in face.detection.landmarks:
                cv2.circle(out, (round(x), round(y)), thickness * 2, (255, 60, 60), -1)
    return out


def scores_over_photo(explained: Explanation) -> np.ndarray:
    """The detector's score map in colour, blended over the photo."""
    grey = (np.clip(explained.score_map, 0, 1) * 255).astype(np.uint8)
    colour = cv2.applyColorMap(grey, cv2.COLORMAP_INFERNO)[:, :, ::-1]
    return cv2.addWeighted(explained.photo, 0.45, colour, 0.55, 0)


def stage_grid(stage: Stage, count: int = MAPS_PER_STAGE) -> np.ndarray:
    """The ``count`` strongest channels of a stage side by side, each in its own range."""
    tiles = [heatmap(stage.activations[channel], (TILE, TILE))
             for channel in stage.strongest(count)]
    gap = np.full((TILE, 4, 3), 255, np.uint8)
    row: list[np.ndarray] = []
    for tile in tiles:
        row += [tile, gap]
    return np.concatenate(row[:-1], axis=1)


def overview(explained: Explanation) -> np.ndarray:
    """One picture: photo, score map and aligned face on top, then a row per stage."""
    top = [_fit(photo_with_faces(explained)), _fit(scores_over_photo(explained)),
           _fit(explained.crop)]
    rows = [np.concatenate(_pad_all(top, PANEL), axis=1)]
    captions = ["detected faces | where the detector fires | the aligned face"]
    for index, stage in enumerate(explained.stages):
        channels, height, width = stage.activations.shape
        rows.append(stage_grid(stage))
        captions.append(f"stage {index + 1}: {stage.name}, {channels} maps of "
                        f"{width}x{height}; the {MAPS_PER_STAGE} strongest")
    width = max(row.shape[1] for row in rows)
    canvas = Image.new("RGB", (width + 20, sum(r.shape[0] + 28 for r in rows) + 10), "white")
    draw = ImageDraw.Draw(canvas)
    y = 8
    for row, caption in zip(rows, captions):
        draw.text((10, y), caption, fill="black")
        canvas.paste(Image.fromarray(row), (10, y + 18))
        y += row.shape[0] + 28
    return np.asarray(canvas)


def _fit(image: np.ndarray, side: int = PANEL) -> np.ndarray:
    scale = side / max(image.shape[:2])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    return cv2.resize(image, size, interpolation=method)


def _pad_all(images: list[np.ndarray], side: int) -> list[np.ndarray]:
    out = []
    for image in images:
        canvas = np.full((side, side + 10, 3), 255, np.uint8)
        canvas[: image.shape[0], : image.shape[1]] = image
        out.append(canvas)
    return out


def write_pictures(explained: Explanation, out: Path) -> list[Path]:
    """Write every picture as PNG into ``out``; returns their paths, the overview first."""
    out.mkdir(parents=True, exist_ok=True)
    pictures = {"explain.png": overview(explained),
                "faces.png": photo_with_faces(explained),
                "detector-scores.png": scores_over_photo(explained),
                "aligned.png": explained.crop}
    for index, stage in enumerate(explained.stages):
        pictures[f"stage-{index + 1}-{stage.name}.png"] = stage_grid(stage)
    written = []
    for name, picture in pictures.items():
        path = out / name
        Image.fromarray(np.ascontiguousarray(picture)).save(path)
        written.append(path)
    return written
