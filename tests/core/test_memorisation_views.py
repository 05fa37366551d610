"""The memorisation audit over views of each sample, and the training-time memorisation alarm."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ganforge.core.diagnostics import MemorisationMonitor
from ganforge.core.metrics import memorisation_audit


def _shift_views(x: np.ndarray, shifts=(0, 1, -1)) -> np.ndarray:
    """Each row followed by its cyclic shifts (``len(shifts)`` consecutive rows per sample)."""
    return np.stack([np.roll(x, s, axis=1) for s in shifts], axis=1).reshape(-1, x.shape[1])


def test_views_find_a_copy_that_only_a_shifted_view_matches():
    rng = np.random.default_rng(0)
    train = (rng.random((200, 40)) < 0.3).astype(float)
    heldout = (rng.random((40, 40)) < 0.3).astype(float)
    copies = np.roll(train[:10], -1, axis=1)  # training rows moved by one place
    fresh = (rng.random((10, 40)) < 0.3).astype(float)
    generated = np.concatenate([copies, fresh])
    plain = memorisation_audit(generated, train, heldout)
    viewed = memorisation_audit(_shift_views(generated), train, _shift_views(heldout), views=3)
    assert plain.near_duplicate_share < 0.5  # unshifted, the copies are not found
    assert viewed.views == 3 and viewed.near_duplicate_share == 0.5
    assert torch.equal(viewed.max_train_cosine_index[:10], torch.arange(10))
    assert torch.allclose(viewed.max_train_cosine[:10], torch.ones(10, dtype=torch.float64))
    assert (viewed.nn_train_distance[:10] == 0).all()
    # view 1 (shift +1) undoes the shift of -1
    assert (viewed.max_train_cosine_view[:10] == 1).all()
    assert viewed.nn_train_index[:10].tolist() == list(range(10))
    assert viewed.heldout_max_train_cosine.shape == (40,)
    assert viewed.heldout_near_duplicate_share == 0.0
    assert viewed.summary()["views"] == 3


def test_views_one_is_the_plain_audit():
    rng = np.random.default_rng(1)
    train, heldout, generated = (
        rng.normal(size=(100, 8)),
        rng.normal(size=(30, 8)),
        rng.normal(size=(20, 8)),
    )
    a = memorisation_audit(generated, train, heldout)
    b = memorisation_audit(generated, train, heldout, views=1)
    assert torch.equal(a.nn_train_distance, b.nn_train_distance)
    assert torch.equal(a.max_train_cosine, b.max_train_cosine)
    assert a.share_below_threshold == b.share_below_threshold


def test_views_must_divide_the_rows():
    x = np.ones((61, 4))
    with pytest.raises(ValueError, match="multiple of views=3"):
        memorisation_audit(x[:10], x, x[:61], views=3)


class _Copier(nn.Module):
    """Returns the first rows of a fixed table whatever the noise (a memorising generator)."""

    def __init__(self, table: torch.Tensor, copy: bool) -> None:
        super().__init__()
        self.table, self.copy = table, copy
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.table[: len(z)] if self.copy else torch.rand(len(z), self.table.shape[1])


class _Trainer:
    def __init__(self, generator: nn.Module) -> None:
        self.module = type("M", (), {"generator_name": "G", "networks": {"G": generator}})()
        self.ema, self.device, self.iteration = None, torch.device("cpu"), 7
        self.events: list[dict] = []

    def log_event(self, name: str, **info) -> None:
        self.events.append({"event": name, **info})


def test_memorisation_monitor_fires_only_for_a_copying_generator():
    train = (torch.rand(64, 32, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    noise = torch.randn(16, 4)
    copier = _Trainer(_Copier(train, copy=True))
    values = MemorisationMonitor(noise, train, max_share=0.1)(copier)
    assert values["diag/near_copy_share"] == 1.0
    assert [e["event"] for e in copier.events] == ["memorisation"]
    fresh = _Trainer(_Copier(train, copy=False))
    values = MemorisationMonitor(noise, train, max_share=0.1)(fresh)
    assert values["diag/near_copy_share"] == 0.0 and fresh.events == []


def test_a_zero_query_has_cosine_zero_not_one():
    from ganforge.core.metrics import nearest_neighbours

    reference = torch.rand(50, 30, generator=torch.Generator().manual_seed(0))
    query = torch.zeros(3, 30)
    query[1, 4] = 1.0
    found = nearest_neighbours(query, reference, 1, with_cosine=True)
    assert found.max_cosine[0] == 0 and found.max_cosine[2] == 0
    assert 0 < found.max_cosine[1] < 1
