import pytest
import torch

from ganforge.core.training import Trainer, TrainerConfig
from ganforge.medsr import Degradation, PairedPatchSource, synthetic_images
from ganforge.medsr.networks import GeneratorConfig, PatchLogits, SRGenerator
from ganforge.medsr.training import MedicalSR, MedSRModule, load_model, save_model

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
    both = MedSRModule(g, d, stage="both", pretrain_iterations=7).phases()
    assert [(p.name, p.iterations) for p in both] == [("pretrain", 7), ("adversarial", None)]
    assert [s.name for s in both[1].steps] == ["D", "G"]
    assert [p.name for p in MedSRModule(g, stage="pretrain").phases()] == ["pretrain"]
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


def test_roi_mask_batches_add_the_roi_term():
    g = SRGenerator(TINY)
    lr, hr = _source().next_batch()
    out = MedSRModule(g, stage="pretrain").pixel_step((lr, hr, torch.ones_like(hr)), None)
    assert "roi" in out and float(out["roi"]) >= 0


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
