"""The similarity transform and the crop sampler, on exact synthetic cases."""

from __future__ import annotations

import math

import numpy as np
import torch

from facerec.faces.align import ARCFACE_TEMPLATE, align_faces, similarity_transforms, warp_crops


def transform_points(points: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    return points @ matrix[:, :2].T + matrix[:, 2]


def test_recovers_a_known_similarity_exactly():
    angle, scale = math.radians(17.0), 2.5
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle)],
                             [math.sin(angle), math.cos(angle)]], dtype=torch.float64)
    # landmarks in the photo = template moved by a known similarity
    photo_points = (ARCFACE_TEMPLATE @ rotation.T) * scale + torch.tensor([300.0, 120.0],
                                                                           dtype=torch.float64)
    matrices = similarity_transforms(torch.stack([photo_points, photo_points * 1.0]))
    assert matrices.shape == (2, 2, 3)
    back = transform_points(photo_points, matrices[0])
    torch.testing.assert_close(back, ARCFACE_TEMPLATE, atol=1e-9, rtol=0)


def test_identity_transform_copies_pixels():
    image = torch.rand(3, 112, 112) * 255
    identity = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=torch.float64)
    # float32 sampling coordinates: exact to a hundredth of a grey level
    torch.testing.assert_close(warp_crops(image, identity)[0], image, atol=0.01, rtol=0)


def test_align_faces_crops_only_the_covered_region():
    image = torch.randint(0, 255, (400, 600, 3), dtype=torch.uint8)
    landmarks = (ARCFACE_TEMPLATE + torch.tensor([250.0, 150.0], dtype=torch.float64))[None]
    crops = align_faces(image, landmarks)
    expected = image[150:262, 250:362].permute(2, 0, 1).float()
    torch.testing.assert_close(crops[0], expected, atol=0.01, rtol=0)
    assert align_faces(image, landmarks[:0]).shape == (0, 3, 112, 112)


def test_the_registry_template_is_the_one_the_aligner_uses():
    from facerec.models.registry import ARCFACE_TEMPLATE as REGISTRY_TEMPLATE
    from facerec.models.registry import MODELS

    torch.testing.assert_close(torch.tensor(REGISTRY_TEMPLATE, dtype=torch.float64),
                               ARCFACE_TEMPLATE)
    for spec in MODELS.values():
        if spec.role == "embedder":
            assert spec.template is not None and len(spec.template) == 5
            assert all(0 < x < spec.input_size[0] and 0 < y < spec.input_size[1]
                       for x, y in spec.template)


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Umeyama's (1991) least-squares similarity through the SVD, reflection excluded:
    the reference the closed form is checked against."""
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - src_mean, dst - dst_mean
    u, sigma, vh = np.linalg.svd(d.T @ s / len(src))
    signs = np.array([1.0, 1.0 if np.linalg.det(u) * np.linalg.det(vh) > 0 else -1.0])
    rotation = u @ np.diag(signs) @ vh
    scale = (sigma * signs).sum() / ((s ** 2).sum() / len(src))
    linear = rotation * scale
    return np.concatenate([linear, (dst_mean - linear @ src_mean)[:, None]], axis=1)


def test_the_closed_form_is_umeyamas_least_squares_fit():
    rng = np.random.default_rng(0)
    template = ARCFACE_TEMPLATE.numpy()
    points = []
    for _ in range(200):
        angle, scale = rng.uniform(-np.pi, np.pi), rng.uniform(0.1, 8.0)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        placed = template @ rotation.T * scale + rng.uniform(-500, 1500, 2)
        points.append(placed + rng.normal(0, 3.0 * scale, placed.shape))  # off the template
    points.append(template * [-1.0, 1.0])  # a mirrored face: the fit must not reflect
    matrices = similarity_transforms(torch.from_numpy(np.stack(points))).numpy()
    for face, matrix in zip(points, matrices):
        np.testing.assert_allclose(matrix, umeyama(face, template), rtol=1e-9, atol=1e-9)
        assert np.linalg.det(matrix[:, :2]) >= 0
