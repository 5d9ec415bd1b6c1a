"""DVC stage `evaluate@<ds>`: data/filtered/<ds>.parquet + models/encoder.pt (+ the demo's true
ranges data/raw/demo_truth.parquet when data.archive is the demo) -> results/evaluate/<ds>/
(metrics.json, per_species.csv, summary.json, auc_by_set.csv, maps.parquet,
embedding_grid.parquet): presence-only SDMs with every covariate set of params `sdm:`."""

from geoloc.entry import stage_command
from geoloc.sdm import run_evaluate


@stage_command(per_dataset=True)
def main(params, layout, dataset):
    """Evaluate every covariate set of `sdm:` on one dataset."""
    run_evaluate(params, layout.evaluate(dataset, params.data.archive))


if __name__ == "__main__":
    main()
