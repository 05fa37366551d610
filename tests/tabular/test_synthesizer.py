import numpy as np
import pandas as pd
import pytest
import torch

from ganforge.core.checkpoint import CheckpointError
from ganforge.core.modelfile import load_model
from ganforge.tabular import DPTabularGAN


def tiny(**options) -> DPTabularGAN:
    return DPTabularGAN(epochs=1, batch_size=50, hidden=(16,), noise_dim=8, **options)


def test_samples_keep_columns_dtypes_and_valid_categories(table):
    synth = tiny(epsilon=None).fit(table)
    sample = synth.sample(300)
    assert list(sample.columns) == list(table.columns) and len(sample) == 300
    assert sample.dtypes.to_dict() == table.dtypes.to_dict()
    assert set(sample["city"]) <= {"oslo", "rome", "lima"}
    assert set(sample["grade"].cat.categories) == {"lo", "hi"}
    assert sample["count"].between(0, 49).all()
    assert sample["x"].between(table["x"].min(), table["x"].max()).all()
    assert synth.privacy.epsilon is None


def test_save_and_load_give_the_same_samples(table, tmp_path):
    synth = tiny(epsilon=None).fit(table)
    path = synth.save(tmp_path / "synth.pt")
    again = DPTabularGAN.load(path)
    pd.testing.assert_frame_equal(again.sample(100, seed=5), synth.sample(100, seed=5))
    assert again.privacy == synth.privacy
    file = load_model(path, DPTabularGAN.kind)  # read once, as the CLI's sample does
    from_file = DPTabularGAN.from_model_file(file, path)
    pd.testing.assert_frame_equal(from_file.sample(100, seed=5), synth.sample(100, seed=5))
    file.kind = "tabular-marginals"
    with pytest.raises(CheckpointError, match="holds a tabular-marginals model, not a tabular"):
        DPTabularGAN.from_model_file(file, path)


def test_loading_a_foreign_file_is_refused(tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        DPTabularGAN.load(path)


@pytest.mark.parametrize("epsilon", [0.0, -1.0, float("inf"), float("nan")])
def test_non_positive_or_infinite_epsilon_is_refused(epsilon):
    with pytest.raises(ValueError, match="epsilon must be a finite number > 0"):
        DPTabularGAN(epsilon=epsilon)


def test_a_table_smaller_than_two_batches_trains_with_a_quarter_of_its_rows(tmp_path):
    df = pd.DataFrame({"a": np.arange(30.0), "b": ["x", "y"] * 15})
    with pytest.warns(UserWarning, match="training with batch_size 7"):
        synth = tiny(epsilon=None).fit(df)
    assert synth.trainer.config.batch_size == 7 and len(synth.sample(10)) == 10
    # under DP 30 rows cannot pay for the range of `a`: refused before training, by name
    synth = tiny(epsilon=1.0)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="range of 1 column.*'a'"):
        synth.fit(df)
    assert synth.generator is None and synth.transformer is None
    with pytest.raises(ValueError, match="not fitted"):
        synth.save(tmp_path / "never.pt")
    assert not (tmp_path / "never.pt").exists()


def test_sampling_before_fit_is_a_clear_error():
    with pytest.raises(ValueError, match="not fitted"):
        tiny().sample(5)


def test_hard_samples_follow_the_softmax_not_its_argmax():
    from ganforge.tabular.networks import sample_one_hot

    logits = torch.log(torch.tensor([[0.1, 0.3, 0.6]])).expand(20_000, 3)
    draws = sample_one_hot(logits, torch.Generator().manual_seed(0))
    assert ((draws == 0) | (draws == 1)).all() and (draws.sum(1) == 1).all()
    # a minority category keeps its share (the argmax alone would give [0, 0, 1])
    torch.testing.assert_close(draws.mean(0), torch.tensor([0.1, 0.3, 0.6]), atol=0.015, rtol=0)
    again = sample_one_hot(logits, torch.Generator().manual_seed(0))
    assert torch.equal(draws, again)


def test_two_fits_with_the_same_seed_in_one_process_sample_the_same_rows(table):
    first = tiny(epsilon=None, seed=3).fit(table).sample(50)
    torch.manual_seed(12345)  # whatever the global RNG holds in between
    second = tiny(epsilon=None, seed=3).fit(table).sample(50)
    pd.testing.assert_frame_equal(first, second)
    third = tiny(epsilon=None, seed=4).fit(table).sample(50)
    assert not first.equals(third)


def test_model_files_of_another_kind_or_damaged_are_one_line_errors(table, tmp_path):
    from ganforge.core.modelfile import save_model

    other = save_model(tmp_path / "o.pt", "medsr.MedicalSR", {}, {})
    with pytest.raises(CheckpointError, match="holds a medsr.MedicalSR model"):
        DPTabularGAN.load(other)
    path = tiny(epsilon=None).fit(table).save(tmp_path / "s.pt")
    raw = torch.load(path, weights_only=True)
    del raw["extra"]["transformer"]
    torch.save(raw, path)
    with pytest.raises(CheckpointError, match="damaged tabular.DPTabularGAN model") as caught:
        DPTabularGAN.load(path)
    assert "\n" not in str(caught.value)
