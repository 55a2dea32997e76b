"""The convolutional networks, as plain ``torch.nn.Module`` s with ONNX weight loaders."""

from .sface import SFace, load_sface
from .yunet import YuNet, load_yunet

__all__ = ["SFace", "YuNet", "load_sface", "load_yunet"]
