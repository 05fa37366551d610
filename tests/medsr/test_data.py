import nibabel as nib
import numpy as np
import pytest
import torch
from skimage.io import imsave

from ganforge.medsr import (
    MNI152_SLABS,
    Degradation,
    PairedPatchSource,
    load_image,
    load_mask,
    mni152_slab_range,
    mni152_slices,
    mni152_volume,
    paired_dataset,
    scale_intensity,
    shepp_logan,
    synthetic_images,
    validate_array,
    validate_mask,
)


def test_mni152_template_loads_offline_with_its_affine():
    volume = mni152_volume()
    assert volume.array.shape == (197, 233, 189)
    assert float(volume.array.min()) == 0.0 and float(volume.array.max()) == 1.0
    assert np.allclose(np.diag(volume.affine)[:3], 1.0)


def test_slabs_are_disjoint_with_gaps():
    ranges = {split: set(mni152_slab_range(split)) for split in MNI152_SLABS}
    assert not ranges["train"] & ranges["test"]
    assert not ranges["train"] & ranges["val"]
    assert not ranges["val"] & ranges["test"]
    for a, b in [("train", "test"), ("val", "test"), ("train", "val")]:
        gap = min(abs(i - j) for i in ranges[a] for j in ranges[b])
        assert gap >= 6
    assert len(ranges["test"]) == 24


def test_mni152_slices_shape():
    slices = mni152_slices("val")
    assert slices.shape == (8, 1, 196, 232)
    assert float(slices.max()) > 0.5


def test_shepp_logan_and_synthetic_images():
    phantom = shepp_logan(64)
    assert phantom.shape == (1, 1, 64, 64) and 0 <= float(phantom.min()) < float(phantom.max()) <= 1
    images = synthetic_images(3, 32, seed=1)
    assert images.shape == (3, 1, 32, 32)
    assert torch.equal(images, synthetic_images(3, 32, seed=1))
    assert synthetic_images(1, 16, spatial_dims=3).shape == (1, 1, 16, 16, 16)


def test_load_nifti_keeps_affine(tmp_path):
    affine = np.diag([0.5, 0.8, 2.0, 1.0])
    affine[:3, 3] = [10, -20, 5]
    data = np.random.default_rng(0).random((12, 10, 8)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, affine), tmp_path / "a.nii.gz")
    image = load_image(tmp_path / "a.nii.gz")
    assert image.array.shape == (12, 10, 8)
    assert np.allclose(image.array, data)
    assert np.allclose(image.affine, affine)


def test_load_png(tmp_path):
    data = (np.arange(32 * 16).reshape(32, 16) % 251).astype(np.uint8)
    imsave(tmp_path / "a.png", data, check_contrast=False)
    image = load_image(tmp_path / "a.png")
    assert image.spatial_dims == 2
    assert sorted(image.array.shape) == [16, 32]


def test_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load_image(tmp_path / "missing.nii.gz")
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match="could not read it as an image"):
        load_image(tmp_path / "notes.txt")
    nib.save(
        nib.Nifti1Image(np.zeros((6, 6, 6, 3), np.float32) + np.arange(3), np.eye(4)),
        tmp_path / "series.nii.gz",
    )
    with pytest.raises(ValueError, match="4 non-singleton axes"):
        load_image(tmp_path / "series.nii.gz")


def test_validate_array_errors():
    with pytest.raises(ValueError, match="NaN"):
        validate_array(np.array([[np.nan, 1.0] * 4] * 8))
    with pytest.raises(ValueError, match="empty"):
        validate_array(np.zeros((0, 5)))
    with pytest.raises(ValueError, match="empty"):
        validate_array(np.zeros((8, 8)))
    assert validate_array(np.random.rand(1, 8, 8)).shape == (8, 8)


def test_scale_intensity_maps_percentiles_to_unit_range():
    array = np.linspace(0, 1000, 9999, dtype=np.float32).reshape(101, 99)
    out = scale_intensity(array, lower=1, upper=99)
    assert out.min() == 0.0 and out.max() == 1.0
    assert abs(float(out[50, 50]) - 0.5) < 0.01


