"""The one list of names for each kind of pluggable thing, and where each one is implemented.

params.py validates names against these tables and the code builds things through them, so adding
a learner, a covariate set, a positional encoding or a network is one line here plus its code.
Entries are "module:attribute" strings, imported on first use: reading the names costs nothing
(params validation runs before torch is imported).
"""

from __future__ import annotations

import importlib

from geoloc.errors import GeolocError


class Registry:
    """Names of one kind of thing mapped to lazily imported implementations."""

    def __init__(self, kind: str, entries: dict[str, str]):
        self.kind = kind
        self._entries = dict(entries)

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def check(self, name: str) -> str:
        """`name` if registered, else a user error listing the known names."""
        if name not in self._entries:
            raise GeolocError(f"unknown {self.kind} {name!r}; known: {', '.join(self._entries)}")
        return name

    def get(self, name: str):
        """The implementation registered as `name` (imported now)."""
        module, attribute = self._entries[self.check(name)].split(":")
        return getattr(importlib.import_module(module), attribute)

    def targets(self) -> dict[str, str]:
        """name -> "module:attribute", for tools that follow imports without running them."""
        return dict(self._entries)


# Positional encodings of (lat, lon): params `model.pe`.
ENCODINGS = Registry(
    "positional encoding",
    {
        "sh": "geoloc.encoders.positional.sh:SphericalHarmonics",
        "rff": "geoloc.encoders.positional.rff:RandomFourierEncoding",
        "wrap": "geoloc.encoders.positional.wrap:WrapEncoding",
        "sphere2vec": "geoloc.encoders.positional.sphere2vec:Sphere2Vec",
        "raw": "geoloc.encoders.positional.raw:RawEncoding",
    },
)

# Networks on top of an encoding: params `model.net`.
NETWORKS = Registry(
    "network",
    {
        "siren": "geoloc.encoders.networks:Siren",
        "resmlp": "geoloc.encoders.networks:ResMLP",
        "mlp": "geoloc.encoders.networks:MLP",
    },
)

# SDM learners (scikit-learn style, all species at once): params `sdm.learner`, bench --learners.
LEARNERS = Registry(
    "SDM learner",
    {
        "logistic": "geoloc.sdm.learners:BatchedLogistic",
        "rf_downsampled": "geoloc.sdm.learners:DownsampledRandomForest",
        "mlp": "geoloc.sdm.learners:BatchedMLP",
        "maxent": "geoloc.sdm.multispecies:maxent",
        "an_full": "geoloc.sdm.multispecies:an_full",
    },
)

# SDM covariate sets, each a builder f(CovariateContext) -> f(lat, lon) -> (N, D): params
# `sdm.covariates`, and the base sets of `geoloc bench disdat --sets`.
COVARIATES = Registry(
    "covariate set",
    {
        "trained": "geoloc.sdm.covariates:trained_set",
        "geoclip": "geoloc.sdm.covariates:geoclip_set",
        "sh": "geoloc.sdm.covariates:sh_set",
        "rff": "geoloc.sdm.covariates:rff_set",
        "wrap": "geoloc.sdm.covariates:wrap_set",
        "coords": "geoloc.sdm.covariates:coords_set",
        "random": "geoloc.sdm.covariates:random_set",
    },
)

# Named image backbones: params `embed.backbone`, which also takes one of BACKBONE_SCHEMES
# (`open_clip:<arch>/<pretrained>`, `timm:<model>`) or a checkpoint folder (geoloc/embed/backbones.py).
BACKBONES = Registry(
    "backbone",
    {
        "efficientnet-lite0": "geoloc.embed.backbones:EFFICIENTNET_LITE0",
        "bioclip-2": "geoloc.embed.backbones:BIOCLIP_2",
        "bioclip": "geoloc.embed.backbones:BIOCLIP",
        "dinov2-vitb14": "geoloc.embed.backbones:DINOV2_VITB14",
        "dinov2-vitl14": "geoloc.embed.backbones:DINOV2_VITL14",
    },
)
BACKBONE_SCHEMES = ("open_clip:", "timm:")
BACKBONE_FORMS = (
    f"use one of {', '.join(BACKBONES.names())}, open_clip:<arch>/<pretrained>, timm:<model>, "
    "or a local checkpoint folder"
)
