"""Image embeddings: backbones, fetching and decoding photos, the resumable embedding loop, the
HDF5 store (schema in docs/data-contracts.md), image listing and labelled sources."""

from geoloc.embed.backbones import Backbone, get_backbone
from geoloc.embed.images import IMAGE_SUFFIXES, image_files, is_image_file
from geoloc.embed.pipeline import EmbedSummary, embed_table
from geoloc.embed.step import run_embed
from geoloc.embed.store import EmbeddingTable, TextEmbeddings, pool_embeddings, read_embeddings
from geoloc.embed.writer import write_embedding_file

__all__ = [
    "IMAGE_SUFFIXES",
    "Backbone",
    "EmbedSummary",
    "EmbeddingTable",
    "TextEmbeddings",
    "embed_table",
    "get_backbone",
    "image_files",
    "is_image_file",
    "pool_embeddings",
    "read_embeddings",
    "run_embed",
    "write_embedding_file",
]
