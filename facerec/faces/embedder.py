"""Face embedding: aligned crops to unit-length identity vectors.

A crop is the size the model's registry entry gives (``ModelSpec.input_size``: 112x112
for SFace and MobileFaceNet, 150x150 for dlib's ResNet) and the embedding the length it
gives (``ModelSpec.embedding_size``).
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
import torch.nn.functional as F

from facerec.models.nets.onednn import onednn_convolutions


class EmbedderNetwork(Protocol):
    """What an embedding network (``facerec.models.nets``: SFace, MobileFaceNet, DlibResNet)
    offers the embedder: as an ``nn.Module``, ``eval()`` and ``to()``; ``for_inference()``
    readies it (BatchNorm folded into its convolutions) and returns it; called on RGB
    (N, 3, H, W) float 0..255 crops of its registry ``input_size`` it returns (N, D)
    features, not yet unit length."""

    def eval(self) -> Any: ...

    def for_inference(self) -> Any: ...

    def __call__(self, crops: torch.Tensor) -> torch.Tensor: ...


class FaceEmbedder:
    """Batched embedding with BatchNorm folded, channels-last memory and, on the CPU, every
    convolution on oneDNN with its weights laid out once (``facerec.models.nets.onednn``).

    Args:
        net: the embedding network with loaded weights (``models.build_network``).
        device: where to run it.
        dim: the embedding length, from the model's registry entry.
        batch_size: crops per forward pass; larger batches are split.
        flip: also embed each crop mirrored left to right and use the normalised sum
            (test-time augmentation: about +0.1 point on LFW, at twice the cost).
    """

    def __init__(self, net: EmbedderNetwork, device: torch.device, dim: int,
                 batch_size: int = 16, flip: bool = False) -> None:
        self.net = onednn_convolutions(net.eval().for_inference()).to(
            device, memory_format=torch.channels_last)
        self.device = device
        self.dim = dim
        self.batch_size = batch_size
        self.flip = flip

    @torch.inference_mode()
    def embed(self, crops: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float RGB 0..255 crops of the model's input size -> (N, D) float32
        unit embeddings."""
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
