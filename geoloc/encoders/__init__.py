"""Location encoders: positional encodings, networks, the LocationEncoder and its file, and the
pretrained GeoCLIP peer."""

from geoloc.encoders.geoclip import geoclip_features
from geoloc.encoders.location_encoder import (
    LocationEncoder,
    build_location_encoder,
    check_coordinates,
    extent_warning,
    load_location_encoder,
    model_config,
    outside_training_extent,
    save_location_encoder,
)
from geoloc.encoders.networks import build_network, network_options
from geoloc.encoders.positional import build_encoding, encoding_options

__all__ = [
    "LocationEncoder",
    "build_encoding",
    "build_location_encoder",
    "build_network",
    "check_coordinates",
    "encoding_options",
    "geoclip_features",
    "load_location_encoder",
    "model_config",
    "network_options",
    "extent_warning",
    "outside_training_extent",
    "save_location_encoder",
]
