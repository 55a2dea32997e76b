"""The networks' layers taken a faster way on the CPU compute what PyTorch's own compute:
convolutions on oneDNN with their weights laid out once and a ReLU fused in (and the same
embeddings at one thread as at two: a busy machine must not move a face's vector), and
YuNet's 2x2 max pooling."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import facerec.models.nets.onednn as onednn
from facerec import load_image
from facerec.models.build import build_network
from facerec.models.nets.onednn import OneDNNConv2d, onednn_convolutions, with_relu
from facerec.models.nets.yunet import max_pool_2x2
from facerec.models.registry import YUNET


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_every_plain_convolution_is_swapped_and_keeps_its_parameters():
    net = nn.Sequential(nn.Conv2d(8, 16, 1), nn.Conv2d(16, 16, 3, padding=1, groups=16),
                        nn.Conv2d(16, 16, 3, padding="same"),
                        nn.Conv2d(16, 16, 3, padding=1, padding_mode="reflect"),
                        nn.Sequential(nn.Conv2d(16, 4, 1, stride=2, bias=False)))
    weights = [conv.weight for conv in net.modules() if isinstance(conv, nn.Conv2d)]
    onednn_convolutions(net)
    kinds = [type(m) for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert kinds == [OneDNNConv2d, OneDNNConv2d, nn.Conv2d, nn.Conv2d, OneDNNConv2d]
    assert [conv.weight for conv in net.modules() if isinstance(conv, nn.Conv2d)] == weights
    assert net[4][0].bias is None and net[4][0].stride == (2, 2)
    assert not any(conv.relu for conv in net.modules() if isinstance(conv, OneDNNConv2d))


LAYERS = {
    "pointwise": dict(in_channels=24, out_channels=40, kernel_size=1),
    "depthwise, strided": dict(in_channels=24, out_channels=24, kernel_size=3, stride=2,
                               padding=1, groups=24),
    "dense, no bias": dict(in_channels=24, out_channels=16, kernel_size=3, padding=1,
                           bias=False),
    "dilated, grouped": dict(in_channels=24, out_channels=12, kernel_size=3, padding=2,
                             dilation=2, groups=4),
}


@pytest.mark.parametrize("layer", sorted(LAYERS))
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_onednn_layer_computes_what_conv2d_then_relu_computes(layer, relu, layout, dtype,
                                                                 restore_threads):
    torch.manual_seed(0)
    plain = nn.Conv2d(**LAYERS[layer]).to(dtype)
    swapped = with_relu(plain) if relu else onednn_convolutions(nn.Sequential(plain))[0]
    x = torch.randn(3, 24, 37, 29, dtype=dtype).contiguous(memory_format=layout)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        with torch.inference_mode():
            # a smaller input of the batch's size takes the same laid-out weights; one
            # image, its own (both views, not contiguous)
            for given in (x, x[:, :, :9, :13], x[:1, :, 5:, 3:]):
                torch.testing.assert_close(swapped(given), expected_of(plain, given, relu))


def expected_of(conv: nn.Conv2d, x: torch.Tensor, relu: bool) -> torch.Tensor:
    y = nn.Conv2d.forward(conv, x)
    return F.relu(y) if relu else y


def test_weights_written_after_the_first_call_are_used():
    torch.manual_seed(0)
    conv = with_relu(nn.Conv2d(8, 8, 3, padding=1))
    x = torch.randn(1, 8, 6, 6)
    with torch.inference_mode():
        conv(x)
    with torch.no_grad():
        conv.weight.mul_(-1.0)  # the same tensor, written to
    with torch.inference_mode():
        torch.testing.assert_close(conv(x), expected_of(conv, x, True))
    conv.weight = nn.Parameter(torch.randn_like(conv.weight))  # another tensor
    with torch.inference_mode():
        torch.testing.assert_close(conv(x), expected_of(conv, x, True))


def test_a_layout_is_made_once_for_each_batch_size_met_lately(monkeypatch):
    """oneDNN lays weights out by the batch size; weights laid out for a batch and given
    one image are laid out again inside every call (4x slower for SFace), so the layer
    keeps one layout per batch size, the latest few, whatever the images' size."""
    conv = with_relu(nn.Conv2d(8, 8, 3, padding=1))
    made: list[int] = []
    lay_out = onednn._LAY_OUT
    assert lay_out is not None
    monkeypatch.setattr(onednn, "_LAY_OUT",
                        lambda weight, *args: made.append(args[-1][0]) or
                        lay_out(weight, *args))
    kept = onednn.LAYOUTS_KEPT
    batches = [1, 8, 1, 8, 1] + list(range(2, 2 + kept)) + [1]
    with torch.inference_mode():
        for index, batch in enumerate(batches):
            x = torch.randn(batch, 8, 6 + index, 9)
            torch.testing.assert_close(conv(x), expected_of(conv, x, True))
    assert made == [1, 8] + list(range(2, 2 + kept)) + [1]


def test_a_layer_that_has_run_can_be_copied():
    """oneDNN's laid-out tensors cannot be copied; a copy lays out its own."""
    conv = with_relu(nn.Conv2d(4, 4, 3, padding=1))
    x = torch.randn(2, 4, 5, 5)
    with torch.inference_mode():
        conv(x)
        copied = copy.deepcopy(conv)
        torch.testing.assert_close(copied(x), conv(x))
        assert conv(x[:0]).shape == (0, 4, 5, 5)


def test_gradients_flow_through_a_onednn_layer():
    """oneDNN's fused call records no gradients, so a layer whose gradients are wanted
    runs as nn.Conv2d runs it."""
    torch.manual_seed(0)
    conv = with_relu(nn.Conv2d(4, 4, 3, padding=1))
    x = torch.randn(1, 4, 5, 5, requires_grad=True)
    conv(x).sum().backward()
    assert x.grad is not None and conv.weight.grad is not None
    assert conv.weight.grad.abs().sum() > 0


@pytest.mark.filterwarnings("ignore:TF32 acceleration")  # torch.backends.mkldnn.flags says so
def test_turning_onednn_off_is_respected(monkeypatch):
    conv = with_relu(nn.Conv2d(8, 8, 1))
    calls = []
    fused = onednn._CONVOLVE
    assert fused is not None
    monkeypatch.setattr(onednn, "_CONVOLVE", lambda *args: calls.append(args) or fused(*args))
    x = torch.randn(1, 8, 5, 5)
    with torch.inference_mode():
        conv(x)
        with torch.backends.mkldnn.flags(enabled=False):
            off = conv(x)
    assert len(calls) == 1
    torch.testing.assert_close(off, expected_of(conv, x, True))


def test_yunet_with_its_relus_fused_gives_what_its_layers_apart_give(model_paths):
    fused = build_network(YUNET.name, "detector").for_inference()
    apart = build_network(YUNET.name, "detector").fuse().take_rgb()
    assert sum(isinstance(m, OneDNNConv2d) and m.relu for m in fused.modules()) == 15
    assert not any(isinstance(m, OneDNNConv2d) for m in apart.modules())
    torch.manual_seed(2)
    x = (torch.rand(2, 3, 96, 160) * 255).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        ours, theirs = fused(x), apart(x)
    assert ours.keys() == theirs.keys()
    for key in theirs:
        torch.testing.assert_close(ours[key], theirs[key], rtol=0, atol=1e-5)


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
