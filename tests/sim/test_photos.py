"""Procedural photos: species are told apart by their look, not by per-photo noise."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from geoloc.sim.photos import (
    STYLES,
    draw_photo,
    encode_jpeg,
    family_traits,
    species_traits,
)

SIZE = 32


def _centre_colours(traits: dict, seed: int, n: int = 6) -> np.ndarray:
    """Mean colour of the central half of `n` photos (where the organism is)."""
    out = []
    for i in range(n):
        pixels = np.asarray(draw_photo(traits, SIZE, np.random.default_rng([seed, i])), float)
        out.append(pixels[SIZE // 4 : -SIZE // 4, SIZE // 4 : -SIZE // 4].reshape(-1, 3).mean(0))
    return np.array(out)


@pytest.mark.parametrize("style", STYLES)
def test_two_species_differ_more_than_two_photos_of_one_species(style):
    rng = np.random.default_rng(0)
    species = [species_traits(rng, family_traits(rng, style)) for _ in range(4)]
    colours = [_centre_colours(t, seed) for seed, t in enumerate(species)]
    within = [
        np.linalg.norm(c[i] - c[j]) for c in colours for i, j in itertools.combinations(range(6), 2)
    ]
    between = [
        np.linalg.norm(a[i] - b[j])
        for a, b in itertools.combinations(colours, 2)
        for i in range(6)
        for j in range(6)
    ]
    assert np.mean(between) > np.mean(within)


def test_family_fixes_the_body_plan_and_photos_vary():
    rng = np.random.default_rng(1)
    family = family_traits(rng, "critter", legs=8)
    a, b = species_traits(rng, family), species_traits(rng, family)
    plan = ("style", "pattern", "segments", "legs", "wings", "body_len")
    assert all(a[k] == b[k] == family[k] for k in plan) and not family["wings"]
    assert a["colour"] != b["colour"]
    first = draw_photo(a, SIZE, np.random.default_rng(7))
    again = draw_photo(a, SIZE, np.random.default_rng(7))
    other = draw_photo(a, SIZE, np.random.default_rng(8))
    assert encode_jpeg(first) == encode_jpeg(again)  # deterministic per seed
    assert not np.array_equal(np.asarray(first), np.asarray(other))  # per-photo noise
    assert first.size == (SIZE, SIZE) and first.mode == "RGB"
