"""DVC stage `train`: data/embeddings/<ds>.h5 of every dataset -> models/encoder.pt,
results/train/metrics.json and results/train/live/ (curves).

One location encoder learns from the observations of all datasets together: each taxon group's
ranges tell it about the same landscape, so every group's SDMs gain from the others' records
(on the demo this beats per-dataset encoders on truth AUC; docs/training.md). The embeddings are
streamed from the files, never loaded whole. Checkpoints go to .dvc/tmp/train (not a DVC output,
so `dvc repro` keeps them): a killed run resumes where it stopped when params and data are
unchanged; a finished run deletes its checkpoint, so `dvc repro -f` retrains. Launched through
`${runtime.launcher}`, so `torchrun --nproc_per_node N` trains with DDP.
"""

from geoloc.entry import stage_command
from geoloc.train import run_train


@stage_command()
def main(params, layout):
    """Train the location encoder on every dataset of data.datasets with `model:` and `train:`."""
    run_train(params, layout.train(params.dataset_names()))


if __name__ == "__main__":
    main()
