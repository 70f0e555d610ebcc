"""Model packages (config + safetensors + data spec + metadata + checksums), the local zoo, mirrors, export.

Only :func:`search` and :func:`pull` reach the network, and only when called.
"""

from __future__ import annotations

from genodeep.zoo.export import EXPORT_FORMATS, export_onnx, export_torchscript
from genodeep.zoo.mirror import MirrorError
from genodeep.zoo.package import Package, save_package, verify_package
from genodeep.zoo.registry import add, get, info, list_models, remove, verify, zoo_dir
from genodeep.zoo.remote import (
    add_mirror,
    list_mirrors,
    publish,
    pull,
    remove_mirror,
    search,
)
from genodeep.zoo.resolve import load

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
    "add_mirror",
    "remove_mirror",
    "list_mirrors",
    "search",
    "pull",
    "publish",
    "MirrorError",
    "export_onnx",
    "export_torchscript",
    "EXPORT_FORMATS",
]
