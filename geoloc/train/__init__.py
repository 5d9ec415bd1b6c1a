"""Training a location encoder contrastively against paired features (image embeddings in the
pipeline), on the records' species (the presence objective) or both: the `train` step, the
trainer, the InfoNCE loss, the species head, retrieval metrics and tracking."""

from geoloc.train.loss import ContrastiveLoss
from geoloc.train.retrieval import retrieval_metrics
from geoloc.train.step import run_train
from geoloc.train.tracking import open_sinks
from geoloc.train.trainer import (
    Trainer,
    TrainResult,
    train_location_encoder,
    train_on_rows,
    train_presence_encoder,
)

__all__ = [
    "ContrastiveLoss",
    "TrainResult",
    "Trainer",
    "open_sinks",
    "retrieval_metrics",
    "run_train",
    "train_location_encoder",
    "train_on_rows",
    "train_presence_encoder",
]
