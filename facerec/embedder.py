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
    """

    def __init__(self, net: SFace, device: torch.device, batch_size: int = 16) -> None:
        self.net = net.eval().fuse().to(device, memory_format=torch.channels_last)
        self.device = device
        self.batch_size = batch_size

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
            chunks.append(self.net(chunk))
        return F.normalize(torch.cat(chunks).float(), dim=1)
