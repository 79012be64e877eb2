"""Tensors cross Beam's coders as dtype, shape and raw bytes."""

from __future__ import annotations

import apache_beam as beam
import pytest
import torch

from models.handlers.tensor import TensorCoder


@pytest.mark.parametrize("tensor", [
    torch.tensor([5, 0, 7]), torch.tensor(3.5), torch.zeros(2, 0),
    torch.randn(2, 3).to(torch.bfloat16)])
def test_tensor_coder_round_trips_dtype_shape_and_values(tensor: torch.Tensor) -> None:
    coder = beam.coders.registry.get_coder(torch.Tensor)
    assert isinstance(coder, TensorCoder)
    decoded = coder.decode(coder.encode(tensor))
    assert decoded.dtype == tensor.dtype and decoded.shape == tensor.shape
    assert torch.equal(decoded, tensor)
    assert coder.estimate_size(tensor) >= tensor.element_size() * tensor.nelement()
