"""LoaderBatches: DataLoader-backed, rank-aware batches that resume exactly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import Dataset

from ganforge.core.training import LoaderBatches, Trainer, TrainerConfig

WORKER = Path(__file__).with_name("loader_worker.py")


class Numbers(Dataset):
    """Sample ``i`` is ``[i, i^2]`` (a worker process computes it)."""

    def __init__(self, n: int = 50) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.tensor([float(index), float(index) ** 2])


def indices(batch: torch.Tensor) -> list[int]:
    return batch[:, 0].long().tolist()


def test_an_epoch_is_a_permutation_of_full_batches():
    source = LoaderBatches(Numbers(50), 8, seed=1)
    seen = [i for _ in range(6) for i in indices(source.next_batch())]  # 6 full batches of 8
    assert len(seen) == len(set(seen)) == 48 and set(seen) <= set(range(50))
    batch = source.next_batch()  # the seventh: a new epoch, in another order
    assert source.state_dict() == {"epoch": 1, "position": 1}
    assert torch.equal(batch[:, 1], batch[:, 0] ** 2)


def test_resume_mid_epoch_with_two_workers_gives_the_identical_continuation():
    straight = LoaderBatches(Numbers(), 4, seed=7, workers=2)
    for _ in range(5):
        straight.next_batch()
    state = straight.state_dict()
    expected = [straight.next_batch() for _ in range(12)]  # runs across the epoch boundary
    resumed = LoaderBatches(Numbers(), 4, seed=7, workers=2)
    resumed.load_state_dict(state)
    for want in expected:
        assert torch.equal(resumed.next_batch(), want)


def test_ranks_take_disjoint_shares_of_the_single_process_global_batch():
    single = LoaderBatches(Numbers(48), 8, seed=2)
    ranks = [LoaderBatches(Numbers(48), 4, seed=2, rank=r, world_size=2) for r in range(2)]
    for _ in range(6):
        whole = indices(single.next_batch())
        shares = [indices(source.next_batch()) for source in ranks]
        assert shares[0] + shares[1] == whole


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="larger than the data"):
        LoaderBatches(Numbers(10), 8, world_size=2)
    with pytest.raises(ValueError, match="rank 2 is not in"):
        LoaderBatches(Numbers(10), 2, rank=2, world_size=2)


def test_the_trainer_resumes_a_loader_source_exactly(tmp_path):
    from ganforge.core.recipes import ring_recipe

    class Ring(Dataset):
        def __init__(self) -> None:
            generator = torch.Generator().manual_seed(0)
            self.points = torch.randn(64, 2, generator=generator)

        def __len__(self) -> int:
            return 64

        def __getitem__(self, index: int) -> torch.Tensor:
            return self.points[index]

    def run(run_dir: Path, resume_from: Path | None = None) -> Trainer:
        torch.manual_seed(0)
        module = ring_recipe("ns_r1", batch_size=8, width=8)
        config = TrainerConfig(
            iterations=10,
            batch_size=8,
            run_dir=run_dir,
            checkpoint_every=3,
            keep_checkpoints=5,
            progress=False,
            tensorboard=False,
        )
        source = LoaderBatches(Ring(), 8, seed=4, workers=2)
        return Trainer(module, config).fit(source, resume_from=resume_from)

    straight = run(tmp_path / "a")
    resumed = run(tmp_path / "b", tmp_path / "a" / "checkpoint_00000006.pt")
    for name, net in straight.module.networks.items():
        for key, value in net.state_dict().items():
            assert torch.equal(value, resumed.module.networks[name].state_dict()[key]), key


@pytest.mark.ddp
def test_two_gloo_ranks_read_disjoint_batches(tmp_path):
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(WORKER),
        str(tmp_path),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    first, second = (
        torch.load(tmp_path / f"rank{r}.pt", weights_only=True).tolist() for r in range(2)
    )
    assert len(first) == len(second) == 16
    assert not set(first) & set(second)  # no sample read twice in the same batches
    single = LoaderBatches(Numbers(40), 8, seed=3)  # the worker's dataset and seed, one process
    for k in range(4):
        whole = [i for i in indices(single.next_batch())]
        assert first[4 * k : 4 * k + 4] + second[4 * k : 4 * k + 4] == whole


def test_a_dataset_with_set_epoch_is_told_the_epoch_in_its_workers():
    class EpochTagged(Numbers):
        epoch = -1

        def set_epoch(self, epoch: int) -> None:
            self.epoch = epoch

        def __getitem__(self, index: int) -> torch.Tensor:
            return torch.tensor([float(index), float(self.epoch)])

    source = LoaderBatches(EpochTagged(8), 4, seed=0, workers=2)
    epochs = [source.next_batch()[:, 1].unique().tolist() for _ in range(5)]
    assert epochs == [[0.0], [0.0], [1.0], [1.0], [2.0]]
