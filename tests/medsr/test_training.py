import shutil

import numpy as np
import pytest
import torch

from ganforge.core.checkpoint import CheckpointError
from ganforge.core.modelfile import FORMAT_VERSION, save_model
from ganforge.core.training import Phase, Trainer, TrainerConfig
from ganforge.medsr import (
    PRETRAIN_ITERATIONS,
    Degradation,
    LossWeights,
    MedicalSR,
    MedicalSRSpec,
    MedSRModule,
    PairedPatchSource,
    synthetic_images,
)
from ganforge.medsr.losses import roi_loss
from ganforge.medsr.networks import GeneratorConfig, PatchLogits, SRGenerator

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
    assert [s.name for s in both[1].steps] == ["D", "G"]
    assert both[0].on_enter is None and both[1].on_enter == module.keep_pretrained
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
    assert MedicalSRSpec().pretrain_iterations == PRETRAIN_ITERATIONS
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


def _parameters(module):
    return {
        name: [p.detach().clone() for p in n.parameters()] for name, n in module.networks.items()
    }


def test_every_step_of_every_phase_trains_its_own_networks_and_no_other():
    """Each step alone on the real trainer (two iterations, so gradients reach past the
    zero-initialised output layer): every parameter of the step's networks moves, and
    no parameter of any other network."""
    places = [(i, j) for i, p in enumerate(_both_stages().phases()) for j in range(len(p.steps))]
    assert len(places) == 3  # pretrain: G_pixel; adversarial: D, G
    for i, j in places:
        module = _both_stages()
        phase = module.phases()[i]
        step = phase.steps[j]
        module.phases = lambda phase=phase, step=step: [Phase(phase.name, [step])]
        before = _parameters(module)
        Trainer(module, _config(2)).fit(_source())
        for name, after in _parameters(module).items():
            moved = [not torch.equal(a, b) for a, b in zip(before[name], after, strict=True)]
            where = f"{phase.name}/{step.name}"
            if name in step.network_names:
                assert all(moved), f"{where} left parameters of {name} unchanged"
            else:
                assert not any(moved), f"{where} changed {name}"


def _both_stages():
    torch.manual_seed(0)
    g, d = SRGenerator(TINY), PatchLogits(2, channels=4)
    return MedSRModule(g, d, stage="both", pretrain_iterations=2, g_lr=1e-3, d_lr=1e-3)


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


def _model(**settings):
    base = dict(scale=2, degradation="psf", generator=TINY, device="cpu", batch_size=2)
    base.update(patch_size=24, g_lr=1e-3, seed=1)
    return MedicalSR(**{**base, **settings})


def test_two_stage_fit_keeps_both_generators_and_files(tmp_path):
    sr = _model(pretrain_iterations=3, adversarial_iterations=2)
    sr.fit(synthetic_images(4, 48), run_dir=tmp_path, progress=False)
    assert set(sr.generators) == {"pretrain", "adversarial"}
    assert (tmp_path / "psnr_model.pt").is_file() and (tmp_path / "gan_model.pt").is_file()
    pre = MedicalSR.load(tmp_path / "psnr_model.pt")
    assert list(pre.generators) == ["pretrain"] and pre.spec == sr.spec
    assert _same_weights(sr.generator("pretrain"), pre.generator())
    assert not _same_weights(sr.generator("pretrain"), sr.generator("adversarial"))
    with pytest.raises(ValueError, match="not fitted"):
        MedicalSR(generator=TINY).save(tmp_path / "x.pt")
    only_psnr = _model(pretrain_iterations=1, adversarial_iterations=0, patch_size=8)
    only_psnr.fit(synthetic_images(2, 16), progress=False)
    with pytest.raises(ValueError, match="'adversarial' has not been trained"):
        only_psnr.save(tmp_path / "x.pt", stage="adversarial")


def _saved(tmp_path, scale=4):
    sr = MedicalSR(scale=scale, degradation="kspace", generator=GeneratorConfig(channels=4))
    sr.generators = {"pretrain": SRGenerator(sr.spec.generator)}
    return sr.save(tmp_path / "m.pt")


def test_model_file_round_trip(tmp_path):
    loaded = MedicalSR.load(_saved(tmp_path), device="cpu")
    assert loaded.degradation == Degradation("kspace", 4)
    assert list(loaded.generators) == ["pretrain"]
    assert loaded.spec.device == "cpu" and loaded.generator().scale == 4
    assert loaded.enhancer(tta=False).device == torch.device("cpu")


def _rewritten(path, change):
    raw = torch.load(path, weights_only=True)
    change(raw)
    torch.save(raw, path)
    return path


