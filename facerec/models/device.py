"""Choosing the compute device: CUDA when available, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

from facerec.errors import DeviceError


def select_device(requested: str | torch.device | None = None) -> torch.device:
    """Return the device to run on.

    Args:
        requested: ``None`` or ``"auto"`` picks cuda, then mps, then cpu; anything else
            (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``) is used as given.

    Raises:
        DeviceError: the requested device does not exist on this machine.
    """
    if requested is None or str(requested) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(requested)
    except (RuntimeError, TypeError) as exc:
        raise DeviceError(f"unknown device {requested!r}: {exc}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {requested!r} asked for, but CUDA is not available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"device {requested!r} asked for, but there are "
                              f"{torch.cuda.device_count()} CUDA devices")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"device {requested!r} asked for, but MPS is not available")
    return device
