import shutil

import pytest
import torch

from ganforge.core.training import Trainer, TrainerConfig
from ganforge.medsr import Degradation, LossWeights, PairedPatchSource, synthetic_images
from ganforge.medsr.losses import roi_loss
from ganforge.medsr.networks import GeneratorConfig, PatchLogits, SRGenerator
from ganforge.medsr.training import (
    PRETRAIN_ITERATIONS,
    MedicalSR,
    MedSRModule,
    load_model,
    save_model,
)

TINY = GeneratorConfig(channels=8, num_blocks=1, growth=8)


def _source(seed=0):
    return PairedPatchSource(
        synthetic_images(4, 48, seed=seed), Degradation("psf", 2), patch_size=24, batch_size=4
    )


def _config(iterations, **kwargs):
    return TrainerConfig(
        iterations=iterations,
        batch_size=4,
        device="cpu",
        progress=False,
        tensorboard=False,
        log_every=1,
        **kwargs,
    )


def test_schedule_of_each_stage():
    g, d = SRGenerator(TINY), PatchLogits(2, channels=4)
    module = MedSRModule(
        g, d, stage="both", pretrain_iterations=7, g_lr=1e-3, adversarial_g_lr=3e-4
    )
    both = module.phases()
    assert [(p.name, p.iterations) for p in both] == [("pretrain", 7), ("adversarial", None)]
    assert [s.name for s in both[1].steps] == ["keep_pretrained", "D", "G"]
    assert [s.optimizer for s in both[0].steps] == ["G_pixel"]
    assert both[0].steps[0].network_names == ("G",)  # so the EMA follows pretraining too
    optimizers = module.build_optimizers()
    assert {k: o.param_groups[0]["lr"] for k, o in optimizers.items()} == {
        "G_pixel": 1e-3,
        "G": 3e-4,
        "D": 1e-4,
    }
    assert [p.name for p in MedSRModule(g, stage="pretrain").phases()] == ["pretrain"]
    assert set(MedSRModule(g, stage="pretrain").build_optimizers()) == {"G_pixel"}
    assert set(MedSRModule(g, d, stage="adversarial").build_optimizers()) == {"G", "D"}
    assert MedSRModule(g, d).pretrain_iterations == PRETRAIN_ITERATIONS == 2000
    with pytest.raises(ValueError, match="needs a discriminator"):
        MedSRModule(g, stage="adversarial")
    with pytest.raises(ValueError, match="stage must be one of"):
        MedSRModule(g, d, stage="gan")


def test_pretraining_lowers_the_pixel_loss():
    torch.manual_seed(0)
    generator = SRGenerator(TINY)
    lr, hr = _source(seed=5).next_batch()
    with torch.no_grad():
        before = float(torch.nn.functional.l1_loss(generator(lr), hr))
    Trainer(MedSRModule(generator, stage="pretrain", g_lr=3e-3), _config(120)).fit(_source())
    with torch.no_grad():
        after = float(torch.nn.functional.l1_loss(generator(lr), hr))
    assert after < 0.9 * before


def test_adversarial_step_logs_every_loss_term_and_updates_both_networks():
    torch.manual_seed(0)
    g, d = SRGenerator(TINY), PatchLogits(2, channels=4)
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in (("G", g), ("D", d))}
    trainer = Trainer(MedSRModule(g, d, stage="adversarial"), _config(2)).fit(_source())
    record = trainer.history[-1]
    for key in (
        "D/loss",
        "D/adversarial",
        "G/l1",
        "G/gradient",
        "G/perceptual",
        "G/adversarial",
        "G/loss",
    ):
        assert key in record and torch.isfinite(torch.tensor(record[key]))
    expected = record["G/l1"] + 0.1 * record["G/perceptual"] + 0.001 * record["G/adversarial"]
    expected += record["G/gradient"]
    assert record["G/loss"] == pytest.approx(expected, rel=1e-5)
    for name, net in (("G", g), ("D", d)):
        assert any(
            not torch.equal(a, b) for a, b in zip(before[name], net.parameters(), strict=True)
        )


def test_roi_loss_by_hand():
    pred = torch.zeros(1, 1, 2, 2)
    target = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 0.5]]]])
    # ((1 * 1)^2 + 0 + 0 + (0.5 * 4)^2) / 4 voxels
    assert float(roi_loss(pred, target, mask)) == pytest.approx(1.25)
    assert float(roi_loss(pred, target, None)) == 0


