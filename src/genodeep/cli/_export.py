"""``genodeep export``: write a model package as ONNX or TorchScript for serving without genodeep."""

from __future__ import annotations

import argparse

HELP = "export a model package to ONNX or TorchScript (input X: float32 (batch, 4, L) one-hot)"

EPILOG = """\
--model takes a package folder, a .tar.gz package, or a run folder written by genodeep train.
The exported graph takes one input X, float32 (batch, 4, L), one-hot A,C,G,T, and returns the raw
model outputs: y_hat (logits / values), or profile and counts for BPNet. The batch axis is dynamic;
L is the model's input length, or the package's input_length, or --length.
Example: genodeep export --model runs/basset --format onnx --out basset.onnx"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--model", required=True, metavar="PKG", help="package folder, .tar.gz or run folder"
    )
    parser.add_argument("--format", required=True, choices=("onnx", "torchscript"))
    parser.add_argument("--out", required=True, metavar="FILE", help="output .onnx / .pt file")
    parser.add_argument(
        "--length",
        dest="input_length",
        type=int,
        default=None,
        metavar="L",
        help="sequence length to export for (default: the model's / package's)",
    )
    parser.add_argument(
        "--opset", type=int, default=17, help="ONNX opset version (onnx only; default 17)"
    )
    parser.add_argument(
        "--static-batch",
        dest="dynamic_batch",
        action="store_false",
        help="fix the batch axis at 1 (onnx only; default: dynamic batch)",
    )
    parser.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help="skip comparing the exported file's outputs with the model's",
    )


def run(args: argparse.Namespace) -> int:
    from genodeep.zoo.export import export_onnx, export_torchscript

    if args.format == "onnx":
        export_onnx(
            args.model,
            args.out,
            input_length=args.input_length,
            opset=args.opset,
            dynamic_batch=args.dynamic_batch,
            check=args.check,
            verbose=not args.quiet,
        )
    else:
        export_torchscript(
            args.model,
            args.out,
            input_length=args.input_length,
            check=args.check,
            verbose=not args.quiet,
        )
    return 0