def test_patch_source_pairs_are_aligned_and_resumable():
    hr = synthetic_images(3, 64, seed=2)
    degradation = Degradation("psf", 2)
    source = PairedPatchSource(hr, degradation, patch_size=32, batch_size=4, seed=0)
    state = source.state_dict()
    lr, patch = source.next_batch()
    assert lr.shape == (4, 1, 16, 16) and patch.shape == (4, 1, 32, 32)
    # the PSF is local: away from the patch border, degrading the HR patch gives the LR patch
    assert torch.allclose(
        degradation.downsample(patch)[..., 3:-3, 3:-3], lr[..., 3:-3, 3:-3], atol=1e-5
    )
    source.load_state_dict(state)
    lr2, patch2 = source.next_batch()
    assert torch.equal(lr, lr2) and torch.equal(patch, patch2)


def _batches(source, count):
    return [source.next_batch() for _ in range(count)]


def test_two_ranks_draw_different_patches_that_together_make_the_global_batch():
    hr = synthetic_images(3, 48, seed=1)
    settings = {"patch_size": 16, "seed": 7}
    ranks = [
        PairedPatchSource(hr, Degradation("psf", 2), batch_size=2, rank=r, world_size=2, **settings)
        for r in (0, 1)
    ]
    single = PairedPatchSource(hr, Degradation("psf", 2), batch_size=4, **settings)
    # 3 images, a global batch of 4: 2 crops of every image per epoch, 1 batch per epoch
    for _ in range(3):  # across epochs too
        (lr0, hr0), (lr1, hr1) = (rank.next_batch() for rank in ranks)
        lr, patch = single.next_batch()
        assert not torch.equal(hr0, hr1)
        assert torch.equal(torch.cat([lr0, lr1]), lr) and torch.equal(torch.cat([hr0, hr1]), patch)
    with pytest.raises(ValueError, match="rank 2 is not in"):
        PairedPatchSource(hr, Degradation("psf", 2), rank=2, world_size=2, **settings)


