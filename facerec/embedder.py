"""Face embedding: aligned 112x112 crops to unit-length identity vectors."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .nets.sface import SFace


class FaceEmbedder:
    """Batched SFace inference with BatchNorm folded and channels-last memory.

    Args:
        net: an SFace with loaded weights.
        device: where to run it.
        batch_size: crops per forward pass; larger batches are split.
        flip: also embed each crop mirrored left to right and use the normalised sum
            (test-time augmentation: about +0.1 point on LFW, at twice the cost).
    """

    def __init__(self, net: SFace, device: torch.device, batch_size: int = 16,
                 flip: bool = False) -> None:
        self.net = net.eval().for_inference().to(device, memory_format=torch.channels_last)
        self.device = device
        self.batch_size = batch_size
        self.flip = flip

    @property
    def dim(self) -> int:
        return self.net.fc.out_features

    @torch.inference_mode()
    def embed(self, crops: torch.Tensor) -> torch.Tensor:
        """(N, 3, 112, 112) float RGB 0..255 crops -> (N, D) float32 unit embeddings."""
        if crops.shape[0] == 0:
            return torch.zeros((0, self.dim), dtype=torch.float32, device=self.device)
        chunks = []
        for start in range(0, crops.shape[0], self.batch_size):
            chunk = crops[start:start + self.batch_size].to(self.device)
            chunk = chunk.contiguous(memory_format=torch.channels_last)
            features = self.net(chunk)
            if self.flip:
                features = features + self.net(chunk.flip(-1))
            chunks.append(features)
        return F.normalize(torch.cat(chunks).float(), dim=1)
