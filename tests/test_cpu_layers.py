"""The networks' layers taken a faster way on the CPU compute what PyTorch's own compute:
pointwise convolutions on oneDNN (and the same embeddings at one thread as at two: a busy
machine must not move a face's vector), and YuNet's 2x2 max pooling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from facerec import load_image
from facerec.models.nets.pointwise import PointwiseConv2d, is_pointwise, onednn_pointwise
from facerec.models.nets.yunet import max_pool_2x2


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_only_plain_1x1_convolutions_are_swapped_and_keep_their_parameters():
    net = nn.Sequential(nn.Conv2d(8, 16, 1), nn.Conv2d(16, 16, 3, padding=1),
                        nn.Conv2d(16, 16, 1, groups=4), nn.Conv2d(16, 8, 1, stride=2),
                        nn.Sequential(nn.Conv2d(8, 4, 1, bias=False)))
    weights = [conv.weight for conv in net.modules() if isinstance(conv, nn.Conv2d)]
    onednn_pointwise(net)
    kinds = [type(m) for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert kinds == [PointwiseConv2d, nn.Conv2d, nn.Conv2d, nn.Conv2d, PointwiseConv2d]
    assert [conv.weight for conv in net.modules() if isinstance(conv, nn.Conv2d)] == weights
    assert net[4][0].bias is None and not is_pointwise(net[3])


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_pointwise_layer_computes_what_conv2d_computes(layout, dtype, restore_threads):
    torch.manual_seed(0)
    plain = nn.Conv2d(24, 40, 1).to(dtype)
    swapped = onednn_pointwise(nn.Sequential(plain))[0]
    x = torch.randn(3, 24, 37, 29, dtype=dtype).contiguous(memory_format=layout)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        with torch.inference_mode():
            torch.testing.assert_close(swapped(x), nn.Conv2d.forward(plain, x))


@pytest.mark.filterwarnings("ignore:TF32 acceleration")  # torch.backends.mkldnn.flags says so
def test_turning_onednn_off_is_respected(monkeypatch):
    conv = onednn_pointwise(nn.Sequential(nn.Conv2d(8, 8, 1)))[0]
    calls = []
    monkeypatch.setattr(torch, "mkldnn_convolution",
                        lambda *args: calls.append(args) or nn.Conv2d.forward(conv, args[0]))
    x = torch.randn(1, 8, 5, 5)
    with torch.inference_mode():
        conv(x)
        with torch.backends.mkldnn.flags(enabled=False):
            conv(x)
    assert len(calls) == 1


def test_embeddings_are_the_same_at_one_thread_and_two(analyzer, samples, restore_threads):
    photo = load_image(sorted(samples.glob("*.jpg"))[0])
    crops = analyzer.align(photo, analyzer.detect(photo)[:4])
    assert crops.shape[0] >= 1
    embedded = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        embedded.append(analyzer.embed_crops(crops))
    # to the last bit on some processors, within 1e-7 on others (oneDNN picks its kernels
    # by processor and thread count); PyTorch's own 1x1 path moved them by ~2e-6
    np.testing.assert_allclose(embedded[0], embedded[1], rtol=0, atol=5e-7)


@pytest.mark.parametrize("size", [(64, 96), (33, 50), (7, 5), (3, 9)])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_yunets_max_pooling_is_pytorchs(size, layout):
    torch.manual_seed(1)
    x = torch.randn(2, 16, *size).contiguous(memory_format=layout)
    x[0, 3, 0, 0] = float("nan")  # a NaN wins its window in both
    x[1, :, 4:8, 2:6] = 5.0       # ties
    torch.testing.assert_close(max_pool_2x2(x), F.max_pool2d(x, 2), equal_nan=True,
                               rtol=0, atol=0)
