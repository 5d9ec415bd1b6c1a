"""Stratified train/validation/test split fixed by a seed.

Every class keeps its share in each part (at least one validation and one test sample when it
has three or more), so rare species are evaluated at all, and the same seed gives the same split.
"""

from __future__ import annotations

import numpy as np

from geoloc.errors import GeolocError


def stratified_split(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return sorted index arrays (train, val, test) covering `labels` exactly once.

    Per class of n samples: round(n * fraction) to validation and test, at least one each when
    n >= 3, and the rest (at least one) to training. Classes with fewer than 3 samples go to
    training only.
    """
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise GeolocError(
            f"split fractions must be in (0, 1) and sum below 1, got val={val_fraction}, "
            f"test={test_fraction}"
        )
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    by_label = np.argsort(labels, kind="stable")  # each class's members, ascending: O(N log N)
    starts = np.flatnonzero(np.r_[True, labels[by_label][1:] != labels[by_label][:-1]])
    for members in np.split(by_label, starts[1:]) if len(labels) else []:
        members = rng.permutation(members)
        n = len(members)
        if n < 3:
            parts[0].append(members)
            continue
        n_val = min(max(1, round(n * val_fraction)), n - 2)
        n_test = min(max(1, round(n * test_fraction)), n - 1 - n_val)
        parts[1].append(members[:n_val])
        parts[2].append(members[n_val : n_val + n_test])
        parts[0].append(members[n_val + n_test :])
    return tuple(np.sort(np.concatenate(p)) if p else np.zeros(0, int) for p in parts)
