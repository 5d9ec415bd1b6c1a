"""Species identification: training the identifier on a dataset's embeddings
(`run_train_identifier`, the train-identifier step) and naming the species on photos with it
(`identify_images`, the `geoloc identify` command)."""

from geoloc.identify.calibration import accuracy_coverage_curve, calibrate_thresholds
from geoloc.identify.classifier import EmbeddingClassifier
from geoloc.identify.hybrid import METHODS, REJECTED, Routed, Thresholds, route, summarize
from geoloc.identify.inference import identify_images, load_backbone
from geoloc.identify.location_prior import LocationPrior, fuse
from geoloc.identify.metrics import classification_report
from geoloc.identify.model import IdentifierModel, load_identifier
from geoloc.identify.prototypes import PrototypeClassifier
from geoloc.identify.split import stratified_split
from geoloc.identify.step import run_train_identifier
from geoloc.identify.train import Outcome, train_identifier

__all__ = [
    "METHODS",
    "REJECTED",
    "EmbeddingClassifier",
    "IdentifierModel",
    "LocationPrior",
    "Outcome",
    "PrototypeClassifier",
    "Routed",
    "Thresholds",
    "accuracy_coverage_curve",
    "calibrate_thresholds",
    "classification_report",
    "fuse",
    "identify_images",
    "load_backbone",
    "load_identifier",
    "route",
    "run_train_identifier",
    "stratified_split",
    "summarize",
    "train_identifier",
]
