"""DVC stage `train-identifier@<ds>`: species and rank identification on the dataset's embeddings.

Reads data/embeddings/<ds>.h5, the taxonomy in data/filtered/<ds>.parquet and the location
encoder models/encoder.pt (for the location prior); writes models/identifier/<ds>/ and
results/identifier/<ds>/{metrics.json, report.json, per_class.csv}.
"""

from geoloc.entry import stage_command
from geoloc.identify import run_train_identifier


@stage_command(per_dataset=True)
def main(params, layout, dataset):
    """Train and evaluate the identifier of `identify:` on one dataset."""
    run_train_identifier(params, layout.identifier(dataset))


if __name__ == "__main__":
    main()