def test_a_partial_roi_mask_adds_its_hand_computed_term_to_the_loss():
    torch.manual_seed(0)
    g = SRGenerator(TINY)
    lr, hr = _source().next_batch()
    mask = torch.zeros_like(hr)
    mask[..., :10, :] = 1.0  # the top 10 of 24 rows
    module = MedSRModule(g, stage="pretrain", weights=LossWeights(roi=2.0))
    plain = module.pixel_step((lr, hr), None)
    masked = module.pixel_step((lr, hr, mask), None)
    with torch.no_grad():
        error = g(lr) - hr
    inside = float((error[..., :10, :] ** 2).sum() / error.numel())
    assert float(masked["roi"]) == pytest.approx(inside, rel=1e-5)
    # the total grows by exactly weights.roi times the term; the other terms are untouched
    added = float(masked["loss"].detach() - plain["loss"].detach())
    assert added == pytest.approx(2.0 * inside, rel=1e-4)
    assert float(masked["l1"]) == float(plain["l1"])
    whole = module.pixel_step((lr, hr, torch.ones_like(hr)), None)
    assert float(whole["roi"]) == pytest.approx(float((error**2).mean()), rel=1e-5)
    assert float(masked["roi"]) < float(whole["roi"])


def test_two_stage_fit_keeps_both_generators_and_files(tmp_path):
    sr = MedicalSR(scale=2, degradation="psf", generator=TINY, device="cpu")
    sr.fit(
        synthetic_images(4, 48),
        pretrain_iterations=3,
        adversarial_iterations=2,
        batch_size=2,
        patch_size=24,
        run_dir=tmp_path,
        progress=False,
    )
    assert set(sr.generators) == {"pretrain", "adversarial"}
    assert (tmp_path / "psnr_model.pt").is_file() and (tmp_path / "gan_model.pt").is_file()
    pre, _, stage = load_model(tmp_path / "psnr_model.pt")
    assert stage == "pretrain"
    state = sr.generators["pretrain"].state_dict()
    assert all(torch.equal(state[k], v) for k, v in pre.state_dict().items())
    gan = sr.generators["adversarial"].state_dict()
    assert any(not torch.equal(state[k], gan[k]) for k in state)
    with pytest.raises(ValueError, match="has not been trained"):
        MedicalSR(generator=TINY).save(tmp_path / "x.pt")


