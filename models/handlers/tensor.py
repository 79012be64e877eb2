"""Beam plumbing every PyTorch scorer shares: a tensor coder, a cheaper handler, the device.

Comments differ in length, so every handler pads its own batch instead of Beam's default
``torch.stack``.
"""

from __future__ import annotations

from collections.abc import Sequence

import apache_beam as beam
import numpy as np
import torch
from apache_beam.ml.inference.pytorch_inference import PytorchModelHandlerTensor


class TensorCoder(beam.coders.Coder):
    """A tensor as its dtype, shape and raw bytes.

    Without it Beam falls back to pickling every tensor through ``torch.save``: across stage
    boundaries, and also inside a fused stage, where its counters sample elements' encoded
    sizes. Those samples alone cost the LSTM scoring stage about a quarter of its time.
    """

    def encode(self, value: torch.Tensor) -> bytes:
        flat = value.detach().cpu().contiguous().reshape(-1)
        shape = ",".join(str(n) for n in value.shape)
        header = f"{str(value.dtype).removeprefix('torch.')}|{shape}|".encode()
        return header + flat.view(torch.uint8).numpy().tobytes()

    def decode(self, encoded: bytes) -> torch.Tensor:
        dtype, shape, data = encoded.split(b"|", 2)
        dims = [int(n) for n in shape.decode().split(",") if n]
        kind = getattr(torch, dtype.decode())
        if not data:  # an empty byte tensor cannot be viewed as a wider type
            return torch.empty(dims, dtype=kind)
        return torch.from_numpy(np.frombuffer(data, dtype=np.uint8).copy()).view(kind).reshape(dims)

    def estimate_size(self, value: torch.Tensor) -> int:
        return value.element_size() * value.nelement() + 16

    def is_deterministic(self) -> bool:
        return True

    def to_type_hint(self) -> type:
        return torch.Tensor


beam.coders.registry.register_coder(torch.Tensor, TensorCoder)

class TensorHandler(PytorchModelHandlerTensor):
    """Beam's PyTorch tensor handler, minus a per-number cost in its batch-size metric.

    Beam's ``get_num_bytes`` iterates every element of every tensor in Python (``for el in
    tensor``); on the LSTM's id sequences that took a third of the scoring stage's time.
    """

    def get_num_bytes(self, batch: Sequence[torch.Tensor]) -> int:
        return sum(tensor.element_size() * tensor.nelement() for tensor in batch)


def beam_device(device: str) -> str:
    """Our ``auto``/``cpu``/``cuda`` setting in Beam's ``CPU``/``GPU`` words."""
    if device == "auto":
        return "GPU" if torch.cuda.is_available() else "CPU"
    return "GPU" if device == "cuda" else "CPU"
