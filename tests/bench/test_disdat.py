"""The DISDAT benchmark on a tiny region built here in the same format as the real data."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from geoloc.bench.disdat import (
    REGION_MODEL,
    CovariateSet,
    DisdatOptions,
    EnvTransform,
    Member,
    RegionCovariates,
    RegionFrame,
    evaluate_region,
    fit_predict_group,
    load_region,
    paired_table,
    parse_learner,
    parse_set,
    region_names,
    region_sites,
    run_benchmark,
)
from geoloc.bench.disdat.covariates import LANDSCAPE_NEIGHBOURS
from geoloc.bench.disdat.data import PACKAGE_TAXA
from geoloc.bench.disdat.learners import group_training
from geoloc.cli import main
from geoloc.errors import GeolocError
from geoloc.geometry import great_circle_km
from geoloc.params import TrainParams
from geoloc.sdm import CovariateContext, coords_features, covariate_function

GROUPS = {"bird": ["tst01", "tst02"], "plant": ["tst03", "tst04"]}
# species -> (env column it prefers high values of); tst02 likes low temperature
PREFERENCE = {
    "tst01": ("temp", 1.0),
    "tst02": ("temp", -1.0),
    "tst03": ("rain", 1.0),
    "tst04": ("rain", -1.0),
}


def _points(rng, n, north_bias=0.0):
    """Random points; with `north_bias` that share of them lands in the northern quarter,
    like records piling up near a town."""
    lat = rng.uniform(-20.0, -18.0, n)
    biased = rng.random(n) < north_bias
    lat[biased] = rng.uniform(-18.5, -18.0, biased.sum())
    lon = rng.uniform(145.0, 147.0, n)
    return pd.DataFrame(
        {
            "lon": lon,
            "lat": lat,
            "temp": (lat + 19.0) * 10 + rng.normal(0, 2, n),  # a smooth gradient with noise
            "rain": rng.normal(100, 20, n).astype(np.int32),
            "veg": rng.integers(1, 4, n).astype(np.int32),  # categorical codes 1..3
        }
    )


def _suitability(frame, species):
    column, sign = PREFERENCE[species]
    z = (frame[column] - frame[column].mean()) / frame[column].std()
    return 1 / (1 + np.exp(-3 * sign * z))


def build_region(root: Path, name="TST", seed=0) -> Path:
    """Write one region folder + a parent metadata.json, as the real DISDAT data folder has."""
    rng = np.random.default_rng(seed)
    region = root / name
    region.mkdir(parents=True)
    pool = _points(rng, 3000, north_bias=0.5)
    po = []
    for group, members in GROUPS.items():
        for sp in members:
            chosen = rng.random(len(pool)) < 0.1 * _suitability(pool, sp)
            po.append(pool[chosen].assign(spid=sp, occ=1, group=group))
    po = pd.concat(po, ignore_index=True)
    bg = _points(rng, 400).assign(spid="pseudo1", occ=0, group=pd.NA)
    for frame in (po, bg):
        frame["region"] = name
        frame["siteid"] = [f"s{i}" for i in range(len(frame))]
    po.to_parquet(region / "train_po.parquet")
    bg.to_parquet(region / "train_bg.parquet")

    sites = []
    for group, n in (("bird", 120), ("plant", 80)):
        frame = _points(rng, n).assign(group=group)
        for members_group, members in GROUPS.items():
            for sp in members:
                values = (rng.random(n) < _suitability(frame, sp)).astype(float)
                frame[sp] = values if members_group == group else np.nan
        sites.append(frame)
    pa = pd.concat(sites, ignore_index=True)
    pa.loc[0, "tst01"] = np.nan  # one bird site not surveyed for tst01
    pa.loc[1, "veg"] = 9  # a vegetation class never seen in training
    for sp in PREFERENCE:
        pa[sp] = pa[sp].astype("Int8")
    pa.insert(0, "region", name)
    pa["siteid"] = [f"t{i}" for i in range(len(pa))]
    pa.to_parquet(region / "test_pa.parquet")

    meta = {
        "env_columns": ["temp", "rain", "veg"],
        "categorical_columns": ["veg"],
        "groups": {g: {"description": g, "species": s} for g, s in GROUPS.items()},
    }
    (root / "metadata.json").write_text(json.dumps({"regions": {name: meta}}))
    return region


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("disdat")
    build_region(root)
    return root


@pytest.fixture(scope="module")
def region(data_dir):
    return load_region(data_dir / "TST")


def test_loader_reads_tables_metadata_and_groups(data_dir, region):
    assert region_names(data_dir) == ["TST"]
    assert region.species == ["tst01", "tst02", "tst03", "tst04"]
    assert region.groups == GROUPS
    assert region.categorical_columns == ["veg"]
    assert len(region.bg) == 400 and set(region.po["spid"]) == set(PREFERENCE)
    assert region.group_of("tst03") == "plant"


def test_loader_errors_are_user_errors(tmp_path, data_dir):
    with pytest.raises(GeolocError, match="no region folders"):
        region_names(tmp_path)
    lonely = tmp_path / "XX"
    lonely.mkdir()
    with pytest.raises(GeolocError, match="no metadata for region XX"):
        load_region(lonely)
    broken = tmp_path / "copy"
    build_region(broken)
    pd.read_parquet(broken / "TST" / "train_bg.parquet").drop(columns="rain").to_parquet(
        broken / "TST" / "train_bg.parquet"
    )
    with pytest.raises(GeolocError, match="train_bg.parquet: missing column.*rain"):
        load_region(broken / "TST")


def test_metadata_may_sit_in_the_region_folder(tmp_path):
    region_dir = build_region(tmp_path / "a")
    meta = json.loads((tmp_path / "a" / "metadata.json").read_text())["regions"]["TST"]
    (tmp_path / "a" / "metadata.json").unlink()
    (region_dir / "metadata.json").write_text(json.dumps(meta))
    assert load_region(region_dir).species == ["tst01", "tst02", "tst03", "tst04"]


def test_null_group_rule(region):
    pa = region.pa
    mask, labels = region.test_labels("tst01")
    birds = (pa["group"] == "bird").to_numpy()
    # only bird sites, minus the one bird site where tst01 was not surveyed
    assert mask.sum() == birds.sum() - 1 and not mask[0] and not (mask & ~birds).any()
    assert np.array_equal(labels, pa.loc[mask, "tst01"].to_numpy(int))
    plant_mask, _ = region.test_labels("tst03")
    assert np.array_equal(plant_mask, (pa["group"] == "plant").to_numpy())


def test_env_transform_standardises_and_one_hot_encodes(region):
    train = pd.concat([region.po, region.bg])
    transform = EnvTransform(region.env_columns, region.categorical_columns).fit(train)
    assert transform.feature_names == ["temp", "rain", "veg=1", "veg=2", "veg=3"]
    X = transform.transform(train)
    assert np.allclose(X[:, :2].mean(0), 0, atol=1e-5) and np.allclose(
        X[:, :2].std(0), 1, atol=1e-4
    )
    assert np.array_equal(X[:, 2:].sum(1), np.ones(len(train)))
    test = transform.transform(region.pa)
    assert np.array_equal(test[1, 2:], np.zeros(3))  # unseen category 9: the reference level
    assert np.array_equal(test[2:, 2:].sum(1), np.ones(len(region.pa) - 2))
    quadratic = EnvTransform(region.env_columns, region.categorical_columns, quadratic=True)
    Xq = quadratic.fit(train).transform(train)
    assert quadratic.feature_names[2:4] == ["temp^2", "rain^2"]
    assert np.allclose(Xq[:, 2:4], X[:, :2] ** 2, atol=1e-5) and Xq.shape[1] == 7


def test_covariate_set_names():
    assert parse_set("env") == CovariateSet(True, None)
    assert parse_set("rff") == CovariateSet(False, "rff")
    assert parse_set("env+trained") == CovariateSet(True, "trained")
    assert parse_set("env+effort:rff") == CovariateSet(True, "rff", effort=True)
    for bad in ("temp", "env+env", "env+rff+sh", "coords+env", "effort:rff", "env+effort:x"):
        with pytest.raises(GeolocError, match="unknown covariate set"):
            parse_set(bad)


def test_learner_names_ensembles_weights_and_options():
    plain = parse_learner("logistic+rf_downsampled")
    assert [m.name for m in plain.members] == ["logistic", "rf_downsampled"]
    assert plain.weights == (0.5, 0.5)
    weighted = parse_learner("3*maxent:seeds=3:lr=0.001+1*logistic:C=0.1:class_weight=none")
    assert weighted.weights == (0.75, 0.25)
    assert weighted.members[0] == Member("maxent", (("seeds", 3), ("lr", 0.001)))
    assert weighted.members[1].options == (("C", 0.1), ("class_weight", "none"))
    assert weighted.members[0].label == "maxent:seeds=3:lr=0.001"
    assert weighted.members[0].build("cpu", 5).get_params()["seeds"] == 3
    for bad in ("logistic+logistic", "svm", "logistic+", "x*logistic", "0*logistic", "mlp:C"):
        with pytest.raises(GeolocError, match="bad learner"):
            parse_learner(bad)
    for bad in ("maxent:seeds=0", "logistic:C=0.1+rf_downsampled:trees=5"):
        with pytest.raises(GeolocError, match="bad option"):
            parse_learner(bad)


def test_region_frame_scales_the_extent_isotropically():
    lat, lon = np.array([-20.0, -18.0, -19.0]), np.array([145.0, 146.0, 147.0])
    flat, flon = RegionFrame(lat, lon)(lat, lon)
    span = max(np.ptp(flat), np.ptp(flon))
    assert span == pytest.approx(90.0) and abs(flat.mean()) < 45 and abs(flon).max() <= 45.0


def test_design_matrices(region):
    covariates = RegionCovariates(region, DisdatOptions(pcs=5))
    n = len(region.po) + len(region.bg) + len(region.pa)

    def shape(name, quadratic=False):
        X, held = covariates.design(name, quadratic, "bird")
        assert held == []
        return X.shape

    assert shape("env") == (n, 5)
    assert shape("env", quadratic=True) == (n, 7)
    assert shape("coords", quadratic=True) == (n, 5)
    # an embedding no wider than `pcs` is kept as it is; a wider one is reduced to `pcs` PCs
    assert shape("env+coords") == (n, 5 + 5)
    assert shape("env+sh") == (n, 5 + 5)
    assert shape("env+landscape") == (n, 5 + 5)
    assert shape("rff")[1] == 2 * 3 * 64


def test_base_sets_are_the_pipeline_sets_built_through_the_registry(region):
    covariates = RegionCovariates(region, DisdatOptions(seed=2))
    lat, lon = covariates.lat, covariates.lon
    np.testing.assert_array_equal(covariates.embedding("coords"), coords_features(lat, lon))
    rff = covariate_function("rff", CovariateContext(REGION_MODEL, seed=2))
    np.testing.assert_array_equal(covariates.embedding("rff"), rff(*covariates.frame(lat, lon)))


def test_landscape_is_the_mean_env_of_the_nearest_other_background_points(region):
    covariates = RegionCovariates(region, DisdatOptions())
    landscape = covariates.embedding("landscape")
    n_po, n_train = len(region.po), covariates.n_train
    env_bg = covariates.env(quadratic=False)[n_po:n_train]
    width = env_bg.shape[1]
    assert landscape.shape == (len(covariates.lat), width * len(LANDSCAPE_NEIGHBOURS))
    bg_lat, bg_lon = region.bg["lat"].to_numpy(), region.bg["lon"].to_numpy()
    for row in (0, n_po + 3, n_train + 5):  # a record, a background point, a survey site
        km = great_circle_km(covariates.lat[row], covariates.lon[row], bg_lat, bg_lon)
        if n_po <= row < n_train:
            km[row - n_po] = np.inf  # never its own neighbour
        nearest = np.argsort(km)
        for scale, k in enumerate(LANDSCAPE_NEIGHBOURS):
            np.testing.assert_allclose(
                landscape[row, scale * width : (scale + 1) * width],
                env_bg[nearest[:k]].mean(0),
                rtol=1e-5,
            )


def test_landscape_needs_more_background_points_than_it_averages(region):
    few = dataclasses.replace(region, bg=region.bg.iloc[: max(LANDSCAPE_NEIGHBOURS)])
    with pytest.raises(GeolocError, match="landscape averages the 100 nearest background"):
        RegionCovariates(few, DisdatOptions()).embedding("landscape")


def test_effort_covariate_follows_where_the_group_was_recorded(region):
    covariates = RegionCovariates(region, DisdatOptions())
    X, held = covariates.design("env+effort:coords", True, "bird")
    assert X.shape[1] == 8 and held == [7]
    effort = X[:, 7]
    n_po = len(region.po)
    north = np.r_[region.po["lat"], region.bg["lat"], region.pa["lat"]] > -18.5
    # records were drawn with a pull to the north, the background was not
    assert effort[north].mean() > effort[~north].mean() + 0.5
    assert not np.array_equal(
        effort, covariates.design("env+effort:coords", True, "plant")[0][:, 7]
    )
    assert np.isfinite(effort[:n_po]).all()


@pytest.mark.parametrize("background", ["random", "target_group"])
def test_each_species_model_sees_only_its_own_presences_and_its_background(region, background):
    """A learner fitted per group on shared rows must equal one fitted on the species alone:
    its records against the random points, or against every other record of its group."""
    X, _ = RegionCovariates(region, DisdatOptions()).design("env", True, "bird")
    grouped = fit_predict_group(Member("logistic"), X, region, "bird", background, seed=0)
    n_po, n_bg = len(region.po), len(region.bg)
    own = (region.po["spid"] == "tst02").to_numpy()
    if background == "random":
        alone_rows = np.r_[np.flatnonzero(own), n_po + np.arange(n_bg)]
        y = np.r_[np.ones(own.sum()), np.zeros(n_bg)]
    else:
        alone_rows = np.flatnonzero(region.po["spid"].isin(GROUPS["bird"]))
        y = own[alone_rows].astype(float)
    from geoloc.sdm.learners import get_learner

    model = get_learner("logistic", device="cpu").fit(X[alone_rows], y)
    sites = (region.pa["group"] == "bird").to_numpy()
    alone = model.predict_proba(X[n_po + n_bg :][sites])[:, 1]
    assert grouped.shape == (sites.sum(), 2)
    assert np.corrcoef(grouped[:, 1], alone)[0, 1] > 0.999


def test_target_group_background_cancels_the_observer_bias_of_the_group(region):
    # every species' records pile up in the north (near a "town"); the random background does
    # not, so against it tst02 (likes the cool south) looks like it likes the north; the
    # records of its group share the pile, so against them it does not
    result = evaluate_region(
        region, ["env"], ["logistic"], backgrounds=["random", "target_group"]
    ).per_species
    auc = result[result["species"] == "tst02"].set_index("background")["auc"]
    assert auc["random"] < 0.6 and auc["target_group"] > auc["random"] + 0.2


def test_multi_species_learners_fit_one_network_per_region_on_record_sites(region):
    sites = region_sites(region)
    n_sites = len(region.po[["lat", "lon"]].drop_duplicates())
    assert sites.presence.shape == (n_sites, 4) and sites.presence.sum() == len(region.po)
    assert sites.species_groups.tolist() == [[True, False]] * 2 + [[False, True]] * 2
    first = region.po.iloc[sites.first_record]
    plant_sites = set(
        region.po.loc[region.po["group"] == "plant", ["lat", "lon"]].itertuples(index=False)
    )
    expected = [site in plant_sites for site in first[["lat", "lon"]].itertuples(index=False)]
    np.testing.assert_array_equal(sites.row_groups[:, 1], expected)
    assert sites.row_groups.all(axis=1).any()  # a site where both groups were recorded
    presence, groups = sites.fit_rows("random", len(region.bg))
    assert presence.shape == (n_sites + 400, 4) and presence[n_sites:].nnz == 0
    assert groups.row_groups[n_sites:].all() and not groups.row_groups[:n_sites].any()
    network = "maxent:epochs=15:hidden=32:lr=0.003"
    result = evaluate_region(
        region,
        ["env"],
        [network, "logistic", f"{network}+logistic"],
        backgrounds=["target_group", "random"],
    ).per_species
    assert len(result) == 2 * 3 * 4 and result["auc"].notna().all()
    tgb = result[result["background"] == "target_group"].set_index(["learner", "species"])
    assert tgb.loc[(network, "tst01"), "auc"] > 0.85
    assert tgb.loc[(network, "tst02"), "auc"] > 0.7  # the group's records cancel the pile
    with pytest.raises(GeolocError, match="per-group effort covariate"):
        evaluate_region(region, ["env+effort:coords"], [network])


def test_a_group_of_one_species_has_no_target_group_background(tmp_path):
    region_dir = build_region(tmp_path)
    meta = json.loads((tmp_path / "metadata.json").read_text())
    meta["regions"]["TST"]["groups"]["plant"]["species"] = ["tst03"]
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    lonely = load_region(region_dir)
    with pytest.raises(GeolocError, match="group.s. plant hold one species.*--background random"):
        evaluate_region(lonely, ["env"], ["logistic"])
    assert (
        evaluate_region(lonely, ["env"], ["logistic"], backgrounds=["random"])
        .per_species["auc"]
        .notna()
        .all()
    )


def _pooled_region(tmp_path, name="TST", plant_species=("tst03", "tst04")):
    """The fixture region with both survey groups of one taxon in its metadata."""
    region_dir = build_region(tmp_path, name=name)
    meta = json.loads((tmp_path / "metadata.json").read_text())
    for group in meta["regions"][name]["groups"].values():
        group["taxon"] = "all"
    meta["regions"][name]["groups"]["plant"]["species"] = list(plant_species)
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    return load_region(region_dir)


def test_taxon_group_background_pools_the_records_of_one_taxon(tmp_path, region):
    pooled = _pooled_region(tmp_path)
    assert pooled.taxon_mates("bird") == ["bird", "plant"] and region.taxon_mates("bird") == [
        "bird"
    ]
    rows, targets, weights = group_training(pooled, "bird", "taxon_group")
    assert weights is None and len(rows) == len(pooled.po)  # every record of the taxon
    birds = pooled.po["spid"].isin(GROUPS["bird"]).to_numpy()
    assert targets.sum() == birds.sum() and targets.sum(axis=1)[~birds[rows]].max() == 0
    own_rows, own_targets, _ = group_training(pooled, "bird", "target_group")
    np.testing.assert_array_equal(own_rows, np.flatnonzero(birds))
    assert own_targets.sum() == birds.sum()
    sites = region_sites(pooled)
    assert sites.species_taxa.all() and sites.species_groups.sum() == 4
    _, groups = sites.fit_rows("taxon_group", len(pooled.bg))
    assert groups.species_groups.all()


def test_taxon_group_is_target_group_where_each_group_is_a_taxon(region):
    network = "maxent:epochs=5:hidden=16"
    result = evaluate_region(
        region, ["env"], ["logistic", network], backgrounds=["target_group", "taxon_group"]
    ).per_species
    auc = result.pivot_table(index=["learner", "species"], columns="background", values="auc")
    np.testing.assert_array_equal(auc["taxon_group"], auc["target_group"])


def test_a_lonely_group_has_a_taxon_group_background_when_its_taxon_has_others(tmp_path):
    pooled = _pooled_region(tmp_path, plant_species=("tst03",))
    with pytest.raises(GeolocError, match="plant hold one species, so there is no target_group"):
        evaluate_region(pooled, ["env"], ["logistic"])
    result = evaluate_region(pooled, ["env"], ["logistic"], backgrounds=["taxon_group"])
    assert result.per_species["auc"].notna().all()


def test_nsw_survey_groups_pool_by_taxon_as_deepmaxent_does(tmp_path):
    nsw = load_region(build_region(tmp_path, name="NSW"))  # its groups are not NSW's: its own
    assert nsw.taxon_mates("bird") == ["bird"]
    assert {g for g, t in PACKAGE_TAXA["NSW"].items() if t == "plants"} == {"ot", "ou", "rt", "ru"}
    nsw.groups = {"db": ["a"], "nb": ["b"], "ot": ["c"], "sr": ["d"]}
    nsw.taxa = PACKAGE_TAXA["NSW"]
    assert nsw.taxon_mates("nb") == ["db", "nb"] and nsw.taxon_mates("sr") == ["sr"]


def test_paired_table_compares_sets_members_and_backgrounds():
    rng = np.random.default_rng(0)
    rows = []
    for background in ("target_group", "random"):
        for covariates in ("env", "env+coords", "env+rff"):
            for learner in ("a", "b", "0.5*a+0.5*b"):
                for region in ("R1", "R2"):
                    for species in range(6):
                        auc = 0.7 + 0.05 * (covariates == "env+rff") + rng.normal(0, 0.01)
                        rows.append((region, f"s{species}", background, covariates, learner, auc))
    frame = pd.DataFrame(
        rows, columns=["region", "species", "background", "covariates", "learner", "auc"]
    )
    table = paired_table(frame, n_boot=200)
    pairs = set(
        table[
            [
                "covariates",
                "learner",
                "background",
                "baseline_covariates",
                "baseline_learner",
                "baseline_background",
            ]
        ].itertuples(index=False, name=None)
    )
    assert ("env+rff", "a", "random", "env", "a", "random") in pairs
    assert ("env+rff", "a", "random", "env+coords", "a", "random") in pairs
    assert ("env+coords", "a", "random", "env+coords", "a", "random") not in pairs
    assert ("env", "0.5*a+0.5*b", "random", "env", "b", "random") in pairs
    assert ("env", "a", "target_group", "env", "a", "random") in pairs
    assert len(pairs) == 2 * 3 * (3 + 2) + 3 * 3  # sets, members, background, per (bg, learner)
    rff = table[(table["covariates"] == "env+rff") & (table["baseline_covariates"] == "env")]
    overall = rff[(rff["region"] == "ALL") & (rff["learner"] == "a")].iloc[0]
    assert overall["n"] == 12 and overall["ci_low"] > 0.03 and overall["wins"] == 12
    assert set(table["region"]) == {"R1", "R2", "ALL"}


def test_end_to_end_on_the_fixture(data_dir, tmp_path):
    run = run_benchmark(
        data_dir,
        tmp_path / "out",
        covariate_sets=["env", "env+effort:coords"],
        learners=["logistic", "rf_downsampled", "logistic+rf_downsampled"],
        backgrounds=["random"],
    )
    per_species = run.per_species
    assert len(per_species) == 4 * 2 * 3 and per_species["auc"].notna().all()
    logistic = per_species[per_species["learner"] == "logistic"].set_index("species")
    env = logistic[logistic["covariates"] == "env"]
    corrected = logistic[logistic["covariates"] == "env+effort:coords"]
    assert env.loc["tst01", "auc"] > 0.9  # likes the warm north, where records pile up anyway
    # tst02 likes the cool south: the northern pile of records hides it from env alone,
    # the effort covariate takes the pile out
    assert env.loc["tst02", "auc"] < 0.6 < corrected.loc["tst02", "auc"] - 0.05
    assert set(env["n_sites"]) == {119, 120, 80}  # the null-group rule, end to end
    summary = run.summary
    assert set(summary["region"]) == {"TST", "ALL"}
    assert {"per_species.csv", "summary.csv", "paired.csv", "table.md", "timings.csv"} <= {
        p.name for p in (tmp_path / "out").iterdir()
    }
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["species"] == 4 and metrics["auc_ALL_random_env_logistic"] == pytest.approx(
        env["auc"].mean(), abs=1e-4
    )
    table = (tmp_path / "out" / "table.md").read_text()
    assert table.startswith("| region (species) | env / logistic / random |")
    assert "| TST (4) |" in table
    paired = pd.read_csv(tmp_path / "out" / "paired.csv")
    other_sets = paired[paired["covariates"] != paired["baseline_covariates"]]
    assert set(other_sets["covariates"]) == {"env+effort:coords"}
    ensembles = paired[paired["learner"] != paired["baseline_learner"]]
    assert set(ensembles["baseline_learner"]) == {"logistic", "rf_downsampled"}


def test_region_trained_encoder_set(region):
    options = DisdatOptions(
        pcs=4, train=TrainParams(epochs=1, batch_size=256, val_fraction=0.2, val_block_km=20)
    )
    result = evaluate_region(region, ["env+trained"], ["logistic"], options)
    assert result.per_species["auc"].notna().all() and "loss" in result.training


def test_cli(data_dir, tmp_path):
    runner = CliRunner()
    out = tmp_path / "cli"
    args = ["bench", "disdat", "--data", str(data_dir), "--out", str(out)]
    result = runner.invoke(main, [*args, "--sets", "env", "--learners", "logistic"])
    assert result.exit_code == 0, result.output
    assert "| TST (4) |" in result.output and (out / "per_species.csv").is_file()
    bad = runner.invoke(main, [*args, "--regions", "NOPE"])
    assert bad.exit_code == 1 and "Error: region(s) NOPE not in" in bad.output
    bad = runner.invoke(main, [*args, "--sets", "env+nope"])
    assert bad.exit_code == 1 and "unknown covariate set 'env+nope'" in bad.output
    bad = runner.invoke(main, [*args, "--learners", "logistic,svm"])
    assert bad.exit_code == 1 and "bad learner 'svm'" in bad.output
    bad = runner.invoke(
        main, [*args, "--sets", "env", "--learners", "logistic", "--background", "uniform"]
    )
    assert bad.exit_code == 1 and "unknown background 'uniform'" in bad.output
    both = runner.invoke(
        main,
        [*args, "--sets", "env", "--learners", "logistic", "--background", "random,target_group"],
    )
    assert both.exit_code == 0 and "env / logistic / random" in both.output
    assert "env / logistic / target_group" in both.output