def test_model_file_round_trip_and_errors(tmp_path):
    g = SRGenerator(GeneratorConfig(scale=4, channels=4, num_blocks=1, growth=4))
    save_model(tmp_path / "m.pt", g, Degradation("kspace", 4), "pretrain")
    loaded, degradation, stage = load_model(tmp_path / "m.pt")
    assert loaded.scale == 4 and degradation == Degradation("kspace", 4) and stage == "pretrain"
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable model file"):
        load_model(tmp_path / "junk.pt")
    torch.save({"a": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a ganforge medsr model"):
        load_model(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="no such model file"):
        load_model(tmp_path / "missing.pt")


def test_r1_penalty_from_the_core_is_added_to_the_discriminator_loss():
    torch.manual_seed(0)
    g, d = SRGenerator(TINY), PatchLogits(2, channels=4)
    batch = _source().next_batch()
    plain = MedSRModule(g, d, stage="adversarial").d_step(batch, None)
    with_r1 = MedSRModule(g, d, stage="adversarial", r1_weight=10.0).d_step(batch, None)
    assert "r1" not in plain and float(with_r1["r1"]) > 0
    assert torch.isclose(with_r1["loss"], with_r1["adversarial"] + with_r1["r1"])
    assert torch.isclose(plain["adversarial"], with_r1["adversarial"])
    with pytest.raises(ValueError, match="r1_weight"):
        MedSRModule(g, d, r1_weight=-1)


def test_fit_with_roi_masks_trains_the_roi_term():
    hr = synthetic_images(2, 48)
    sr = MedicalSR(scale=2, degradation="psf", generator=TINY, device="cpu")
    sr.fit(hr, 2, 0, batch_size=2, patch_size=24, progress=False, roi=(hr > 0.3).float())
    rows = sr.history["pretrain"]
    assert len(rows) == 2 and all(row["G_pixel/roi"] > 0 for row in rows)
    # the logged total is the seed's weighted sum with the ROI term in it (weights 1 / 1 / 1)
    total = rows[0]["G_pixel/l1"] + rows[0]["G_pixel/gradient"] + rows[0]["G_pixel/roi"]
    assert rows[0]["G_pixel/loss"] == pytest.approx(total, rel=1e-5)
    plain = MedicalSR(scale=2, degradation="psf", generator=TINY, device="cpu")
    plain.fit(hr, 2, 0, batch_size=2, patch_size=24, progress=False)
    assert not any("G_pixel/roi" in row for row in plain.history["pretrain"])


def _fit(run_dir=None, **kwargs):
    sr = MedicalSR(scale=2, degradation="psf", generator=TINY, device="cpu", seed=1)
    arguments = dict(batch_size=2, patch_size=24, progress=False, run_dir=run_dir, g_lr=1e-3)
    return sr.fit(synthetic_images(3, 48), **{**arguments, **kwargs})


def _same_weights(a, b):
    return all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


@pytest.mark.parametrize("pretrain,checkpoint", [(7, 6), (5, 6)])
def test_fit_resumed_from_a_checkpoint_gives_the_identical_generators(
    tmp_path, pretrain, checkpoint
):
    """Both stages are one run: resuming in pretraining (7, 6) or after it (5, 6), where
    the pretrained generator comes back from the checkpoint, gives the same two models."""
    schedule = {"pretrain_iterations": pretrain, "adversarial_iterations": 8 - pretrain}
    whole = _fit(tmp_path / "whole", checkpoint_every=2, **schedule)
    killed = tmp_path / "killed"
    killed.mkdir()
    shutil.copy(tmp_path / "whole" / f"checkpoint_{checkpoint:08d}.pt", killed / "latest.pt")
    resumed = _fit(killed, checkpoint_every=2, resume_from=killed / "latest.pt", **schedule)
    for stage in ("pretrain", "adversarial"):
        assert _same_weights(whole.generators[stage], resumed.generators[stage]), stage
    assert not _same_weights(whole.generators["pretrain"], whole.generators["adversarial"])
    for name in ("psnr_model.pt", "gan_model.pt"):
        assert (tmp_path / "whole" / name).read_bytes() == (killed / name).read_bytes()
    resumed_rows = [r["iteration"] for rows in resumed.history.values() for r in rows]
    assert resumed_rows == [7, 8]  # it went on from the checkpoint, not from the start


def test_one_run_of_two_phases_logs_each_stage():
    sr = _fit(pretrain_iterations=3, adversarial_iterations=2)
    assert [r["iteration"] for r in sr.history["pretrain"]] == [1, 2, 3]
    assert [r["iteration"] for r in sr.history["adversarial"]] == [4, 5]
    assert all("G_pixel/l1" in r for r in sr.history["pretrain"])
    assert all("D/adversarial" in r and "G/perceptual" in r for r in sr.history["adversarial"])
    only_gan = _fit(pretrain_iterations=0, adversarial_iterations=1)
    assert set(only_gan.generators) == {"adversarial"}


@pytest.mark.parametrize(
    "arguments,message",
    [
        ({"pretrain_iterations": 0, "adversarial_iterations": 0}, "nothing to train"),
        ({"pretrain_iterations": -1}, "pretrain_iterations must be an integer >= 0"),
        ({"adversarial_iterations": 1.5}, "adversarial_iterations must be an integer"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"patch_size": 0}, "positive multiple of the scale 2"),
        ({"patch_size": -24}, "positive multiple of the scale 2"),
        ({"patch_size": 25}, "positive multiple of the scale 2"),
        ({"patch_size": 16}, "use at least 24"),
        ({"patch_size": 64}, "smaller than patch_size"),
    ],
)
def test_bad_fit_arguments_fail_before_anything_is_written(tmp_path, arguments, message):
    schedule = {"pretrain_iterations": 1, "adversarial_iterations": 1}
    with pytest.raises(ValueError, match=message):
        _fit(tmp_path / "run", **{**schedule, **arguments})
    assert not (tmp_path / "run").exists()


def test_a_small_patch_is_fine_without_the_adversarial_stage():
    sr = _fit(pretrain_iterations=1, adversarial_iterations=0, patch_size=8)
    assert set(sr.generators) == {"pretrain"}


def test_the_discriminator_minimum_patch_size():
    d = PatchLogits(2, channels=4)
    assert d.min_size == 24
    assert d(torch.rand(2, 1, 24, 24)).shape == (2, 1, 1, 1)
    with pytest.raises(ValueError):
        d(torch.rand(2, 1, 22, 22))


@pytest.mark.parametrize(
    "device,message",
    [("tpu", "unknown device 'tpu'"), ("cuda:99", "'cuda:99'"), ("gpu", "unknown device")],
)
def test_an_unknown_or_absent_device_is_refused_up_front(device, message):
    with pytest.raises(ValueError, match=message):
        MedicalSR(generator=TINY, device=device)


def test_vgg_weights_are_checked_up_front(tmp_path):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pth")
    torch.save({"features.0.weight": 1.0}, tmp_path / "numbers.pth")
    torch.save({"features.0.weight": torch.zeros(3)}, tmp_path / "wrong.pth")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    cases = {
        "module.pth": "weights_only",
        "numbers.pth": "state dict of tensors",
        "wrong.pth": "not a torchvision VGG19 state dict",
        "junk.safetensors": "cannot be loaded safely",
        "missing.pth": "not found",
    }
    for name, message in cases.items():
        with pytest.raises(ValueError, match=message):
            MedicalSR(generator=TINY, vgg_weights=tmp_path / name)
