"""The identifier trained once on the synthetic dataset, shared by the step and inference tests."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from geoloc.cli import main
from geoloc.layout import Layout
from tests.identify.identify_data import write_inputs


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("identify")
    inputs = Layout(tmp_path).identifier("plants")
    table = write_inputs(inputs, tmp_path / "params.yaml", text=True)
    result = CliRunner().invoke(
        main,
        [
            "train-identifier",
            "--embeddings", str(inputs.embeddings),
            "--observations", str(inputs.observations),
            "--encoder", str(inputs.encoder),
            "--model-dir", str(tmp_path / "model"),
            "--results", str(tmp_path / "results"),
            "--params", str(tmp_path / "params.yaml"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "hybrid_accuracy: " in result.output and "prior_top1_gain: " in result.output
    return tmp_path, table