def test_patch_source_resumes_mid_epoch_exactly():
    hr = synthetic_images(5, 48, seed=1)
    source = PairedPatchSource(hr, Degradation("psf", 2), patch_size=16, batch_size=2, seed=3)
    assert source.batches.batches_per_epoch == 2  # 5 images, 1 crop each: 2 batches of 2
    _batches(source, 3)  # into the second epoch
    state = source.state_dict()
    assert state == {"epoch": 1, "position": 1}
    expected = _batches(source, 4)
    resumed = PairedPatchSource(hr, Degradation("psf", 2), patch_size=16, batch_size=2, seed=3)
    resumed.load_state_dict(state)
    for a, b in zip(expected, _batches(resumed, 4), strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    # a worker process crops exactly what this process crops, in every epoch
    worker = PairedPatchSource(
        hr, Degradation("psf", 2), patch_size=16, batch_size=2, seed=3, workers=1
    )
    worker.load_state_dict(state)
    assert torch.equal(_batches(worker, 4)[-1][1], expected[-1][1])
    # a new epoch crops anew: the same image gives another patch
    first = PairedPatchSource(hr, Degradation("psf", 2), patch_size=16, batch_size=5, seed=3)
    epoch0, epoch1 = (torch.sort(b[1].flatten(1).sum(1)).values for b in _batches(first, 2))
    assert not torch.equal(epoch0, epoch1)


def test_patch_source_bad_arguments():
    images = synthetic_images(1, 32)
    for patch_size in (30, 0, -4):
        with pytest.raises(ValueError, match="positive multiple of the scale 4"):
            PairedPatchSource(images, Degradation("psf", 4), patch_size=patch_size)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        PairedPatchSource(images, Degradation("psf", 2), patch_size=16, batch_size=0)
    with pytest.raises(ValueError, match="smaller than patch_size"):
        PairedPatchSource(synthetic_images(1, 32), Degradation("psf", 2), patch_size=64)


def test_paired_dataset_is_a_monai_dataset():
    from monai.data import Dataset

    dataset = paired_dataset(synthetic_images(2, 32), Degradation("kspace", 4))
    assert isinstance(dataset, Dataset) and len(dataset) == 2
    assert dataset[1]["lr"].shape == (1, 8, 8) and dataset[1]["hr"].shape == (1, 32, 32)


def _write_dicom_series(folder, volume, spacing):
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir()
    series, study, frame = generate_uid(), generate_uid(), generate_uid()
    for k in range(volume.shape[2]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(str(folder / f"{k:03d}.dcm"), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality, ds.PatientID, ds.InstanceNumber = "CT", "0", k + 1
        ds.ImagePositionPatient = [0.0, 0.0, k * spacing[2]]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing, ds.SliceThickness = [spacing[0], spacing[1]], spacing[2]
        ds.Rows, ds.Columns = volume.shape[0], volume.shape[1]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        ds.PixelData = volume[:, :, k].astype(np.uint16).tobytes()
        ds.save_as(folder / f"{k:03d}.dcm", enforce_file_format=True)


def test_load_dicom_series_folder(tmp_path):
    volume = (np.random.default_rng(0).random((16, 12, 5)) * 1000).astype(np.uint16)
    _write_dicom_series(tmp_path / "series", volume, (0.8, 0.6, 2.5))
    image = load_image(tmp_path / "series")
    # MONAI reads DICOM as (columns, rows, slices)
    assert image.array.shape == (12, 16, 5)
    assert np.allclose(image.array, volume.transpose(1, 0, 2))
    assert np.allclose(np.abs(np.diag(image.affine))[:3], [0.6, 0.8, 2.5])


def test_paired_loader_batches_whole_images():
    from ganforge.medsr import paired_loader

    batches = list(paired_loader(synthetic_images(5, 32), Degradation("psf", 2), batch_size=2))
    assert [len(b["hr"]) for b in batches] == [2, 2, 1]
    assert batches[0]["lr"].shape == (2, 1, 16, 16)


def test_roi_patches_follow_their_images_through_crops_and_augmentation():
    hr = synthetic_images(3, 64, seed=2)
    roi = (hr > 0.5).float()
    source = PairedPatchSource(hr, Degradation("psf", 2), patch_size=32, batch_size=8, roi=roi)
    lr, patch, mask = source.next_batch()
    assert mask.shape == patch.shape == (8, 1, 32, 32)
    # the mask was derived from the image, so the same crop + flips + rot90 keep the relation
    assert torch.equal(mask, (patch > 0.5).float()) and float(mask.sum()) > 0
    plain = PairedPatchSource(hr, Degradation("psf", 2), patch_size=32, batch_size=8)
    assert torch.equal(plain.next_batch()[1], patch)  # a mask does not change the draws


def test_roi_of_the_wrong_shape_or_range_is_refused():
    hr = synthetic_images(2, 32)
    with pytest.raises(ValueError, match="differs from the images'"):
        PairedPatchSource(hr, Degradation("psf", 2), patch_size=16, roi=torch.ones(2, 1, 32, 30))
    with pytest.raises(ValueError, match=r"in \[0, 1\] \(got 0\.\.3\)"):
        PairedPatchSource(hr, Degradation("psf", 2), patch_size=16, roi=3 * (hr > 0.5).float())
    with pytest.raises(ValueError, match="is empty"):
        PairedPatchSource(hr, Degradation("psf", 2), patch_size=16, roi=torch.zeros_like(hr))


def test_load_mask_png_and_nifti(tmp_path):
    mask = np.zeros((20, 24), dtype=np.uint8)
    mask[5:10, 6:12] = 255
    imsave(tmp_path / "m.png", mask, check_contrast=False)
    loaded = load_mask(tmp_path / "m.png")  # MONAI's PNG reader puts width first, as for images
    assert np.array_equal(loaded, mask.T / 255.0) and loaded.sum() == 30
    assert load_image(tmp_path / "m.png").array.shape == loaded.shape
    nib.save(nib.Nifti1Image(np.full((6, 6, 5), np.nan, np.float32), np.eye(4)), tmp_path / "n.nii")
    with pytest.raises(ValueError, match="NaN"):
        load_mask(tmp_path / "n.nii")
    with pytest.raises(ValueError, match="no such mask file"):
        load_mask(tmp_path / "missing.nii")
    with pytest.raises(ValueError, match="2-D or 3-D"):
        validate_mask(np.ones((2, 3, 4, 5)))
