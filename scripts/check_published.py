"""Equality of the imported published models with the originals, and the golden outputs the tests read.

Two steps, two environments:

1. ``write`` runs the ORIGINAL models with their own framework (TensorFlow + tf-keras, in a separate
   environment: ``python -m venv /tmp/pubvenv && /tmp/pubvenv/bin/pip install spliceai==1.3.1
   tensorflow-cpu tf-keras h5py && /tmp/pubvenv/bin/pip install mmsplice==2.4.0 --no-deps``) on
   seeded random sequences and on ref/alt pairs, and writes ``tests/golden/published_outputs.npz`` with
   ``published_outputs.json`` (this script's name, the package and framework versions, the seeds)::

       /tmp/pubvenv/bin/python scripts/check_published.py write

2. ``check`` (genodeep's environment, no TensorFlow) converts the installed packages with genodeep's
   importer and asserts max |delta| <= 1e-5 against those outputs::

       .venv/bin/python scripts/check_published.py check
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "published_outputs.npz"
TOL = 1e-5
SEED = 16
#: MMSplice module -> (file, input length used for the check)
MMSPLICE = {
    "acceptor_intron": ("Intron3.h5", 100),
    "acceptor": ("Acceptor.h5", 53),
    "exon": ("Exon.h5", 120),
    "donor": ("Donor.h5", 18),
    "donor_intron": ("Intron5.h5", 100),
}


def _inputs() -> dict[str, np.ndarray]:
    """Seeded base codes (0-3 = A, C, G, T; 4 = N): random sequences and ref/alt pairs."""
    rng = np.random.default_rng(SEED)
    seqs = rng.integers(0, 4, size=(3, 10101)).astype(np.uint8)
    seqs[2, :700] = 4  # an N-padded start, as SpliceAI pads past transcript ends
    ref = rng.integers(0, 4, size=(2, 10101)).astype(np.uint8)
    alt = ref.copy()
    alt[:, 5050] = (alt[:, 5050] + 1) % 4  # SNVs at the centre
    out = {"spliceai_random": seqs, "spliceai_ref": ref, "spliceai_alt": alt}
    for name, (_, length) in MMSPLICE.items():
        x = rng.integers(0, 4, size=(4, length)).astype(np.uint8)
        if name == "exon":
            x[0, 100:] = 4  # MMSplice pads short exons with N: the masked mean skips them
        out[f"mmsplice_{name}"] = x
    return out


def _onehot_last(codes: np.ndarray) -> np.ndarray:
    """(N, L) codes -> (N, L, 4) channels-last one-hot, N as zeros (the originals' layout)."""
    return np.eye(5, dtype=np.float32)[codes][..., :4]


def _pkg_dir(name: str) -> Path:
    """The installed package's folder, without importing it."""
    return Path(importlib.util.find_spec(name).submodule_search_locations[0])


def write() -> None:
    import os

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tensorflow.keras = tf-keras (Keras 2)
    import tf_keras

    spec = importlib.util.spec_from_file_location(
        "mmsplice_layers", _pkg_dir("mmsplice") / "layers.py"
    )
    layers = importlib.util.module_from_spec(spec)  # the layers only, not mmsplice's data loaders
    spec.loader.exec_module(layers)
    custom = {
        "ConvDNA": layers.ConvDNA,
        "GlobalAveragePooling1D_Mask0": layers.GlobalAveragePooling1D_Mask0,
    }
    inputs = _inputs()
    out = {f"in_{k}": v for k, v in inputs.items()}
    sp = _pkg_dir("spliceai") / "models"
    models = [
        tf_keras.models.load_model(sp / f"spliceai{i}.h5", compile=False) for i in range(1, 6)
    ]
    for key in ("spliceai_random", "spliceai_ref", "spliceai_alt"):
        x = _onehot_last(inputs[key])
        per = np.stack([m.predict(x, verbose=0) for m in models])  # (5, N, L_out, 3)
        out[f"out_{key}_members"] = per
        out[f"out_{key}"] = per.mean(axis=0)
    mm = _pkg_dir("mmsplice") / "models"
    for name, (fname, _) in MMSPLICE.items():
        m = tf_keras.models.load_model(mm / fname, compile=False, custom_objects=custom)
        out[f"out_mmsplice_{name}"] = m.predict(_onehot_last(inputs[f"mmsplice_{name}"]), verbose=0)
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(GOLDEN, **out)
    import tensorflow as tf

    info = {
        "written_by": "scripts/check_published.py write",
        "seed": SEED,
        "framework": {
            "tensorflow": tf.__version__,
            "tf_keras": tf_keras.__version__,
            "numpy": np.__version__,
        },
        "packages": {p: md.version(p) for p in ("spliceai", "mmsplice")},
        "layout": "out_* arrays are the originals' outputs, channels-last (N, L_out, 3) for SpliceAI "
        "(the *_members arrays: each of the five models), (N, 1) for MMSplice modules; in_* are base "
        "codes 0-3 = A, C, G, T and 4 = N",
        "sha256": {f"spliceai{i}.h5": _sha(sp / f"spliceai{i}.h5") for i in range(1, 6)}
        | {fname: _sha(mm / fname) for fname, _ in MMSPLICE.values()},
    }
    GOLDEN.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"wrote {GOLDEN} and {GOLDEN.with_suffix('.json').name}")


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def compare(golden: Path = GOLDEN) -> dict[str, float]:
    """max |delta| of genodeep's imported models against the golden outputs, per output."""
    import torch

    from genodeep.zoo.importers.published import build_published

    data = np.load(golden)
    deltas = {}
    (spliceai,) = build_published("spliceai")

    def run(model, codes):
        x = torch.from_numpy(np.eye(5, dtype=np.float32)[codes][..., :4]).transpose(1, 2)
        with torch.inference_mode():
            return model(x.contiguous()).numpy()

    for key in ("spliceai_random", "spliceai_ref", "spliceai_alt"):
        y = run(spliceai.model, data[f"in_{key}"]).transpose(0, 2, 1)
        deltas[key] = float(np.abs(y - data[f"out_{key}"]).max())
    for item in build_published("mmsplice"):
        name = item.name.removeprefix("mmsplice_")
        y = run(item.model, data[f"in_mmsplice_{name}"])
        deltas[item.name] = float(np.abs(y - data[f"out_mmsplice_{name}"]).max())
    return deltas


def check() -> int:
    deltas = compare()
    worst = max(deltas.values())
    for k, v in deltas.items():
        print(f"{k:28s} max |delta| = {v:.3g}")
    ok = worst <= TOL
    print(f"{'PASS' if ok else 'FAIL'}: max |delta| = {worst:.3g} (tolerance {TOL})")
    return 0 if ok else 1


if __name__ == "__main__":
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("step", choices=("write", "check"))
    args = p.parse_args()
    if args.step == "write":
        write()
        sys.exit(0)
    sys.exit(check())
