"""The identification model: labels from the taxonomy, fused components, saving and loading.

One model directory (`models/identifier/<ds>/`) holds everything inference needs: the rank (e.g.
family) classifier, the common-species classifier, the all-species prototypes, the thresholds
calibrated on validation (image-only and with the location prior), the location prior head and a
copy of the location encoder it sits on, and the name of the image backbone.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from geoloc.embed.store import EmbeddingTable
from geoloc.errors import GeolocError
from geoloc.identify.classifier import EmbeddingClassifier
from geoloc.identify.hybrid import Routed, Thresholds, route
from geoloc.identify.location_prior import LocationPrior, fuse
from geoloc.identify.prototypes import PrototypeClassifier
from geoloc.io import atomic_path, write_json

MODEL_FILE, ENCODER_FILE, META_FILE = "model.pt", "encoder.pt", "meta.json"
MODEL_VERSION = 1


@dataclass
class Labels:
    """Embedding rows joined with the taxonomy: species and rank indices per row."""

    rows: np.ndarray  # indices into the embedding table
    species_keys: np.ndarray  # (S,)
    species_names: list[str]
    y: np.ndarray  # (N,) species index
    rank_names: list[str]
    y_rank: np.ndarray  # (N,) rank index


def join_taxonomy(table: EmbeddingTable, taxonomy: pd.DataFrame, rank: str) -> Labels:
    """Keep embedded observations that the filtered table knows, with species and `rank` labels."""
    need = {"gbif_id", "species_key", "species", rank}
    missing = need - set(taxonomy.columns)
    if missing:
        raise GeolocError(f"filtered table lacks column(s) {', '.join(sorted(missing))}")
    tax = taxonomy.drop_duplicates("gbif_id").set_index("gbif_id")
    known = np.isin(table.gbif_id, tax.index.to_numpy())
    rows = np.flatnonzero(known)
    if len(rows) == 0:
        raise GeolocError("no embedded observation is in the filtered table (wrong dataset?)")
    sub = tax.loc[table.gbif_id[rows]]
    species_keys, y = np.unique(sub["species_key"].to_numpy(np.int64), return_inverse=True)
    first_name = sub.groupby("species_key")["species"].first()
    rank_values = sub[rank].fillna("?").astype(str).to_numpy()
    rank_names, y_rank = np.unique(rank_values, return_inverse=True)
    return Labels(
        rows=rows,
        species_keys=species_keys,
        species_names=[str(first_name[k]) for k in species_keys],
        y=y,
        rank_names=[str(n) for n in rank_names],
        y_rank=y_rank,
    )


def text_matrix(table: EmbeddingTable, species_keys: np.ndarray) -> np.ndarray | None:
    """(S, D) species-name embeddings aligned to `species_keys` (NaN rows where missing), or None
    when the backbone has no text tower or its text space differs from the image space."""
    if table.text is None or table.text.embedding.shape[1] != table.dim:
        return None
    out = np.full((len(species_keys), table.dim), np.nan, dtype=np.float32)
    where = {int(k): i for i, k in enumerate(table.text.species_key)}
    for i, key in enumerate(species_keys):
        if int(key) in where:
            out[i] = table.text.embedding[where[int(key)]]
    return out if np.isfinite(out).all(axis=1).any() else None


@dataclass
class IdentifierModel:
    """The fitted identifier; `identify` runs the hybrid routing, with the prior when given a place."""

    species_keys: np.ndarray
    species_names: list[str]
    common_idx: np.ndarray
    rare_mask: np.ndarray
    classifier: EmbeddingClassifier | None
    prototypes: PrototypeClassifier
    thresholds: Thresholds
    rank: str
    rank_names: list[str]
    rank_classifier: EmbeddingClassifier
    prior: LocationPrior | None = None
    thresholds_prior: Thresholds | None = None
    classifier_other: bool = False  # the classifier has a last "other (rare)" column
    info: dict = field(default_factory=dict)

    def components(self, X, lat=None, lon=None) -> dict[str, np.ndarray]:
        """Class probabilities of each component; fused with the prior where a place is given."""
        presence = None
        if self.prior is not None and lat is not None:
            presence = self.prior.presence(lat, lon)
        return self.fused_components(X, presence)

    def fused_components(self, X, presence: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """`components` given precomputed presence probabilities (N, S), or None for image only."""
        return self.combine(self.image_probas(X), presence)

    def image_probas(self, X) -> dict[str, np.ndarray]:
        """The classifier's (all its columns) and the prototypes' probabilities of images `X`."""
        if self.classifier is None:
            clf = np.zeros((len(X), 0), dtype=np.float32)
        else:
            clf = self.classifier.predict_proba(X)
        return {"classifier": clf, "prototype": self.prototypes.predict_proba(X)}

    def combine(self, image: dict[str, np.ndarray], presence: np.ndarray | None):
        """The components from `image_probas`, fused with `presence` when given.

        The classifier's columns are the common species, plus, when it was trained with one, an
        "other" column that absorbs rare-species images (so its confidence drops on them); that
        column takes the presence of the likeliest rare species and is dropped after fusion.
        """
        clf, proto = image["classifier"], image["prototype"]
        if presence is not None and clf.shape[1]:
            cols = presence[:, self.common_idx]
            if self.classifier_other:
                cols = np.column_stack([cols, presence[:, self.rare_mask].max(axis=1)])
            clf = fuse(clf, cols)
        out = {"classifier": clf[:, : len(self.common_idx)], "prototype": proto}
        if presence is not None:
            out["prior"] = presence
            out["prototype"] = fuse(proto, presence)
        return out

    def identify(self, X, lat=None, lon=None) -> tuple[Routed, dict[str, np.ndarray]]:
        comps = self.components(X, lat, lon)
        thresholds = self.thresholds_prior if "prior" in comps else self.thresholds
        routed = route(
            comps["classifier"], comps["prototype"], self.common_idx, self.rare_mask, thresholds
        )
        return routed, comps

    def save(self, model_dir: str | Path, encoder_path: str | Path | None = None) -> None:
        """Write model.pt (+ encoder.pt copy when a prior exists, + meta.json) into `model_dir`."""
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "format": "geoloc.identifier",
            "version": MODEL_VERSION,
            "species_keys": self.species_keys.tolist(),
            "species_names": list(self.species_names),
            "common_idx": self.common_idx.tolist(),
            "rare_mask": self.rare_mask.tolist(),
            "classifier": self.classifier.state() if self.classifier else None,
            "prototypes": self.prototypes.state(),
            "thresholds": self.thresholds.as_dict(),
            "thresholds_prior": self.thresholds_prior.as_dict() if self.thresholds_prior else None,
            "rank": self.rank,
            "rank_names": list(self.rank_names),
            "rank_classifier": self.rank_classifier.state(),
            "prior": self.prior.state() if self.prior else None,
            "classifier_other": self.classifier_other,
            "info": self.info,
        }
        with atomic_path(model_dir / MODEL_FILE) as tmp:
            torch.save(state, tmp)
        if self.prior is not None:
            with atomic_path(model_dir / ENCODER_FILE) as tmp:
                shutil.copyfile(encoder_path, tmp)
        # standard JSON: an unreachable threshold ("never fires", infinity) is written as null
        keys = ("species_names", "rank", "rank_names", "info", "thresholds", "thresholds_prior")
        write_json(model_dir / META_FILE, {k: state[k] for k in keys})


def load_identifier(model_dir: str | Path) -> IdentifierModel:
    """Rebuild a saved identifier (and its location prior, from the encoder copy beside it); a
    missing, truncated, foreign or incomplete model is one clear GeolocError."""
    path = Path(model_dir) / MODEL_FILE
    if not path.is_file():
        raise GeolocError(f"no identification model in {model_dir} (run `geoloc train-identifier`)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file surfaces as many error types
        raise GeolocError(f"{path}: cannot be read as a torch file ({err})") from None
    if not isinstance(state, dict) or state.get("format") != "geoloc.identifier":
        raise GeolocError(f"{path} is not a geoloc identification model")
    if state.get("version") != MODEL_VERSION:
        raise GeolocError(
            f"{path}: identification model version {state.get('version')} is not supported "
            f"(this geoloc reads version {MODEL_VERSION}); retrain with `geoloc train-identifier`"
        )
    try:
        return _rebuild(state, Path(model_dir))
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as err:
        raise GeolocError(f"{path}: incomplete or damaged identification model ({err!r})") from None


def _rebuild(state: dict, model_dir: Path) -> IdentifierModel:
    """The model from a checked state (a damaged one raises KeyError, TypeError, ...)."""
    prior = None
    if state["prior"] is not None:
        from geoloc.encoders.location_encoder import load_location_encoder

        encoder = load_location_encoder(model_dir / ENCODER_FILE)
        prior = LocationPrior.from_state(state["prior"], encoder)
    clf = state["classifier"]
    return IdentifierModel(
        species_keys=np.array(state["species_keys"], dtype=np.int64),
        species_names=state["species_names"],
        common_idx=np.array(state["common_idx"], dtype=np.int64),
        rare_mask=np.array(state["rare_mask"], dtype=bool),
        classifier=EmbeddingClassifier.from_state(clf) if clf else None,
        prototypes=PrototypeClassifier.from_state(state["prototypes"]),
        thresholds=Thresholds(**state["thresholds"]),
        rank=state["rank"],
        rank_names=state["rank_names"],
        rank_classifier=EmbeddingClassifier.from_state(state["rank_classifier"]),
        prior=prior,
        thresholds_prior=Thresholds(**state["thresholds_prior"])
        if state["thresholds_prior"]
        else None,
        classifier_other=state["classifier_other"],
        info=state["info"],
    )