def _bad_model_files(tmp_path):
    """Model files that are wrong in every way a user may meet, by the expected error."""
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(_saved(tmp_path).read_bytes()[:1000])
    other = save_model(tmp_path / "other.pt", "tabular.DPTabularGAN", {"epsilon": 1.0}, {})
    newer = _rewritten(_saved(tmp_path), lambda raw: raw.update(format_version=FORMAT_VERSION + 1))
    newer = newer.rename(tmp_path / "newer.pt")
    no_state = _rewritten(_saved(tmp_path), lambda raw: raw.pop("state"))
    no_state = no_state.rename(tmp_path / "no_state.pt")
    wrong_net = _rewritten(_saved(tmp_path), lambda raw: raw["state"].update(generator={}))
    wrong_net = wrong_net.rename(tmp_path / "wrong_net.pt")
    torch.save({"a": 1}, tmp_path / "plain.pt")
    return {
        tmp_path / "missing.pt": "no checkpoint at",
        tmp_path / "junk.pt": "is not a loadable checkpoint",
        truncated: "is not a loadable checkpoint",
        other: "holds a tabular.DPTabularGAN model, not a medsr.MedicalSR model",
        newer: f"has model format {FORMAT_VERSION + 1}, newer than this ganforge reads",
        no_state: "lacks state",
        wrong_net: "is a damaged medsr.MedicalSR model",
        tmp_path / "plain.pt": "is not a ganforge model file",
    }


def test_every_bad_model_file_is_a_one_line_checkpoint_error(tmp_path):
    for path, message in _bad_model_files(tmp_path).items():
        with pytest.raises(CheckpointError, match=message) as error:
            MedicalSR.load(path)
        assert "\n" not in str(error.value), path


def test_a_loaded_model_runs_where_it_is_asked_to(tmp_path):
    path = _saved(tmp_path, scale=2)
    assert MedicalSR.load(path).generator().head.weight.device.type == (
        "cuda" if torch.cuda.is_available() else "cpu"
    )
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        MedicalSR.load(path, device="tpu")


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
    sr = _model(pretrain_iterations=2, adversarial_iterations=0)
    rows = sr.fit(hr, roi=(hr > 0.3).float(), progress=False).history
    assert len(rows) == 2 and all(row["G_pixel/roi"] > 0 for row in rows)
    # the logged total is the seed's weighted sum with the ROI term in it (weights 1 / 1 / 1)
    total = rows[0]["G_pixel/l1"] + rows[0]["G_pixel/gradient"] + rows[0]["G_pixel/roi"]
    assert rows[0]["G_pixel/loss"] == pytest.approx(total, rel=1e-5)
    plain = _model(pretrain_iterations=2, adversarial_iterations=0).fit(hr, progress=False)
    assert not any("G_pixel/roi" in row for row in plain.history)


def _fit(run_dir=None, **settings):
    options = {k: settings.pop(k) for k in ("checkpoint_every", "resume_from") if k in settings}
    model = _model(**settings)
    return model.fit(synthetic_images(3, 48), progress=False, run_dir=run_dir, **options)


def _same_weights(a, b):
    return all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


@pytest.mark.parametrize("pretrain,checkpoint", [(7, 6), (5, 6), (6, 6)])
def test_fit_resumed_from_a_checkpoint_gives_the_identical_generators(
    tmp_path, pretrain, checkpoint
):
    """Both stages are one run: resuming in pretraining (7, 6), after it (5, 6), where
    the pretrained generator comes back from the checkpoint, or at its very end (6, 6),
    gives the same two models."""
    schedule = {"pretrain_iterations": pretrain, "adversarial_iterations": 8 - pretrain}
    whole = _fit(tmp_path / "whole", checkpoint_every=2, **schedule)
    killed = tmp_path / "killed"
    killed.mkdir()
    shutil.copy(tmp_path / "whole" / f"checkpoint_{checkpoint:08d}.pt", killed / "latest.pt")
    resumed = _fit(killed, checkpoint_every=2, resume_from=killed / "latest.pt", **schedule)
    for stage in ("pretrain", "adversarial"):
        assert _same_weights(whole.generator(stage), resumed.generator(stage)), stage
    assert not _same_weights(whole.generator("pretrain"), whole.generator("adversarial"))
    for name in ("psnr_model.pt", "gan_model.pt"):
        assert (tmp_path / "whole" / name).read_bytes() == (killed / name).read_bytes()
    assert [r["iteration"] for r in resumed.history] == [7, 8]  # it went on from the checkpoint


def test_one_run_of_two_phases_logs_each_stage():
    sr = _fit(pretrain_iterations=3, adversarial_iterations=2)
    assert [r["iteration"] for r in sr.stage_history("pretrain")] == [1, 2, 3]
    assert [r["iteration"] for r in sr.stage_history("adversarial")] == [4, 5]
    assert all("G_pixel/l1" in r for r in sr.stage_history("pretrain"))
    assert all(
        "D/adversarial" in r and "G/perceptual" in r for r in sr.stage_history("adversarial")
    )
    only_gan = _fit(pretrain_iterations=0, adversarial_iterations=1)
    assert set(only_gan.generators) == {"adversarial"}


def test_two_fits_with_one_seed_are_identical_whatever_the_global_rng_held():
    schedule = {"pretrain_iterations": 2, "adversarial_iterations": 2, "seed": 4}
    torch.manual_seed(123)
    np.random.seed(123)
    first = _fit(**schedule)
    torch.rand(1000), np.random.rand(1000)  # the global generators move on
    second = _fit(**schedule)
    for stage in ("pretrain", "adversarial"):
        assert _same_weights(first.generator(stage), second.generator(stage)), stage
    other = _fit(**{**schedule, "seed": 5})
    assert not _same_weights(first.generator("adversarial"), other.generator("adversarial"))


