"""The DISDAT benchmark's tables: mean AUC per region and configuration, the wide table and
figure, and paired per-species differences between configurations with bootstrap CIs."""

from __future__ import annotations

import pandas as pd

from geoloc.sdm.stats import paired_difference

KEYS = ["background", "covariates", "learner"]  # one configuration


def summarise(per_species: pd.DataFrame) -> pd.DataFrame:
    """Mean AUC per region x background x covariate set x learner, plus an `ALL` row per
    configuration (the species-weighted mean over every region, as the literature reports it)."""
    keys = KEYS
    by_region = (
        per_species.groupby(["region", *keys], sort=False)["auc"]
        .agg(mean_auc="mean", species="count")
        .reset_index()
    )
    overall = (
        per_species.groupby(keys, sort=False)["auc"]
        .agg(mean_auc="mean", species="count")
        .reset_index()
        .assign(region="ALL")
    )
    return pd.concat([by_region, overall], ignore_index=True)


def auc_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Wide table: one row per region (and ALL), one column per configuration."""
    summary = summary.assign(config=config_labels(summary))
    regions = list(dict.fromkeys(summary["region"]))
    table = summary.pivot(index="region", columns="config", values="mean_auc")
    counts = summary.groupby("region")["species"].max()
    table = table.loc[regions, list(dict.fromkeys(summary["config"]))]
    table.index = [f"{r} ({counts[r]})" for r in regions]
    return table


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub markdown table of AUCs with three decimals (for RESULTS.md)."""
    lines = [
        "| region (species) | " + " | ".join(table.columns) + " |",
        "|---" * (len(table.columns) + 1) + "|",
    ]
    for index, row in table.iterrows():
        cells = ["" if pd.isna(v) else f"{v:.3f}" for v in row]
        lines.append(f"| {index} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def auc_figure(summary: pd.DataFrame):
    """Grouped bars of mean AUC per region for every configuration (plotly Figure)."""
    import plotly.graph_objects as go

    figure = go.Figure()
    summary = summary.assign(config=config_labels(summary))
    for config, part in summary.groupby("config", sort=False):
        figure.add_bar(
            name=config,
            x=part["region"] + " (" + part["species"].astype(str) + ")",
            y=part["mean_auc"],
        )
    figure.update_layout(
        barmode="group",
        title="DISDAT: mean AUC on the presence/absence test sites",
        yaxis={"title": "mean AUC over species", "range": [0.5, 0.8]},
        legend_title="covariates / learner / background",
    )
    return figure


def config_labels(frame: pd.DataFrame) -> pd.Series:
    """`covariates / learner / background` of every row."""
    return frame["covariates"] + " / " + frame["learner"] + " / " + frame["background"]


def paired_table(per_species: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Paired per-species differences (same species, same test sites) with bootstrap 95% CIs,
    per region and over all species (`ALL`), for every comparison of `comparisons`."""
    rows = []
    for config, baseline in comparisons(per_species):
        a, b = (_select(per_species, c) for c in (config, baseline))
        both = a.join(b, lsuffix="_a", rsuffix="_b", how="inner")
        for region, part in [*both.groupby(level="region", sort=False), ("ALL", both)]:
            difference = paired_difference(part["auc_a"], part["auc_b"], n_boot, seed)
            rows.append(
                {"region": region, **_prefixed(config, ""), **_prefixed(baseline, "baseline_")}
                | difference
            )
    return pd.DataFrame(rows)


def comparisons(per_species: pd.DataFrame) -> list[tuple[tuple, tuple]]:
    """(configuration, baseline) pairs worth a paired test, each as (background, covariates,
    learner): every set against `env` and against `env+coords` (does a location embedding add
    over the environment, and over coordinates?), an ensemble against each of its members
    (`a+b` against `a` and `b`, where those ran too), target-group against random background,
    taxon-group against target-group background."""
    configs = list(dict.fromkeys(per_species[KEYS].itertuples(index=False, name=None)))
    present = set(configs)
    pairs = []
    for background, covariates, learner in configs:
        for baseline in ("env", "env+coords"):
            if covariates not in ("env", baseline) and (background, baseline, learner) in present:
                pairs.append(((background, covariates, learner), (background, baseline, learner)))
        for member in _member_labels(learner):
            if (background, covariates, member) in present:
                pairs.append(((background, covariates, learner), (background, covariates, member)))
        baseline = {"target_group": "random", "taxon_group": "target_group"}.get(background)
        if baseline and (baseline, covariates, learner) in present:
            pairs.append(((background, covariates, learner), (baseline, covariates, learner)))
    return pairs


def _member_labels(learner: str) -> list[str]:
    parts = learner.split("+")
    return [part.rpartition("*")[2] for part in parts] if len(parts) > 1 else []


def _select(per_species: pd.DataFrame, config: tuple) -> pd.DataFrame:
    chosen = (per_species[KEYS] == pd.Series(config, index=KEYS)).all(axis=1)
    return per_species.loc[chosen].set_index(["region", "species"])[["auc"]]


def _prefixed(config: tuple, prefix: str) -> dict:
    return {f"{prefix}{key}": value for key, value in zip(KEYS, config, strict=True)}
