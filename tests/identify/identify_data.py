"""Synthetic identification data for the tests: gaussian clusters per species with imbalanced
counts, families grouping species, locations clustered per species inside France; the same
written as a dataset's files (embeddings, filtered table, encoder) and a fake image backbone."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import torch

from geoloc.embed.store import EmbeddingTable, TextEmbeddings
from geoloc.encoders.location_encoder import build_location_encoder, save_location_encoder
from geoloc.identify.sampled import ClassSample
from geoloc.params import ModelParams

DIM = 16  # embedding width of the end-to-end tests
PARAMS = """
identify:
  heads: [linear]
  remedies: [none, logit_adjust]
  hidden: 32
  epochs: 8
  lr: 0.01
  proto_epochs: 4
  target_coverage: 0.8
  prior: {epochs: 4}
"""  # a quick identify: section for the end-to-end tests
COUNTS = (220, 180, 150, 120, 40, 25, 15, 12)  # 4 common, 4 rare (<= 50)
FAMILIES = (
    "Rosaceae",
    "Rosaceae",
    "Fabaceae",
    "Poaceae",
    "Poaceae",
    "Fabaceae",
    "Rosaceae",
    "Asteraceae",
)


def make_dataset(dim: int = 32, noise: float = 0.9, seed: int = 0, text: bool = False):
    """(EmbeddingTable, taxonomy DataFrame) for len(COUNTS) species."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(COUNTS), dim))
    places = np.column_stack(
        [rng.uniform(43.5, 49.5, len(COUNTS)), rng.uniform(-1, 6.5, len(COUNTS))]
    )
    species = np.repeat(np.arange(len(COUNTS)), COUNTS)
    emb = centres[species] + noise * rng.normal(size=(len(species), dim)) * np.sqrt(dim) / 4
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    lat = places[species, 0] + rng.normal(0, 0.6, len(species))
    lon = places[species, 1] + rng.normal(0, 0.6, len(species))
    keys = 1000 + species
    gbif = np.arange(len(species), dtype=np.int64) + 5_000_000
    names = [f"Genus species{i}" for i in range(len(COUNTS))]
    text_emb = None
    if text:
        t = centres + 0.3 * rng.normal(size=centres.shape)
        text_emb = TextEmbeddings(
            species_key=1000 + np.arange(len(COUNTS)),
            species=np.array(names),
            embedding=(t / np.linalg.norm(t, axis=1, keepdims=True)).astype(np.float32),
        )
    table = EmbeddingTable(
        gbif_id=gbif,
        embedding=emb.astype(np.float32),
        lat=lat,
        lon=lon,
        species_key=keys.astype(np.int64),
        attrs={"backbone": "fake", "image_size": 32, "dim": dim},
        text=text_emb,
    )
    taxonomy = pd.DataFrame(
        {
            "gbif_id": gbif,
            "species_key": keys.astype(np.int64),
            "species": [names[s] for s in species],
            "family": [FAMILIES[s] for s in species],
            "lat": lat,
            "lon": lon,
        }
    )
    return table, taxonomy


class FourierEncoder:
    """A fixed random-Fourier-feature stand-in for a location encoder (`.encode(lat, lon)`)."""

    def __init__(self, dim: int = 64, scale: float = 1.0, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.w = rng.normal(0, scale, size=(2, dim // 2))

    def encode(self, lat, lon, batch_size: int = 65536):
        z = np.column_stack([lat, lon]) @ self.w
        return np.concatenate([np.sin(z), np.cos(z)], axis=1).astype(np.float32)


def write_inputs(paths, params_file, text: bool):
    """The synthetic dataset at `paths` (IdentifierPaths): embeddings, taxonomy, encoder."""
    table, taxonomy = make_dataset(dim=DIM, text=text)
    paths.embeddings.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(paths.embeddings, "w") as h5:
        for key in ("gbif_id", "lat", "lon", "species_key"):
            h5[key] = getattr(table, key)
        h5["embedding"] = table.embedding.astype(np.float16)
        h5.attrs.update(backbone="fake-backbone", image_size=32, dim=DIM)
        if text:
            h5["text/species_key"] = table.text.species_key
            h5["text/species"] = table.text.species.astype(object)
            h5["text/embedding"] = table.text.embedding.astype(np.float16)
    paths.observations.parent.mkdir(parents=True, exist_ok=True)
    taxonomy.to_parquet(paths.observations)
    paths.encoder.parent.mkdir(parents=True, exist_ok=True)
    network = build_location_encoder(ModelParams(dim=16, hidden=32), seed=0)
    save_location_encoder(network, paths.encoder)
    params_file.write_text(PARAMS)
    return table


class FakeBackbone:
    """Maps an image to the synthetic embedding of the species its red channel encodes."""

    def __init__(self, table):
        self.centres = np.stack(
            [table.embedding[table.species_key == k].mean(0) for k in np.unique(table.species_key)]
        )

    def embed_pil(self, images, batch_size=64):
        v = self.centres[[im.getpixel((0, 0))[0] for im in images]]
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def many_species(n_species: int, counts: tuple[int, int], dim: int = 8, seed: int = 0):
    """(EmbeddingTable, taxonomy) with `n_species` species, half with counts[0] observations and
    half with counts[1], two species per family, float16 embeddings as the store keeps them."""
    rng = np.random.default_rng(seed)
    per_species = np.where(np.arange(n_species) % 2 == 0, counts[0], counts[1])
    species = np.repeat(np.arange(n_species), per_species)
    centres = rng.normal(size=(n_species, dim))
    emb = centres[species] + 0.3 * rng.normal(size=(len(species), dim))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    lat, lon = rng.uniform(43.5, 49.5, len(species)), rng.uniform(-1, 6.5, len(species))
    gbif = np.arange(len(species), dtype=np.int64)
    keys = (1000 + species).astype(np.int64)
    table = EmbeddingTable(
        gbif_id=gbif, embedding=emb.astype(np.float16), lat=lat, lon=lon, species_key=keys,
        attrs={"backbone": "fake", "image_size": 32, "dim": dim},
    )  # fmt: skip
    taxonomy = pd.DataFrame(
        {
            "gbif_id": gbif,
            "species_key": keys,
            "species": [f"Genus species{s}" for s in species],
            "family": [f"Family{s // 2}" for s in species],
        }
    )
    return table, taxonomy


def every_class(targets: torch.Tensor, n_classes: int) -> ClassSample:
    """A class sample of all classes (shuffled), each included for sure: what a full loss scores."""
    classes = torch.randperm(n_classes, generator=torch.Generator().manual_seed(1))
    position = torch.empty(n_classes, dtype=torch.long)
    position[classes] = torch.arange(n_classes)
    return ClassSample(classes, torch.zeros(n_classes), position[targets])


def mean_gradient(loss_of, logits: torch.Tensor, draws: int) -> torch.Tensor:
    """The gradient of `loss_of(logits)` with respect to the logits, averaged over `draws` calls
    (each drawing its own class sample)."""
    total = torch.zeros_like(logits)
    for _ in range(draws):
        leaf = logits.clone().requires_grad_(True)
        loss_of(leaf).backward()
        total += leaf.grad
    return total / draws


def split_in_two(table: EmbeddingTable):
    """(train rows, test rows): every other observation, so both have every species."""
    rows = np.arange(len(table.embedding))
    return rows[::2], rows[1::2]
