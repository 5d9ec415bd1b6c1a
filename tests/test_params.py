from pathlib import Path

import pytest
import yaml

from geoloc.errors import GeolocError
from geoloc.params import load_params, parse_params


def test_repo_params_yaml_is_valid(repo_root):
    params = load_params(repo_root / "params.yaml")
    assert params.dataset_names() == ["plants", "mushrooms", "arthropods"]
    assert params.data.datasets["arthropods"] == {"phylum": "Arthropoda"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"data": {"colour": "red"}}, ["data.colour", "unknown key", "max_uncertainty_m"]),
        ({"nope": {}}, ["nope", "unknown key", "data", "demo"]),
        ({"demo": {"observations": -5}}, ["demo.observations", "greater than 0"]),
        ({"demo": {"observations": "many"}}, ["demo.observations", "integer"]),
        ({"data": {"datasets": {"birds": {"species": "x"}}}}, ["data.datasets", "kingdom, phylum"]),
        ({"data": {"datasets": {}}}, ["data.datasets", "at least one"]),
        (
            {"data": {"reject_issues": ["ZERO_COORDINATES"]}},
            ["data.reject_issues", "'ZERO_COORDINATES' (did you mean ZERO_COORDINATE?)"],
        ),
        ({"runtime": {"device": "gpu"}}, ["runtime.device", "auto|cpu|cuda"]),
        ({"model": {"pe": "fourier"}}, ["model.pe", "positional encoding 'fourier'", "'sh'"]),
        ({"model": {"net": "cnn"}}, ["model.net", "unknown network 'cnn'", "'resmlp'"]),
        (
            {"sdm": {"learner": "svm"}},
            ["sdm.learner", "unknown SDM learner 'svm'", "rf_downsampled"],
        ),
        (
            {"sdm": {"covariates": ["coords", "env"]}},
            ["sdm.covariates", "'env'", "'trained', 'geoclip'"],
        ),
        ({"sdm": {"covariates": []}}, ["sdm.covariates", "at least 1 item"]),
    ],
)
def test_bad_params_name_the_key_and_allowed_values(raw, expected):
    with pytest.raises(GeolocError) as err:
        parse_params(raw)
    for fragment in expected:
        assert fragment in str(err.value)


def test_unknown_dataset_lists_known_ones():
    params = parse_params({})
    with pytest.raises(GeolocError, match="plants, mushrooms, arthropods"):
        params.check_dataset("birds")


def test_missing_and_malformed_files(tmp_path: Path):
    with pytest.raises(GeolocError, match="not found"):
        load_params(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(GeolocError, match="not valid YAML"):
        load_params(bad)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"learner_options": {"epochs": 5}}, "no option 'epochs'; its options: C, class_weight"),
        ({"learner": "maxent", "learner_options": {"epochs": 2.5}}, "epochs=2.5"),
        ({"learner": "rf_downsampled", "learner_options": {"n_estimators": 0}}, "greater than 0"),
    ],
)
def test_params_stage_checks_learner_options_and_writes_nothing(
    repo_root, tmp_path, monkeypatch, options, expected
):
    from click.testing import CliRunner

    from tests.stage_runs import load_stage

    monkeypatch.chdir(tmp_path)
    stage = load_stage(repo_root, "params").main
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"sdm": options}))
    result = CliRunner().invoke(stage, ["--params", "params.yaml"])
    assert result.exit_code == 1 and expected in result.output
    assert not (tmp_path / "results").exists()
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"sdm": {"learner_options": {"C": 0.5}}}))
    assert CliRunner().invoke(stage, ["--params", "params.yaml"]).exit_code == 0
    assert (tmp_path / "results" / "params.valid").is_file()
