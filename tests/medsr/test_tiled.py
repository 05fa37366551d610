import pytest
import torch

from ganforge.medsr import tiled
from ganforge.medsr.networks import GeneratorConfig, SRGenerator, flops_per_output_voxel
from ganforge.medsr.tiled import margins, splits, tiled_forward, tiles, voxel_shuffle


def _generator(seed=0, **settings):
    torch.manual_seed(seed)
    generator = SRGenerator(GeneratorConfig(**settings)).eval()
    for p in generator.tail[-1].parameters():  # the zero-initialised last layer
        torch.nn.init.normal_(p, std=0.1)
    return generator


BENCH = dict(spatial_dims=3, scale=2, channels=16, num_blocks=2, block="residual")


def test_tiled_forward_equals_the_whole_volume_forward():
    # the bench's network on a volume cut into 3 x 3 x 3 body tiles and 6 x 6 x 6
    # upsampling sub-tiles: interior cuts on every axis and every image border
    generator = _generator(**BENCH)
    lr = torch.rand(1, 1, 30, 34, 26)
    with torch.no_grad():
        whole = generator(lr)
    fast = tiled_forward(generator, lr, tile=12, upsample_tile=6)
    assert fast.shape == whole.shape == (1, 1, 60, 68, 52)
    assert float((fast - whole).abs().max()) < 1e-5
    # the network does change the output: the comparison is not trilinear vs trilinear
    assert float((whole - generator.interpolate(lr)).abs().max()) > 0.01


@pytest.mark.parametrize(
    "settings, shape",
    [
        (
            dict(spatial_dims=2, scale=4, channels=8, num_blocks=1, block="rrdb", growth=4),
            (3, 1, 37, 29),
        ),
        (
            dict(spatial_dims=3, scale=4, channels=8, num_blocks=1, block="residual"),
            (2, 1, 11, 13, 9),
        ),
        (dict(spatial_dims=2, scale=2, channels=8, num_blocks=2, block="residual"), (2, 1, 40, 33)),
    ],
)
def test_tiled_forward_other_generators_and_batches(settings, shape):
    generator = _generator(**settings)
    lr = torch.rand(shape)
    with torch.no_grad():
        whole = generator(lr)
    for tile, sub in ((5, 5), (8, 3), (100, 100)):
        out = tiled_forward(generator, lr, tile=tile, upsample_tile=sub, batch=2)
        assert float((out - whole).abs().max()) < 1e-5


def test_margins_are_the_receptive_field_and_too_small_ones_are_refused(monkeypatch):
    generator = _generator(**BENCH)
    # head + 2 blocks x 2 convs + body conv = 6 LR convs; then the upsampling conv
    # (1 LR), its pooling (1 HR voxel before) and two tail convs (2 HR voxels)
    assert margins(generator) == (6, (3, 2))
    lr = torch.rand(1, 1, 20, 20, 20)
    monkeypatch.setattr(tiled, "margins", lambda g: (5, (3, 2)))
    with pytest.raises(RuntimeError, match="margin too small"):
        tiled_forward(generator, lr, tile=8, upsample_tile=4)


def test_tiles_cover_the_image_once():
    assert splits(197, 32) == [
        (0, 28),
        (28, 56),
        (56, 84),
        (84, 113),
        (113, 141),
        (141, 169),
        (169, 197),
    ]
    boxes = tiles((10, 7), tile=8, upsample_tile=4)
    covered = torch.zeros(10, 7, dtype=torch.int64)
    for (lo, hi), parts in boxes:
        for sub_lo, sub_hi in parts:
            assert all(a <= s and t <= b for a, b, s, t in zip(lo, hi, sub_lo, sub_hi, strict=True))
            covered[sub_lo[0] : sub_hi[0], sub_lo[1] : sub_hi[1]] += 1
    assert bool((covered == 1).all())


def test_voxel_shuffle_matches_monai():
    from monai.networks.utils import pixelshuffle

    x = torch.rand(2, 16, 3, 4, 5)
    assert torch.equal(voxel_shuffle(x, 2), pixelshuffle(x, 3, 2))
    x = torch.rand(2, 32, 3, 4)
    assert torch.equal(voxel_shuffle(x, 4), pixelshuffle(x, 2, 4))


def test_flops_per_output_voxel_by_hand():
    # 3-D, x2, 2 channels, one residual block; a conv costs 2 * 27 * cin * cout:
    # LR: head 1->2 (108) + block 2 x 2->2 (432) + body conv 2->2 (216)
    #     + upsampling conv 2->16 (1728) = 2484, over 8 output voxels each = 310.5
    # HR: tail 2->2 (216) + 2->1 (108) = 324
    tiny = GeneratorConfig(spatial_dims=3, scale=2, channels=2, num_blocks=1, block="residual")
    assert flops_per_output_voxel(tiny) == 310.5 + 324
    # 2-D RRDB, growth 1: a conv costs 2 * 9 * cin * cout; dense block convs 2->1, 3->1,
    # 4->1, 5->1, 6->2 = 36 + 54 + 72 + 90 + 216 = 468, three per RRDB = 1404;
    # LR: head 36 + 1404 + body conv 72 = 1512 / 4 = 378; upsampling 2->8: 288 / 4 = 72;
    # HR tail: 72 + 36 = 108
    rrdb = GeneratorConfig(
        spatial_dims=2, scale=2, channels=2, num_blocks=1, block="rrdb", growth=1
    )
    assert flops_per_output_voxel(rrdb) == 378 + 72 + 108
    # the bench's network: 37,260 per output voxel
    assert flops_per_output_voxel(GeneratorConfig(**BENCH)) == 37260


@pytest.mark.parametrize(
    "settings",
    [BENCH, dict(spatial_dims=2, scale=4, channels=4, num_blocks=1, block="rrdb", growth=3)],
)
def test_flops_per_output_voxel_counts_every_convolution(settings):
    generator = SRGenerator(GeneratorConfig(**settings))
    counted = []

    def hook(module, inputs, output):
        kernel = module.weight[0, 0].numel()
        counted.append(2 * kernel * module.in_channels * module.out_channels * output[0, 0].numel())

    for module in generator.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Conv3d)):
            module.register_forward_hook(hook)
    lr = torch.rand(1, 1, *[6] * generator.spatial_dims)
    with torch.no_grad():
        out = generator(lr)
    assert sum(counted) / out[0, 0].numel() == flops_per_output_voxel(generator.config)
