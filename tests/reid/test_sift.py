"""Local-feature re-id: the same markings moved match, others and blank images do not."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from geoloc.params import ReidParams
from geoloc.reid.sift import match_score, match_similarity, sift_features


def _spots(seed, size=128):
    """A coat with 25 random dark spots of varied size."""
    rng = np.random.default_rng(seed)
    img = Image.new("L", (size, size), 190)
    draw = ImageDraw.Draw(img)
    for x, y, r in zip(*rng.uniform(12, size - 12, (2, 25)), rng.uniform(2, 7, 25), strict=True):
        draw.ellipse([x - r, y - r, x + r, y + r], fill=int(rng.uniform(20, 90)))
    return img


def _moved(img, angle=25, shift=(6, -4)):
    return img.rotate(angle, translate=shift, fillcolor=190)


@pytest.mark.parametrize("verify, margin", [(True, 3), (False, 1)])
def test_same_pattern_rotated_and_shifted_ranks_first(verify, margin):
    patterns = [_spots(s) for s in range(4)]
    queries = [_moved(p) for p in patterns]
    features = sift_features(patterns + queries, size=192)
    scores = match_similarity(features, range(4, 8), range(4), verify=verify)
    assert scores.shape == (4, 4)
    other = scores[~np.eye(4, dtype=bool)]
    # the geometric check keeps the true pairs' matches and drops most chance ones
    assert np.diag(scores).min() > margin * other.max()


def test_blank_images_score_zero():
    blank, spots = sift_features([Image.new("RGB", (64, 64), (128, 128, 128)), _spots(0)])
    assert len(blank.descriptors) == 0 and len(spots.descriptors) > 10
    for verify in (True, False):
        assert match_score(blank, spots, verify=verify) == 0
        assert match_score(spots, blank, verify=verify) == 0
        assert match_score(blank, blank, verify=verify) == 0


def test_matcher_param_is_validated():
    assert ReidParams(matcher="sift").matcher == "sift"
    with pytest.raises(ValueError, match="matcher"):
        ReidParams(matcher="orb")
