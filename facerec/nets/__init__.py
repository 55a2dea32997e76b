"""The convolutional networks, as plain ``torch.nn.Module`` s that read their weights'
original files (``state_from_file``); ``facerec.models.build_network`` builds them."""

from .sface import SFace
from .yunet import YuNet

__all__ = ["SFace", "YuNet"]
