"""Covariate sets of the DISDAT benchmark: environment, location embeddings, and both.

A set name is `env`, an embedding (`coords`, `sh`, `rff`, `geoclip`, `trained`, `landscape`),
`env+<embedding>` (the embedding reduced to `pcs` principal components, appended to env), or
`env+effort:<embedding>` (env plus one sampling-effort covariate: a model of where the species'
group was recorded, on the embedding alone, held constant when predicting).
`coords`, `sh`, `rff` and `geoclip` are the SDM covariate sets of geoloc.registry.COVARIATES,
built as the pipeline builds them (geoloc.sdm.covariates) with the region model REGION_MODEL.
`trained` is a location encoder trained on the region's own presence records with the presence
objective (`geoloc.train.train_presence_encoder`: a species head on the embedding, DeepMaxent's
loss, each record's taxon group its target group): the same trainer as the pipeline's, so its
embedding is where the region's species live, learned from location alone, that the SDM can
use beside the raw env values. `landscape` is the mean env of the background points around each
point, at LANDSCAPE_NEIGHBOURS scales: the landscape a point lies in rather than the point itself.

Regions are a few degrees across, far smaller than the globe the encodings were designed for.
The untrained and trained encodings therefore see coordinates in a *region frame*: the region's
training extent, centred and scaled isotropically to span FRAME_SPAN_DEG degrees, so an
encoding's frequencies mean the same thing relative to every region (one rule, no per-region
tuning). `coords` and GeoCLIP (pretrained on real coordinates) always get the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.decomposition import PCA

from geoloc.bench.disdat.data import EnvTransform, Region
from geoloc.errors import GeolocError
from geoloc.geometry import nearest_neighbours
from geoloc.params import ModelParams, TrainParams

REGISTERED = ("coords", "sh", "rff", "geoclip")  # built through geoloc.registry.COVARIATES
EMBEDDINGS = (*REGISTERED, "trained", "landscape")
FRAMED = ("sh", "rff", "trained")  # the embeddings that see the region frame
FRAME_SPAN_DEG = 90.0
EFFORT_C = 0.05  # inverse L2 strength of the effort model (a smooth surface)
# Neighbours averaged by `landscape`: 0.1% and 1% of the background points, which are drawn
# uniformly over the region, so the same share of every region's area (one rule)
LANDSCAPE_NEIGHBOURS = (10, 100)

# The encodings of every region: `sh` and `rff` (legendre, rff_*) and the region-trained encoder.
REGION_MODEL = ModelParams(
    pe="rff", rff_sigmas=[8.0, 16.0, 32.0], rff_features=64, hidden=128, layers=2, dim=32
)
REGION_TRAIN = TrainParams(
    objective="presence",
    presence_loss="maxent",
    epochs=100,
    batch_size=256,
    lr=1e-3,
    val_fraction=0.1,
)


@dataclass(frozen=True)
class DisdatOptions:
    """The benchmark's knobs (`geoloc bench disdat --pcs --seed`; it has no params section), and
    the model and training of the region-trained encoder."""

    pcs: int = 8  # principal components kept of an embedding in `env+<embedding>`
    seed: int = 0  # the forests, MLPs, random features and encoder training
    model: ModelParams = field(default_factory=lambda: REGION_MODEL)
    train: TrainParams = field(default_factory=lambda: REGION_TRAIN)


@dataclass(frozen=True)
class CovariateSet:
    """A parsed set name: env block, embedding, and whether the embedding models effort."""

    with_env: bool
    embedding: str | None
    effort: bool = False


def parse_set(name: str) -> CovariateSet:
    """`env`, `rff`, `env+rff` or `env+effort:rff` -> CovariateSet."""
    parts = name.split("+")
    with_env = parts[0] == "env"
    rest = parts[1:] if with_env else parts
    embedding = rest[0] if len(rest) == 1 else None
    effort = with_env and embedding is not None and embedding.startswith("effort:")
    if effort:
        embedding = embedding.removeprefix("effort:")
    if len(rest) > 1 or (rest and embedding not in EMBEDDINGS) or (not with_env and not rest):
        raise GeolocError(
            f"unknown covariate set {name!r}; use env, one of {', '.join(EMBEDDINGS)}, "
            "env+<one of those> or env+effort:<one of those>"
        )
    return CovariateSet(with_env, embedding, effort)


class RegionFrame:
    """Maps a region's coordinates to a frame centred on (0, 0) spanning FRAME_SPAN_DEG degrees."""

    def __init__(self, lat: np.ndarray, lon: np.ndarray):
        self.lat0 = float((lat.min() + lat.max()) / 2)
        self.lon0 = float((lon.min() + lon.max()) / 2)
        self.coslat = float(np.cos(np.deg2rad(self.lat0)))
        extent = max(np.ptp(lat), np.ptp(lon) * self.coslat, 1e-6)
        self.scale = FRAME_SPAN_DEG / extent

    def __call__(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # points outside the training extent (test sites) may fall a little outside the span
        y = np.clip((lat - self.lat0) * self.scale, -89.0, 89.0)
        x = np.clip((lon - self.lon0) * self.coslat * self.scale, -179.0, 179.0)
        return y, x


class RegionCovariates:
    """Builds and caches every covariate block of one region, for training points (presence
    records followed by background points) and test sites."""

    def __init__(self, region: Region, options: DisdatOptions, device: str = "cpu"):
        self.region = region
        self.options = options
        self.device = device
        self.train_points = pd.concat([region.po, region.bg], ignore_index=True)
        self.n_train = len(self.train_points)
        self.env_linear = EnvTransform(region.env_columns, region.categorical_columns)
        self.env_linear.fit(self.train_points)
        self.env_quadratic = EnvTransform(
            region.env_columns, region.categorical_columns, quadratic=True
        ).fit(self.train_points)
        lat = np.r_[self.train_points["lat"].to_numpy(), region.pa["lat"].to_numpy()]
        lon = np.r_[self.train_points["lon"].to_numpy(), region.pa["lon"].to_numpy()]
        self.lat, self.lon = lat.astype(np.float64), lon.astype(np.float64)
        self.frame = RegionFrame(self.lat[: self.n_train], self.lon[: self.n_train])
        self.training = {}  # metrics of the region-trained encoder
        self._cache: dict[str, np.ndarray] = {}

    def env(self, quadratic: bool) -> np.ndarray:
        key = f"env:{quadratic}"
        if key not in self._cache:
            transform = self.env_quadratic if quadratic else self.env_linear
            self._cache[key] = np.concatenate(
                [transform.transform(self.train_points), transform.transform(self.region.pa)]
            )
        return self._cache[key]

    def embedding(self, name: str) -> np.ndarray:
        """The raw embedding of every point (training rows first, then test sites)."""
        if name not in self._cache:
            self._cache[name] = self._compute(name)
        return self._cache[name]

    def _compute(self, name: str) -> np.ndarray:
        from geoloc.sdm.covariates import CovariateContext, covariate_function

        if name not in EMBEDDINGS:
            raise GeolocError(f"unknown embedding {name!r}; known: {', '.join(EMBEDDINGS)}")
        lat, lon = self.frame(self.lat, self.lon) if name in FRAMED else (self.lat, self.lon)
        if name == "trained":
            return self._trained(lat, lon)
        if name == "landscape":
            return self._landscape()
        context = CovariateContext(self.options.model, self.options.seed, self.device)
        return covariate_function(name, context)(lat, lon)

    def _trained(self, flat: np.ndarray, flon: np.ndarray) -> np.ndarray:
        from geoloc.train.trainer import train_presence_encoder

        po = self.region.po
        n = len(po)
        result = train_presence_encoder(
            flat[:n],
            flon[:n],
            pd.factorize(po["spid"])[0],
            self.region.record_groups(),
            self.options.model,
            self.options.train.model_copy(update={"seed": self.options.seed}),
            device=self.device,
        )
        self.training = result.metrics
        return result.encoder.encode(flat, flon)

    def _landscape(self) -> np.ndarray:
        """Per point, the mean linear env of its k nearest background points for each k of
        LANDSCAPE_NEIGHBOURS, side by side. Species answer to the landscape around a site, not
        only to the site (multi-scale SDMs); a background point is never its own neighbour, so
        training and test points see the same kind of neighbourhood."""
        bg = self.region.bg
        n_po, k_max = len(self.region.po), max(LANDSCAPE_NEIGHBOURS)
        if len(bg) <= k_max:
            raise GeolocError(
                f"region {self.region.name}: covariate set landscape averages the "
                f"{k_max} nearest background points, and train_bg has only {len(bg)}"
            )
        index = nearest_neighbours(self.lat, self.lon, bg["lat"], bg["lon"], k_max + 1)
        own = np.full(len(index), -1)
        own[n_po : self.n_train] = np.arange(len(bg))
        past_self = np.cumsum(index == own[:, None], axis=1)[:, :k_max].astype(bool)
        neighbours = np.where(past_self, index[:, 1:], index[:, :k_max])
        values = self.env(quadratic=False)[n_po : self.n_train]
        rows = np.arange(len(index))
        blocks = []
        for k in LANDSCAPE_NEIGHBOURS:
            weights = sparse.csr_matrix(
                (np.full(len(index) * k, 1.0 / k), (np.repeat(rows, k), neighbours[:, :k].ravel())),
                shape=(len(index), len(bg)),
            )
            blocks.append(weights @ values)
        return np.concatenate(blocks, axis=1)

    def design(self, name: str, quadratic_env: bool, group: str) -> tuple[np.ndarray, list[int]]:
        """The (n_train + n_sites, D) matrix of covariate set `name` for the species of `group`,
        and the columns a learner must hold constant when it predicts (the effort covariate)."""
        spec = parse_set(name)
        blocks = [self.env(quadratic_env)] if spec.with_env else []
        if spec.effort:
            blocks.append(self.effort(spec.embedding, group)[:, None])
        elif spec.embedding is not None:
            values = self.embedding(spec.embedding)
            if spec.with_env and values.shape[1] > self.options.pcs:
                values = self._principal_components(spec.embedding, values)
            blocks.append(values)
        X = np.concatenate(blocks, axis=1).astype(np.float32)
        return X, [X.shape[1] - 1] if spec.effort else []

    def effort(self, embedding: str, group: str) -> np.ndarray:
        """Sampling effort of `group` at every point: the logit of a model that tells the group's
        presence records (all its species) from background points by location alone.

        Presence records pile up where people look (roads, towns, reserves); the test surveys do
        not. Fitted beside env and held constant at prediction, this covariate soaks up that
        observer bias so the env terms describe the species (Warton et al. 2013, PLoS ONE
        8:e79168, model-based control of observer bias).
        """
        key = f"effort:{embedding}:{group}"
        if key not in self._cache:
            from geoloc.sdm.learners import get_learner

            values = self.embedding(embedding)
            n_po = len(self.region.po)
            records = (self.region.po["group"].astype(str) == group).to_numpy()
            rows = np.r_[np.flatnonzero(records), np.arange(n_po, self.n_train)]
            labels = np.r_[np.ones(records.sum()), np.zeros(self.n_train - n_po)]
            model = get_learner("logistic", C=EFFORT_C, device=self.device, seed=self.options.seed)
            model.fit(values[rows], labels)
            self._cache[key] = model.decision_function(values)
        return self._cache[key]

    def _principal_components(self, name: str, values: np.ndarray) -> np.ndarray:
        key = f"pca:{name}"
        if key not in self._cache:
            # fitted on the training points only: the test sites never shape the covariates
            pca = PCA(n_components=self.options.pcs, random_state=self.options.seed).fit(
                values[: self.n_train]
            )
            self._cache[key] = pca.transform(values)
        return self._cache[key]
