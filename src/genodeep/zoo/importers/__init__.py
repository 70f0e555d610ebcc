"""Importers of published models: Keras ``.h5`` and ONNX files into :class:`ImportedGraph` packages.

Nothing here downloads: files are read from a path or from an installed registry package (see
:mod:`genodeep.zoo.importers.published`).
"""

from __future__ import annotations

from genodeep.zoo.importers.keras import KERAS_LAYERS, keras_model, read_keras_h5

__all__ = ["KERAS_LAYERS", "keras_model", "read_keras_h5"]
