import pytest
import torch
import torch.nn.functional as F

from ganforge.medsr.losses import (
    LossWeights,
    PerceptualLoss,
    RandomFeatures,
    VGGFeatures,
    gradient_difference_loss,
    gradient_magnitude,
    pixel_losses,
    roi_loss,
    weighted_total,
)


def test_seed_default_weights():
    assert LossWeights().to_dict() == {
        "l1": 1.0,
        "perceptual": 0.1,
        "adversarial": 0.001,
        "gradient": 1.0,
        "roi": 1.0,
    }
    with pytest.raises(ValueError, match="loss weight l1"):
        LossWeights(l1=-1)


def test_gradient_difference_loss_hand_computed():
    # pred: a step of height 1 between columns 1 and 2; target: flat
    pred = torch.tensor([[0.0, 0.0, 1.0, 1.0]] * 3)[None, None]
    target = torch.zeros(1, 1, 3, 4)
    # x-differences: one |1| in each of 3 rows of 3 -> mean 1/3; y-differences all 0 -> 0
    assert torch.isclose(gradient_difference_loss(pred, target), torch.tensor(1 / 6))
    # invariant to a constant offset and to a sign flip of the edge
    assert float(gradient_difference_loss(pred + 5, 1 - pred)) == 0.0


def test_gradient_magnitude_of_a_ramp():
    ramp = torch.arange(5.0).repeat(4, 1)[None, None]
    assert torch.isclose(gradient_magnitude(ramp), torch.tensor(1.0))


def test_roi_loss_only_counts_the_roi():
    pred, target = torch.ones(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1
    assert torch.isclose(roi_loss(pred, target, mask), torch.tensor(0.5))
    assert float(roi_loss(pred, target, None)) == 0.0


def test_pixel_losses_and_weighted_total():
    pred, target = torch.full((1, 1, 4, 4), 0.5), torch.zeros(1, 1, 4, 4)
    terms = pixel_losses(pred, target, torch.ones(1, 1, 4, 4))
    assert set(terms) == {"l1", "gradient", "roi"}
    assert torch.isclose(terms["l1"], torch.tensor(0.5))
    assert torch.isclose(terms["roi"], torch.tensor(0.25))
    total = weighted_total(terms, LossWeights(l1=2.0, roi=4.0))
    assert torch.isclose(total, torch.tensor(2.0))
    assert "roi" not in pixel_losses(pred, target)


@pytest.mark.parametrize("dims", [2, 3])
def test_random_feature_perceptual_fallback(dims):
    loss = PerceptualLoss(dims)
    assert loss.kind == "random_features"
    x = torch.rand(2, 1, *([16] * dims))
    assert float(loss(x, x)) == 0.0
    assert float(loss(x, x.flip(-1))) > 0
    # fixed weights: independent of the global RNG
    torch.manual_seed(123)
    other = RandomFeatures(dims)
    assert all(
        torch.equal(a, b)
        for a, b in zip(other.parameters(), loss.extractor.parameters(), strict=True)
    )
    assert not any(p.requires_grad for p in loss.parameters())


def test_perceptual_loss_is_differentiable_wrt_prediction():
    x = torch.rand(1, 1, 16, 16, requires_grad=True)
    PerceptualLoss(2)(x, torch.zeros(1, 1, 16, 16)).backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_vgg_features_from_local_weights(tmp_path):
    from torchvision.models import vgg19

    torch.save(vgg19(weights=None).state_dict(), tmp_path / "vgg19.pth")
    loss = PerceptualLoss(2, vgg_weights=tmp_path / "vgg19.pth")
    assert loss.kind == "vgg19"
    x = torch.rand(1, 1, 32, 32)
    assert float(loss(x, x)) == 0.0
    assert len(loss.extractor(x)) == 4
    # volumes: slices along the last axis
    assert loss.extractor(torch.rand(1, 1, 16, 16, 3))[0].shape[0] == 3


def test_vgg_weights_errors(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        VGGFeatures(tmp_path / "none.pth")
    torch.save({"w": torch.zeros(2)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="not a torchvision VGG19"):
        VGGFeatures(tmp_path / "bad.pth")


def test_l1_term_matches_torch():
    a, b = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8)
    assert torch.isclose(pixel_losses(a, b)["l1"], F.l1_loss(a, b))
