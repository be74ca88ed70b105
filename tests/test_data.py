"""Data: real samples, seeded minibatches without repeats, clear errors."""
import pytest
import torch

from zcpt_analysis.data import (MinibatchSampler, load_images, load_png_samples, load_sample, load_synthetic,
                                search_split)
from zcpt_analysis.errors import DataUnavailableError, UnknownNameError


def test_cifar10_sample_facts(cifar_sample):
    assert cifar_sample.images.shape == (400, 3, 32, 32) and cifar_sample.images.dtype == torch.uint8
    assert torch.bincount(cifar_sample.labels).tolist() == [40] * 10
    assert len(load_sample("test")) == 150 and len(load_sample("all")) == 550
    everything = load_images("cifar10", source="sample-all")
    assert len(everything) == 550 and torch.equal(everything.images[:400], cifar_sample.images)


def test_png_samples():
    c100 = load_png_samples("cifar100")
    assert c100.images.shape == (20, 3, 32, 32) and c100.num_classes == 100 and int(c100.labels[0]) == 49


def test_minibatches_are_seeded_distinct_and_normalised(cifar_sample):
    a = MinibatchSampler(cifar_sample, 256, seed=1)
    b = MinibatchSampler(cifar_sample, 256, seed=1)
    xa, ya = a.sample()
    xb, yb = b.sample()
    assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert xa.shape == (256, 3, 32, 32) and xa.dtype == torch.float32
    flat = xa.flatten(1)
    assert torch.unique(flat, dim=0).shape[0] == 256  # no repeated image in a batch
    x2, _ = a.sample()
    assert not torch.equal(xa, x2)  # successive batches differ
    v_batches = list(MinibatchSampler(cifar_sample, 64, seed=2).batches(5))
    assert len(v_batches) == 5 and all(x.shape[0] == 64 for x, _ in v_batches)


def test_augmentation_changes_pixels_but_not_labels(cifar_sample):
    plain = MinibatchSampler(cifar_sample, 16, seed=0, augment=False)
    aug = MinibatchSampler(cifar_sample, 16, seed=0, augment=True)
    (xp, yp), (xa, ya) = plain.sample(), aug.sample()
    assert torch.equal(yp, ya) and not torch.equal(xp, xa)


def test_too_large_batch_is_an_error(cifar_sample):
    with pytest.raises(DataUnavailableError, match="exceeds the 400 distinct images"):
        MinibatchSampler(cifar_sample, 401)


def test_search_split_and_synthetic(cifar_sample):
    train, valid = search_split(cifar_sample, 0.5)
    assert len(train) == 200 and len(valid) == 200 and torch.equal(train.images[0], cifar_sample.images[0])
    syn = load_synthetic(32, seed=1)
    x, _ = MinibatchSampler(syn, 8, seed=0).sample()
    assert x.shape == (8, 3, 32, 32)


def test_dataset_names_and_sources():
    with pytest.raises(UnknownNameError, match="valid datasets: cifar10, cifar100, svhn, imagenet16-120"):
        load_images("mnist")
    with pytest.raises(UnknownNameError, match="valid data sources"):
        load_images("cifar10", source="web")
    with pytest.raises(DataUnavailableError, match="only has CIFAR-10"):
        load_images("cifar100", source="sample")
    with pytest.raises(DataUnavailableError, match="--data-root is required"):
        load_images("cifar10", source="full")


def test_offline_torchvision_download_gives_clear_message(tmp_path):
    with pytest.raises(DataUnavailableError, match="could not load cifar10"):
        load_images("cifar10", source="full", root=tmp_path, download=False)


def test_imagenet16_pickles(tmp_path):
    import pickle

    import numpy as np
    from zcpt_analysis.data import load_imagenet16
    from zcpt_analysis.errors import MissingFileError

    with pytest.raises(MissingFileError, match="val_data"):
        load_imagenet16(tmp_path, train=False)
    data = np.arange(4 * 768, dtype=np.int64).reshape(4, 768) % 256
    with open(tmp_path / "val_data", "wb") as fh:
        pickle.dump({"data": data.astype(np.uint8), "labels": [1, 120, 121, 5]}, fh)
    ds = load_imagenet16(tmp_path, train=False)
    assert ds.images.shape == (3, 3, 16, 16) and ds.labels.tolist() == [0, 119, 4] and ds.crop_padding == 2
