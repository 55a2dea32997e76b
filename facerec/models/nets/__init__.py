"""The convolutional networks, as plain ``torch.nn.Module`` s that read their weights'
original files (``state_from_file``); ``facerec.models.build.build_network`` builds them."""

from facerec.models.nets.sface import SFace
from facerec.models.nets.yunet import YuNet

__all__ = ["SFace", "YuNet"]