def test_the_psnr_model_does_not_depend_on_whether_an_adversarial_stage_follows():
    both = _fit(pretrain_iterations=3, adversarial_iterations=2, seed=4)
    alone = _fit(pretrain_iterations=3, adversarial_iterations=0, seed=4)
    assert _same_weights(both.generator("pretrain"), alone.generator("pretrain"))


def test_the_gan_model_is_the_moving_average_of_the_generator_weights():
    """With ``ema_decay`` the adversarial stage's generator is the trainer's EMA: after
    one adversarial step of a one-step pretraining it is, weight by weight, the
    hand-computed average d * w1 + (1 - d) * w2 of the two steps' weights."""
    schedule = {"pretrain_iterations": 1, "adversarial_iterations": 1, "seed": 4}
    averaged = _fit(**schedule, ema_decay=0.9)
    last = _fit(**schedule, ema_decay=None)
    after_pretraining = last.generator("pretrain").state_dict()
    after_adversarial = last.generator("adversarial").state_dict()
    for name, value in averaged.generator("adversarial").state_dict().items():
        expected = 0.9 * after_pretraining[name] + 0.1 * after_adversarial[name]
        torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-7)
    assert not _same_weights(averaged.generator("adversarial"), last.generator("adversarial"))
    assert _same_weights(averaged.generator("pretrain"), last.generator("pretrain"))
    assert MedicalSR().spec.ema_decay == 0.999


def test_a_pretraining_only_fit_keeps_no_moving_average():
    alone = _fit(pretrain_iterations=2, adversarial_iterations=0, patch_size=8)
    assert alone.trainer.ema is None and list(alone.generators) == ["pretrain"]


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"pretrain_iterations": 0, "adversarial_iterations": 0}, "nothing to train"),
        ({"ema_decay": 1.0}, r"ema_decay must be in \(0, 1\) or None, got 1.0"),
        ({"ema_decay": "0.9"}, r"ema_decay must be in \(0, 1\) or None"),
        ({"pretrain_iterations": -1}, "pretrain_iterations must be an integer >= 0"),
        ({"adversarial_iterations": 1.5}, "adversarial_iterations must be an integer"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"patch_size": 0}, "positive multiple of the scale 2"),
        ({"patch_size": -24}, "positive multiple of the scale 2"),
        ({"patch_size": 25}, "positive multiple of the scale 2"),
        ({"patch_size": 16}, "use at least 24"),
        ({"scale": 3}, r"scale must be one of \(2, 4\), got 3"),
        ({"g_lr": 0}, "g_lr must be a finite number > 0"),
        ({"r1_weight": -1}, "r1_weight must be >= 0"),
        ({"noise_std": float("nan")}, "noise_std must be a finite number"),
        ({"adversarial_loss": "dice"}, "unknown loss 'dice'"),
        ({"spatial_dims": 3, "degradation": "bicubic"}, "bicubic degradation is 2-D only"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"device": 0}, "device must be auto, cpu, cuda or cuda:N"),
        ({"epochs": 3}, r"unknown settings \['epochs'\]"),
    ],
)
def test_bad_settings_are_refused_on_construction(settings, message):
    schedule = {"pretrain_iterations": 1, "adversarial_iterations": 1}
    with pytest.raises(ValueError, match=message):
        _model(**{**schedule, **settings})


def test_data_that_does_not_fit_fails_before_anything_is_written(tmp_path):
    schedule = {"pretrain_iterations": 1, "adversarial_iterations": 1, "patch_size": 64}
    with pytest.raises(ValueError, match="smaller than patch_size"):
        _fit(tmp_path / "run", **schedule)
    assert not (tmp_path / "run").exists()


def test_fit_settings_replace_the_spec_and_are_checked():
    sr = _model(pretrain_iterations=1, adversarial_iterations=1)
    with pytest.raises(ValueError, match="nothing to train"):
        sr.fit(synthetic_images(2, 48), pretrain_iterations=0, adversarial_iterations=0)
    sr.fit(synthetic_images(2, 48), progress=False, adversarial_iterations=0, patch_size=8)
    assert sr.spec.adversarial_iterations == 0 and set(sr.generators) == {"pretrain"}


def test_a_small_patch_is_fine_without_the_adversarial_stage():
    sr = _fit(pretrain_iterations=1, adversarial_iterations=0, patch_size=8)
    assert set(sr.generators) == {"pretrain"}


def test_a_degradation_object_gives_its_kind_and_noise():
    sr = MedicalSR(scale=4, degradation=Degradation("psf", 4, noise_std=0.02), generator=TINY)
    assert sr.degradation == Degradation("psf", 4, 2, 0.02) and sr.spec.generator.scale == 4
    with pytest.raises(ValueError, match="differ from the model's"):
        MedicalSR(degradation=Degradation("psf", 4))


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
    with pytest.raises(ValueError, match=message):
        MedicalSRSpec(device=device)


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
