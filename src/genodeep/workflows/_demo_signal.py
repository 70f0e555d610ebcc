"""The signal-track step of ``genodeep demo``: a Basenji-style coverage model on real fly RNA-seq
coverage (shipped), its held-out metrics against the mean-profile floor, and its predicted track written
genome-wide to bigWig and drawn against the observed one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genodeep import example_data
from genodeep._io_utils import atomic_path
from genodeep.io import read_signal
from genodeep.workflows.tables import summary_table
from genodeep.workflows.tracks import predict_tracks
from genodeep.workflows.train import train_from_config

#: slice coordinates of the RNA-seq track (dm3 chr2R:7-8 Mb) and of its held-out parts
REGION = f"{example_data.GENOME_RECORD}:1000000-2000000"
VALID = f"{example_data.GENOME_RECORD}:1700000-1850000"
TEST = (example_data.GENOME_RECORD, 1_850_000, 1_999_984)  # a whole number of 32-bp bins


def signal_config(quick: bool, random_state: int = 0) -> dict:
    """The demo's coverage model: ``examples/basenji.yaml`` (smaller when ``quick``)."""
    return {
        "data": {
            "kind": "profile",
            "genome": str(example_data.genome()),
            "tracks": {"rnaseq": str(example_data.rnaseq_coverage())},
            "regions": REGION,
            "input_length": 2048 if quick else 4096,
            "output_length": 1024 if quick else 2048,
            "bin_size": 32,
            "target_transform": "sqrt",
            "stride": 1024 if quick else 512,
            "split": "region",
            "valid": VALID,
            "test": f"{TEST[0]}:{TEST[1]}-2000000",
            "max_jitter": 64,
        },
        "model": {"name": "basenji", "filters": 8 if quick else 32, "n_dilated": 2 if quick else 4},
        "training": {
            "max_epochs": 1 if quick else 8,
            "batch_size": 16,
            "lr": 0.001,
            "patience": 3,
            "random_state": random_state,
        },  # fmt: skip
    }


def _plot_tracks(observed: np.ndarray, predicted: np.ndarray, start: int, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(fig)
    x = (start + np.arange(len(observed)) * 32) / 1e6 + example_data.DM3_OFFSET / 1e6
    for i, (values, title, colour) in enumerate(
        (
            (observed, "observed RNA-seq coverage", "0.4"),
            (predicted, "predicted from sequence", "C3"),
        )
    ):
        ax = fig.add_subplot(2, 1, i + 1)
        ax.fill_between(x, values, step="post", color=colour)
        ax.set_ylabel("reads / base", fontsize=8)
        ax.set_title(title, fontsize=9, loc="left")
    ax.set_xlabel("dm3 chr2R (Mb), held-out test region", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def step_signal(ctx) -> None:
    """Sequence -> coverage: train, score on the held-out region, predict it as a bigWig, plot it."""
    run_dir = ctx.out_dir / "signal"
    result = train_from_config(signal_config(ctx.quick, ctx.random_state), out_dir=run_dir,
                               overwrite=True, verbose=not ctx.quick)  # fmt: skip
    summary = summary_table(result.metrics)
    chrom, lo, hi = TEST
    bw = predict_tracks(run_dir, example_data.genome(), run_dir / "test_region.bw",
                        chroms=[f"{chrom}:{lo}-{hi}"], verbose=False)[0]  # fmt: skip
    obs = read_signal(example_data.rnaseq_coverage()).values(chrom, [lo], hi - lo, bin_size=32)[0]
    pred = read_signal(bw).values(chrom, [lo], hi - lo, bin_size=32)[0]
    png = _plot_tracks(obs, pred, lo, ctx.report.figures_dir / "rnaseq_tracks.png")
    r = float(np.corrcoef(np.sqrt(obs), np.sqrt(pred))[0, 1])
    print(
        f"[signal] held-out RNA-seq coverage, 32-bp bins: Pearson {r:.3f} (sqrt scale)", flush=True
    )
    sec = ctx.report.section("9. Signal tracks: RNA-seq coverage from sequence (Basenji-style)")
    sec.text(
        "A dilated residual CNN reads 4 kb of sequence and predicts read coverage in 32-bp bins over its "
        "central 2 kb (Poisson loss on square-root coverage), trained on real fly RNA-seq coverage of "
        "dm3 chr2R:7-8 Mb with the last 300 kb held out (validation, then test). 'mean_profile' predicts "
        "every window as the average training window: the floor a model must beat. The whole test region "
        "is then predicted genome-wide style, streamed to a bigWig."
    )
    sec.table(summary, name="signal_summary")
    sec.text(
        f"Pearson correlation of observed and predicted coverage (32-bp bins, square-root scale) over "
        f"the test region: {r:.3f}."
    )
    sec.image(png, "observed and predicted coverage over the held-out test region", width=760)
    sec.code(
        "genodeep train examples/basenji.yaml --out runs/basenji\n"
        f"genodeep predict --model runs/basenji --genome GENOME.fa --chrom {chrom}:{lo}-{hi} --out test.bw"
    )
    ctx.results["signal"] = summary
