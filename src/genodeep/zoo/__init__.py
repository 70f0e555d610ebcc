"""Model packages (config + safetensors + data spec + metadata + checksums), the local zoo, export."""

from __future__ import annotations

from genodeep.zoo.export import EXPORT_FORMATS, export_onnx, export_torchscript
from genodeep.zoo.package import Package, load, save_package, verify_package
from genodeep.zoo.registry import add, get, info, list_models, remove, verify, zoo_dir

__all__ = [
    "Package",
    "load",
    "save_package",
    "verify_package",
    "add",
    "get",
    "info",
    "list_models",
    "remove",
    "verify",
    "zoo_dir",
    "export_onnx",
    "export_torchscript",
    "EXPORT_FORMATS",
]
