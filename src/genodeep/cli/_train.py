"""``genodeep train``: train, evaluate and save a model described by a YAML config."""

from __future__ import annotations

import argparse

HELP = "train a model from a YAML config (data + model + training + baselines) and evaluate it on the test split"

EPILOG = """\
The config's sections hold the keyword arguments of the API (see genodeep.workflows.config):
  data:      kind (genome | fasta | simulate | ...) + the loader's arguments
  model:     name (twopath, mlp, deepbind, deepsea, basset, bpnet, rnn, danq, ...) + build_model's
             arguments; `auto`, or no model section at all, trains the candidates twopath, deepbind and
             basset and keeps the best on the validation split (candidates.tsv; model.budget: total time
             at most budget x the first candidate's, default 4)
  training:  genodeep.train.fit's arguments (max_epochs, batch_size, lr, optimizer, ...)
  baselines: true, or fit_baselines' arguments (models, k, gapped, ...)
  output:    dir, plots, predictions, save_model
`kind: fasta` (your own sequences, all of one length; example: examples/fasta_labels.yaml):
  fasta           FASTA path, or a list of paths read in order and concatenated (plain or gzip)
  labels          labels table: TSV/CSV with a header, a `name` column (= first word of each header),
                  then one numeric column per task; empty/NA = missing. Without it, labels come from
                  the headers: >name label=1 | >name labels=1,0,NA | >name|1|0
  valid_fasta     separate validation FASTA (path or list); default: valid_fraction of `fasta`
  valid_labels    its labels table (default: labels)
  test_fasta      separate test FASTA (path or list); default: test_fraction of `fasta`
  test_labels     its labels table (default: labels)
  valid_fraction  fraction of `fasta` held out at random for validation (default 0.1)
  test_fraction   fraction of `fasta` held out at random for testing (default 0.2)
  kind            `fasta` selects this loader
  label_kind      auto (binary when every label is 0/1/NA, else regression), binary or regression
  rc_augment      reverse-complement half of the training sequences on the fly (default false)
  max_shift       shift training sequences by up to N bases on the fly, padded with N (default 0)
  random_state    seed of the random split and the augmentation (default 0)
rc_augment and max_shift work the same for kind: simulate and kind: genome (genome shifts read the
flanking bases; in-memory sequences are padded with N).
`kind: profile` (signal per base or per bin; models bpnet, chrombpnet, basenji; examples/basenji.yaml):
  genome, tracks (name: bigWig/wig/bedGraph/BAM/fragments, or {path, strand, atac, shift, ...}),
  strand_pairs, peaks (summit windows + background_ratio GC-matched background) or regions/chroms
  (tiles every stride), input_length, output_length, bin_size, target_transform (sqrt|log1p),
  split/valid/test, max_jitter, rc_augment. `kind: simulate_profile` simulates footprints
  (genome_size, n_chroms, shapes chip-exo|atac, bias, sites_per_mb, depth) and reads them as files.
Baselines (--baselines): k-mer logistic/linear, random forest, gradient boosting, and `positional`
(logistic/ridge on the one-hot sequence, one weight per base and position).
Flags override the config: --max-epochs N is training.max_epochs=N, --devices/--num-nodes/--strategy/
--accelerator/--precision are passed to Lightning (training.devices, ...), and --set KEY=VALUE sets any
dotted key (value parsed as YAML), e.g. --set training.lr=0.01 --set data.width=500.
The run folder gets config.yaml (resolved), metrics.tsv/.md, predictions.tsv/.npz, history.tsv,
plots/ and model/ (weights.safetensors + config.json)."""


def _devices(text: str):
    text = str(text)
    return int(text) if text.lstrip("-").isdigit() else text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("config", metavar="CONFIG.yaml", help="training config (YAML)")
    parser.add_argument(
        "--out",
        dest="out_dir",
        metavar="DIR",
        default=None,
        help="run folder (default: output.dir of the config, else runs/<config name>)",
    )
    parser.add_argument(
        "--baselines",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also fit the k-mer baselines on the same split (--no-baselines skips "
        "them; default: as the config says)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from DIR/checkpoints/last.ckpt, with the settings it started "
        "with (only --max-epochs and the hardware flags may change)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run the folder already holds (without it, an existing run is an error)",
    )
    parser.add_argument(
        "--max-epochs",
        dest="max_epochs",
        type=int,
        default=None,
        help="override training.max_epochs",
    )
    parser.add_argument(
        "--devices",
        type=_devices,
        default=None,
        help="Lightning devices: a number, 'auto', or -1 for all (training.devices)",
    )
    parser.add_argument(
        "--num-nodes",
        dest="num_nodes",
        type=int,
        default=None,
        help="machines for multi-node DDP (training.num_nodes)",
    )
    parser.add_argument(
        "--strategy", default=None, help="Lightning strategy, e.g. ddp (training.strategy)"
    )
    parser.add_argument("--accelerator", default=None, help="cpu, gpu, auto (training.accelerator)")
    parser.add_argument("--precision", default=None, help="e.g. bf16-mixed (training.precision)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key, e.g. --set training.lr=0.01 (repeatable)",
    )


def overrides_from_args(args: argparse.Namespace) -> dict:
    """The config overrides the flags stand for (flags first, then --set in order)."""
    out: dict = {}
    for flag in ("max_epochs", "devices", "num_nodes", "strategy", "accelerator", "precision"):
        value = getattr(args, flag, None)
        if value is not None:
            out[f"training.{flag}"] = value
    import yaml

    for text in args.overrides:
        key, sep, raw = text.partition("=")
        if not sep or not key:
            raise ValueError(
                f"--set {text!r} should look like SECTION.KEY=VALUE, e.g. training.lr=0.01"
            )
        out[key.strip()] = yaml.safe_load(raw)
    return out


def run(args: argparse.Namespace) -> int:
    from genodeep.workflows.train import train_from_config

    train_from_config(
        args.config,
        out_dir=args.out_dir,
        baselines=args.baselines,
        resume=args.resume,
        overwrite=args.overwrite,
        overrides=overrides_from_args(args),
        verbose=not args.quiet,
    )
    return 0
