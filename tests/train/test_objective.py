"""What each train.objective optimises: InfoNCE, the presence loss, or their weighted sum."""

import numpy as np
import pytest
import torch

from geoloc.encoders import build_location_encoder
from geoloc.params import ModelParams
from geoloc.train.contrastive import ContrastiveModel
from geoloc.train.loss import ContrastiveLoss
from geoloc.train.objective import ObjectiveModel
from geoloc.train.presence import PresenceHead, PresenceLabels
from tests.train.train_fixtures import synthetic_observations


def _parts(loss="an_full"):
    lat, lon, feat, sp = synthetic_observations(n=64, seed=4)
    encoder = build_location_encoder(ModelParams(pe="sh", legendre=5, hidden=16, dim=8), seed=0)
    torch.manual_seed(0)
    contrastive = ContrastiveModel(encoder, feat.shape[1], ContrastiveLoss(0.1))
    labels = PresenceLabels.of(sp, sp % 2, np.arange(len(sp)))
    presence = PresenceHead(encoder.dim, labels, loss, (42.0, 51.0, -5.0, 8.0), n_random=64)
    batch = (
        torch.as_tensor(lat, dtype=torch.float32),
        torch.as_tensor(lon, dtype=torch.float32),
        torch.from_numpy(feat),
        torch.from_numpy(sp),
    )
    return encoder, contrastive, presence, batch, torch.from_numpy(labels.group)


@pytest.mark.parametrize("loss", ["maxent", "an_full"])
def test_both_is_the_contrastive_loss_plus_the_weighted_presence_loss(loss):
    encoder, contrastive, presence, batch, group = _parts(loss)
    background = presence.random_background(64, torch.Generator().manual_seed(0))
    lat, lon, feat, species = batch
    alone = {
        "contrastive": ObjectiveModel(encoder, contrastive, None)(*batch),
        "presence": ObjectiveModel(encoder, None, presence)(
            *batch, group=group, background=background
        ),
    }
    both = ObjectiveModel(encoder, contrastive, presence, presence_weight=0.3)(
        *batch, group=group, background=background
    )
    assert set(alone["contrastive"]) == {"loss"}
    torch.testing.assert_close(alone["contrastive"]["loss"], contrastive(lat, lon, feat, species))
    assert alone["presence"]["loss"] is alone["presence"]["presence_loss"]
    embedding = encoder.embed(lat, lon)
    random = None if background is None else encoder.embed(*background)
    torch.testing.assert_close(
        alone["presence"]["loss"], presence(embedding, species, group, random)
    )
    torch.testing.assert_close(both["presence_loss"], alone["presence"]["loss"])
    expected = alone["contrastive"]["loss"] + 0.3 * alone["presence"]["loss"]
    torch.testing.assert_close(both["loss"], expected)


def test_presence_alone_trains_no_image_head_and_has_no_temperature():
    encoder, contrastive, presence, _, _ = _parts()
    alone = ObjectiveModel(encoder, None, presence)
    names = {name for name, _ in alone.named_parameters()}
    assert not any("image_head" in n or "logit_scale" in n for n in names)
    assert any(n.startswith("presence.species") for n in names) and alone.temperature is None
    with_contrastive = ObjectiveModel(encoder, contrastive, None)
    assert with_contrastive.temperature == pytest.approx(0.1)
