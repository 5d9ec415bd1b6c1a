"""Sound embeddings: bird-call regions of interest -> fixed clips -> mel images -> an image
backbone (or BirdNET), written in the image embedding schema."""

from geoloc.embed.audio.mel import mel_spectrogram, spectrogram_image
from geoloc.embed.audio.preprocess import load_roi
from geoloc.embed.audio.rois import (
    RoiTable,
    embed_rois,
    label_codes,
    list_rois,
    roi_image,
    write_audio_embeddings,
)

__all__ = [
    "RoiTable",
    "embed_rois",
    "label_codes",
    "list_rois",
    "load_roi",
    "mel_spectrogram",
    "roi_image",
    "spectrogram_image",
    "write_audio_embeddings",
]
