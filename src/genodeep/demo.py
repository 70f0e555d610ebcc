"""``genodeep demo``: the whole workflow on the data shipped inside genodeep, with an HTML report.

Each step is a function ``step_NAME(ctx)`` that does real work through the public API, prints a short
summary and adds a section to the report. ``run_demo`` runs them in order; ``steps=`` picks a subset.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genodeep import example_data
from genodeep._progress import log
from genodeep.report import Report

#: window width for the insulator data set (ChIP-chip regions are ~250-450 bp)
WIDTH = 500
STRIDE = 250
# held-out regions of the shipped slice (record chr2R_6M_14M = dm3 chr2R:6-14 Mb)
VALID_REGION = f"{example_data.GENOME_RECORD}:5000000-6000000"
TEST_REGION = f"{example_data.GENOME_RECORD}:6000000-8000000"


@dataclass
class DemoContext:
    """State shared between demo steps."""

    out_dir: Path
    report: Report
    quick: bool = False
    random_state: int = 0
    results: dict[str, Any] = field(default_factory=dict)

    def path(self, *parts: str) -> Path:
        p = self.out_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


def _say(text: str) -> None:
    print(text, flush=True)


def step_data(ctx: DemoContext) -> None:
    """Real data: the dm3 chr2R slice and 8 insulator ChIP-chip tasks -> windows, labels, splits."""
    from genodeep.data import split_by_region, tile_and_label
    from genodeep.io import Genome, read_bed

    genome = Genome(example_data.genome())
    peaks = example_data.insulator_peaks()
    beds = {task: read_bed(path, genome=genome) for task, path in peaks.items()}
    windows, y, tasks = tile_and_label(genome, beds, width=WIDTH, stride=STRIDE, max_n_fraction=0.1)
    windows = windows.assign(**{t: y[:, i] for i, t in enumerate(tasks)})
    splits = split_by_region(windows, valid=VALID_REGION, test=TEST_REGION)
    gc = genome.gc_content(windows["chrom"].tolist(), windows["start"].to_numpy(), WIDTH)
    any_pos = y.max(axis=1) > 0

    rows = []
    for task in tasks:
        row = {
            "task": task,
            "peaks": len(beds[task]),
            "median peak width": float((beds[task]["end"] - beds[task]["start"]).median()),
        }
        for name, df in splits.items():
            row[f"{name} positives"] = int(df[task].sum())
            row[f"{name} fraction"] = float(df[task].mean())
        rows.append(row)
    table = pd.DataFrame(rows)
    sizes = pd.DataFrame(
        {
            "split": list(splits),
            "windows": [len(df) for df in splits.values()],
            "region": ["rest of the slice", VALID_REGION, TEST_REGION],
        }
    )
    gc_table = pd.DataFrame(
        {
            "windows": ["bound by any insulator", "unbound"],
            "n": [int(any_pos.sum()), int((~any_pos).sum())],
            "mean GC": [float(gc[any_pos].mean()), float(gc[~any_pos].mean())],
        }
    )
    co = pd.DataFrame(np.corrcoef(y.T), index=tasks, columns=tasks)

    seq_len = genome.chrom_sizes[example_data.GENOME_RECORD]
    _say(
        f"[data] genome {example_data.genome().name}: {len(genome.chrom_sizes)} record, {seq_len:,} bases"
    )
    _say(
        f"[data] {len(windows):,} windows of {WIDTH} bp (stride {STRIDE}); {len(tasks)} tasks; "
        f"splits " + ", ".join(f"{k} {len(v):,}" for k, v in splits.items())
    )
    _say(
        table[["task", "peaks", "train positives", "test positives", "train fraction"]].to_string(
            index=False
        )
    )
    _say(f"[data] mean GC: bound {gc[any_pos].mean():.3f} vs unbound {gc[~any_pos].mean():.3f}")
    examples = windows[any_pos].head(3)
    for _, w in examples.iterrows():
        seq = genome.fetch(w["chrom"], int(w["start"]), int(w["start"]) + 60)
        on = [t for t in tasks if w[t] > 0]
        _say(f"  {w['chrom']}:{w['start']}-{w['end']} bound by {', '.join(on)}: {seq}...")

    sec = ctx.report.section("1. Data: fly insulator binding on dm3 chr2R")
    sec.text(
        f"The shipped genome slice (dm3 chr2R:6-14 Mb, {seq_len:,} bases) is tiled into {WIDTH}-bp windows "
        f"every {STRIDE} bp. A window is positive for a task when a ChIP-chip region of that protein and cell "
        "line covers at least half of the smaller of the two. Windows with more than 10% N are dropped. "
        "Because the genome is one chromosome, whole regions are held out for validation and test."
    )
    sec.table(sizes, name="splits").table(table, name="tasks").table(gc_table, name="gc")
    sec.text("Correlation of the 8 labels across windows (the tasks share much of their signal):")
    sec.table(co.reset_index(names="task"), name="label_correlation", floatfmt="{:.2f}")
    sec.code("genodeep demo --steps data")
    ctx.results["data"] = {"genome": genome, "windows": windows, "tasks": tasks, "splits": splits}


def _load_insulator_config(ctx: DemoContext) -> dict:
    from genodeep.workflows.config import load_config

    config = load_config(example_data.insulator_config())
    if ctx.quick:
        config["training"]["max_epochs"] = 2
        config["baselines"]["models"] = ["logistic"]
    return config


def step_train(ctx: DemoContext) -> None:
    """Train the multitask CNN on the insulator tasks, with k-mer baselines on the same split."""
    from genodeep.workflows.tables import summary_table
    from genodeep.workflows.train import train_from_config

    config = _load_insulator_config(ctx)
    run_dir = ctx.out_dir / "insulators"
    result = train_from_config(config, out_dir=run_dir, baselines=True, verbose=not ctx.quick)
    summary = summary_table(result.metrics)
    deep = result.metrics[result.metrics["model"] == result.metrics["model"].iloc[0]]
    _say("[train] held-out test region, mean over the 8 tasks:")
    _say(summary.to_string(index=False))
    sec = ctx.report.section("2. A multitask CNN for insulator binding, against honest baselines")
    sec.text(
        "A DeepBind-style CNN (128 filters of 19 bp with an exponential activation, global max pooling, a "
        "linear read-out to 8 sigmoid outputs) is trained on the training region with reverse-complement "
        "augmentation and early stopping on the validation region. "
        "The same windows train k-mer baselines (5-mer counts with L2 logistic regression, random forest, "
        "gradient boosting). All models are scored on the held-out test region (dm3 chr2R:12-14 Mb)."
    )
    sec.table(summary, name="insulators_summary")
    sec.table(deep, name="insulators_per_task")
    for png in sorted(run_dir.rglob("*.png")):
        sec.image(png, png.stem.replace("_", " "), width=480)
    sec.code(
        f"genodeep train {example_data.insulator_config().name} --out runs/insulators --baselines"
        "   # examples/insulators.yaml"
    )
    ctx.results["train"] = result


def step_spacing(ctx: DemoContext) -> None:
    """The review's Fig. 2: a CNN sees motif spacing, k-mer models cannot."""
    from genodeep.train.experiment import spacing_experiment, write_spacing_results

    kw = dict(n=1000, max_epochs=2) if ctx.quick else {}
    out = ctx.out_dir / "spacing"
    table = spacing_experiment(out_dir=out, random_state=ctx.random_state, **kw)
    paths = write_spacing_results(table, out)
    claim = table.attrs.get("claim") or {}
    _say("[spacing] held-out auROC on the motif-spacing grammar:")
    _say(table[["model", "family", "auroc", "auprc"]].to_string(index=False))
    if claim:
        _say(f"[spacing] {claim['message']}")
    sec = ctx.report.section("3. Motif spacing: why convolutional networks (the review's Fig. 2)")
    sec.text(
        "Simulated sequences carry two JASPAR motifs. In positives they sit at a fixed spacing and order; in "
        "negatives the same two motifs sit at a random spacing and order, so k-mer content is the same in both "
        "classes and only the arrangement differs."
    )
    sec.table(table.drop(columns=[c for c in ("seconds",) if c in table]), name="spacing")
    if claim:
        sec.text(claim["message"])
    sec.image(paths["png"], "held-out auROC per model", width=520)
    sec.code("genodeep experiment spacing --out runs/spacing")
    ctx.results["spacing"] = table


def step_beyond(ctx: DemoContext) -> None:
    """The review's Fig. 3-4 on simulated data: multimodal inputs, transfer learning, graph convolutions."""
    from genodeep.train.showcase_files import showcase_to_files

    sec = ctx.report.section("4. Multimodal, transfer and graph models (the review's Fig. 3-4)")
    sec.text(
        "Three simulations where the answer needs what each model family adds: binding = motif AND open "
        "chromatin (sequence + accessibility track vs either alone); a new task learned from 100-500 "
        "examples by fine-tuning a CNN pretrained on 8 related motif tasks vs training it from scratch; node "
        "labels set by the neighbours in a gene network (graph convolution vs the same layers without the "
        "graph). Held-out auROC on each."
    )
    titles = {
        "multimodal": "sequence + track vs single inputs",
        "transfer": "learning curve: fine-tuned vs from scratch",
        "graph": "GCN vs the same layers without the graph",
    }
    for name, title in titles.items():
        res = showcase_to_files(
            name, ctx.out_dir / "beyond" / name, quick=ctx.quick, random_state=ctx.random_state
        )
        _say(f"[beyond] {res.message}")
        sec.table(res.table, name=name)
        sec.text(res.message)
        sec.image(res.png, f"{name}: {title}", width=480)
    sec.code(
        "genodeep experiment multimodal --out runs/multimodal\n"
        "genodeep experiment transfer --out runs/transfer\n"
        "genodeep experiment graph --out runs/graph\n"
        "genodeep train examples/multimodal.yaml   # the same models from a training config"
    )


def step_interpret(ctx: DemoContext) -> None:
    """What did the model learn? DeepLIFT/SHAP logos, filters -> motifs, TF-MoDISco patterns vs JASPAR."""
    from genodeep.interpret.api import attribute
    from genodeep.interpret.filters import filter_matches, filters_to_pwms
    from genodeep.interpret.plots import save_attribution_logo, save_motif_logo
    from genodeep.io import read_motifs
    from genodeep.motifs.discover import discover_motifs

    if "data" not in ctx.results:
        step_data(ctx)
    if "train" not in ctx.results:
        step_train(ctx)
    model = ctx.results["train"].model.eval()
    data = ctx.results["data"]
    genome, windows, tasks = data["genome"], data["windows"], data["tasks"]
    width = int(ctx.results["train"].config["data"]["width"])
    database = read_motifs(example_data.insect_motifs())
    n_seq = 60 if ctx.quick else 240
    sec = ctx.report.section("5. Interpretation: what the model learned")
    sec.text(
        "DeepLIFT/SHAP attributions (dinucleotide-shuffled references) of bound windows, aggregated into "
        "motifs with TF-MoDISco and matched to all 286 JASPAR 2024 insect motifs (TOMTOM-like comparison, "
        "q-values); first-layer filters turned into PWMs from the sequences that activate them most."
    )
    found = []
    for task in ("SuHw_Kc", "BEAF_Kc"):
        t = tasks.index(task)
        bound = windows[windows[task] > 0]
        bound = bound.iloc[np.linspace(0, len(bound) - 1, min(n_seq, len(bound))).astype(int)]
        starts = (bound["start"] + bound["end"]) // 2 - width // 2
        X = genome.one_hot(bound["chrom"].tolist(), starts.to_numpy(), width)
        attr = attribute(
            model, X, method="deepliftshap", target=t, n_shuffles=10, random_state=ctx.random_state
        )
        top = int(attr.attributions.sum(dim=(1, 2)).argmax())
        centre = int(attr.attributions[top].abs().sum(0).argmax())
        lo = max(0, min(width - 60, centre - 30))
        logo = save_attribution_logo(
            ctx.report.figures_dir / f"attribution_{task}.png",
            attr.attributions[top][:, lo : lo + 60],
            title=f"{task}: DeepLIFT/SHAP of the top window, bases {lo}-{lo + 60}",
        )
        sec.image(logo, f"{task}: attribution logo of the highest-scoring bound window", width=520)
        try:
            disc = discover_motifs(
                X,
                attr.attributions,
                attr.hypothetical,
                database=database,
                min_metacluster_size=20,
                final_min_cluster_size=10,
            )
        except ValueError as err:  # too few seqlets for modisco on a small run
            sec.note(f"{task}: TF-MoDISco found no pattern ({err})")
            continue
        matches = disc.matches.copy()
        if len(matches):
            matches.insert(0, "task", task)
            found.append(matches)
        for name, pfm in list(disc.patterns.items())[:3]:
            png = save_motif_logo(
                ctx.report.figures_dir / f"modisco_{task}_{name}.png",
                pfm,
                title=f"{task} {name} ({disc.n_seqlets[name]} seqlets)",
            )
            sec.image(png, f"{task}: TF-MoDISco {name}", width=300)
    if found:
        table = pd.concat(found, ignore_index=True)
        keep = [
            c
            for c in ("task", "query", "target", "p_value", "q_value", "orientation")
            if c in table
        ]
        sec.table(table[keep], name="modisco_matches")
        _say("[interpret] TF-MoDISco patterns and their best JASPAR insect matches:")
        _say(table[keep].head(12).to_string(index=False))
        ctx.results["interpret"] = table
    train = windows.sample(n=min(2000, len(windows)), random_state=ctx.random_state)
    Xf = genome.one_hot(train["chrom"].tolist(), train["start"].to_numpy(), width)
    fm = filters_to_pwms(model, Xf)
    fmatch = filter_matches(fm, database)
    fmatch = fmatch.sort_values("q_value").head(10) if "q_value" in fmatch else fmatch.head(10)
    sec.text("First-layer filters with the most significant database matches:")
    sec.table(fmatch, name="filter_matches")
    sec.code(
        "genodeep interpret --model MODEL --sequences peaks.bed --genome GENOME.fa --method deepliftshap --out interp\n"
        "genodeep motifs discover --attributions interp/attributions.npz --database JASPAR_insects.meme --out motifs"
    )


def _demo_variants(
    genome, windows: pd.DataFrame, task: str, n_windows: int, motif: np.ndarray, core: int = 100
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All three SNVs at every base of ``core``-bp cores of test windows bound by ``task``.

    The windows chosen are those whose central 200 bp hold the best matches of ``motif`` (chosen from
    the sequence alone, never from the model); each core is centred on that match.
    Returns the variants (chrom, pos, id, ref, alt) and the cores (chrom, start, end; 0-based).
    """
    from genodeep.motifs.scan import scan
    from genodeep.seq.encode import ALPHABET

    bound = windows[windows[task] > 0].reset_index(drop=True)
    centre = ((bound["start"] + bound["end"]) // 2 - 100).to_numpy()
    hits = scan(genome.one_hot(bound["chrom"].tolist(), centre, 200), {"m": motif}, threshold=1e-3)
    best = hits.drop_duplicates("seq").head(n_windows)  # sorted by p-value
    rows, cores = [], []
    for k, h in enumerate(best.itertuples(index=False)):
        chrom = bound["chrom"].iloc[h.seq]
        start = int(centre[h.seq]) + (h.start + h.end) // 2 - core // 2
        cores.append((chrom, start, start + core))
        for i, ref in enumerate(genome.fetch(chrom, start, start + core)):
            if ref not in ALPHABET:
                continue
            for alt in ALPHABET:
                if alt != ref:
                    rows.append((chrom, start + i + 1, f"w{k}_{i}", ref, alt))
    variants = pd.DataFrame(rows, columns=["chrom", "pos", "id", "ref", "alt"])
    return variants, pd.DataFrame(cores, columns=["chrom", "start", "end"])


def _write_vcf(df: pd.DataFrame, path: Path) -> Path:
    from genodeep._io_utils import atomic_write

    with atomic_write(path) as fh:
        fh.write("##fileformat=VCFv4.2\n##source=genodeep demo (all SNVs around bound windows)\n")
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for r in df.itertuples(index=False):
            fh.write(f"{r.chrom}\t{r.pos}\t{r.id}\t{r.ref}\t{r.alt}\t.\t.\t.\n")
    return path


def step_variants(ctx: DemoContext) -> None:
    """Score every SNV around strongly bound test windows; explain the top variants; check the effects
    against the Su(Hw) motif."""
    from genodeep.io import read_motifs
    from genodeep.variants import score_variants
    from genodeep.variants.attribution import attributions_dir
    from genodeep.variants.concentration import (
        effect_concentration,
        save_effect_concentration_plot,
        window_motif_hits,
    )
    from genodeep.zoo import load, save_package

    if "train" not in ctx.results:
        step_train(ctx)
    if "data" not in ctx.results:
        step_data(ctx)
    result = ctx.results["train"]
    data = ctx.results["data"]
    genome, test = data["genome"], data["splits"]["test"]
    task, motif = "SuHw_Kc", "MA0533.1 su(Hw)"
    pwm = read_motifs(example_data.insect_motifs())[motif]
    variants, cores = _demo_variants(genome, test, task, n_windows=3 if ctx.quick else 6, motif=pwm)
    vcf = _write_vcf(variants, ctx.path("variants", "snvs.vcf"))
    pkg = save_package(
        result.model, ctx.path("variants", "model"), data_spec=_data_spec(result), overwrite=True
    )
    model = load(pkg)
    table = score_variants(model, genome, vcf, out=None)
    scored = ctx.path("variants", "scored.vcf.gz")
    score_variants(model, genome, vcf, out=scored, attributions=3, attribution_task=task)
    explained = pd.read_csv(attributions_dir(scored) / "variants.tsv", sep="\t")
    table = table.assign(abs_effect=table[f"{task}.diff"].abs())
    top = table.sort_values("abs_effect", ascending=False).head(15)
    cols = [
        "chrom",
        "pos",
        "ref",
        "alt",
        f"{task}.ref",
        f"{task}.alt",
        f"{task}.diff",
        f"{task}.logodds",
        "max_task",
    ]
    _say(f"[variants] {len(table):,} SNVs scored; largest predicted effects on {task}:")
    _say(top[cols].head(8).to_string(index=False))

    hits = window_motif_hits(genome, cores, {motif: pwm})
    conc = effect_concentration(
        table, hits, task=task, windows=cores, random_state=ctx.random_state
    )
    claim = conc.statement("Su(Hw) motif")
    _say(f"[variants] {claim}")
    png = save_effect_concentration_plot(
        ctx.report.figures_dir / "variant_effects.png", conc, motif="Su(Hw)", max_windows=6
    )
    sec = ctx.report.section("6. Variant effect prediction")
    sec.text(
        f"Every possible SNV in 100 bp of the test windows bound by {task} ({len(table):,} variants; the "
        "windows whose central 200 bp best match the JASPAR Su(Hw) motif, chosen from the sequence alone, "
        "each 100-bp core centred on that match) was written to a VCF and scored with the trained model: "
        "reference and alternative windows from the genome, both strands averaged, effects per task."
    )
    sec.table(top[cols], name="top_variants")
    sec.text(
        "Attributions (in-silico mutagenesis, both strands) of the reference and alternative windows of the "
        f"three variants with the largest effect on {task}, and their difference (the variant base is shaded):"
    )
    folder = attributions_dir(scored)
    for row in explained.head(3).itertuples(index=False):
        sec.image(
            folder / row.png, f"#{row.rank} {row.chrom}:{row.pos} {row.ref}>{row.alt}", width=620
        )
    sec.text(
        f"Do the effects fall on the binding site? The same cores were scanned for the JASPAR Su(Hw) motif "
        f"({motif}, FIMO-like p < 1e-4, {len(hits)} hits); the p-value comes from rotating the motif mask "
        f"within each core ({len(conc.null):,} random rotations). {claim}."
    )
    sec.image(png, f"|effect| on {task} along each scanned core; Su(Hw) motif hits shaded")
    sec.code(
        "genodeep score-variants --model MODEL --genome GENOME.fa --vcf snvs.vcf --out scored.vcf.gz "
        f"--attributions 3 --attribution-task {task}"
    )
    ctx.results["variants"] = table
    ctx.results["variant_concentration"] = conc


def step_single_cell(ctx: DemoContext) -> None:
    """Single cell (the review's Fig. 6): count autoencoders vs PCA on masked entries; VAE latent space."""
    from genodeep.io import read_counts
    from genodeep.sc.api import embed, plot_latent
    from genodeep.sc.evaluate import cluster_ari, evaluate_denoising
    from genodeep.sc.preprocess import get_counts

    adata = read_counts(example_data.pbmc_counts())
    X = get_counts(adata)
    labels = adata.obs["bulk_labels"].astype(str).to_numpy()
    epochs = 5 if ctx.quick else None
    table = evaluate_denoising(
        X,
        methods=("mean", "pca", "ae", "nb", "zinb"),
        labels=labels,
        max_epochs=epochs,
        random_state=ctx.random_state,
    )
    table = table.rename_axis("method").reset_index() if "method" not in table.columns else table
    _say("[single cell] recovery of 10% hidden non-zero counts (pbmc68k, 700 cells x 765 genes):")
    _say(table.to_string(index=False))
    emb = embed(adata, model="vae", max_epochs=epochs, random_state=ctx.random_state)
    png = plot_latent(
        emb,
        ctx.report.figures_dir / "pbmc_vae_umap.png",
        color="bulk_labels",
        title="NB VAE latent space (UMAP), coloured by cell type",
    )
    ari_vae = cluster_ari(emb.obsm["X_genodeep"], labels, random_state=ctx.random_state)
    _say(f"[single cell] VAE latent ARI vs bulk_labels: {ari_vae:.3f}")
    sec = ctx.report.section("7. Single cell: count autoencoders and a VAE on PBMCs")
    sec.text(
        "10% of the non-zero UMI counts of 700 PBMCs are hidden; each method is trained on the rest and "
        "scored on how well it recovers the hidden entries (Pearson and Spearman of log1p counts, negative "
        "binomial log-likelihood). 'mean' is the trivial baseline gene mean x the cell's size factor. The "
        "count autoencoders use NB/ZINB likelihoods with masked (denoising) training."
    )
    sec.table(table, name="denoising")
    sec.text(
        f"Adjusted Rand index of k-means clusters in the VAE latent space vs the cell-type labels: {ari_vae:.3f}."
    )
    sec.image(png, "scVI-style VAE latent space, UMAP", width=520)
    sec.code(
        "genodeep denoise pbmc.h5ad --out denoised.h5ad --plots plots\n"
        "genodeep embed pbmc.h5ad --out embedded.h5ad --plots plots --color bulk_labels"
    )
    ctx.results["single_cell"] = table


def _data_spec(result) -> dict:
    cfg = result.config
    return {
        "sequence_length": int(cfg["data"].get("width", 0)) or None,
        "task_names": list(result.data.task_names) if hasattr(result.data, "task_names") else None,
        "kind": "binary",
        "genome": "dm3 (genodeep example slice chr2R:6-14 Mb)",
    }


def step_zoo(ctx: DemoContext) -> None:
    """Save the trained insulator model as a package and add it to the local zoo."""
    from genodeep import zoo

    if "train" not in ctx.results:
        step_train(ctx)
    result = ctx.results["train"]
    pkg = zoo.save_package(
        result.model,
        ctx.path("packages", "insulators-cnn"),
        data_spec=_data_spec(result),
        metadata={
            "description": "DeepBind-style CNN for 8 fly insulator ChIP-chip tasks (genodeep demo)"
        },
        overwrite=True,
    )
    name = zoo.add(pkg, overwrite=True)
    table = zoo.list_models()
    _say(f"[zoo] added {name} to {zoo.zoo_dir()}")
    sec = ctx.report.section("8. Sharing: model packages and the local zoo")
    sec.text(
        "The trained model is saved as a package (constructor arguments, safetensors weights, data spec, "
        f"metadata, model card and sha256 checksums) and added to the local zoo at {zoo.zoo_dir()}."
    )
    sec.table(table, name="zoo")
    sec.code(
        f"genodeep zoo list\ngenodeep zoo predict {name} --fasta my_sequences.fa --out predictions.tsv"
    )


STEPS: dict[str, Callable[[DemoContext], None]] = {
    "data": step_data,
    "train": step_train,
    "spacing": step_spacing,
    "beyond": step_beyond,
    "interpret": step_interpret,
    "variants": step_variants,
    "single_cell": step_single_cell,
    "zoo": step_zoo,
}


def run_demo(
    out_dir: str | os.PathLike = "demo-report",
    *,
    steps: Sequence[str] | None = None,
    quick: bool = False,
    random_state: int = 0,
) -> Path:
    """Run the demo steps and write ``out_dir/index.html``.

    Parameters
    ----------
    out_dir : path
        Report folder (created).
    steps : sequence of str, optional
        Subset of :data:`STEPS` to run, in the given order (default: all).
    quick : bool
        Smaller models and fewer epochs (for tests).

    Returns
    -------
    Path of ``index.html``.
    """
    names = list(steps) if steps else list(STEPS)
    unknown = [s for s in names if s not in STEPS]
    if unknown:
        raise ValueError(f"unknown demo step(s) {unknown}; valid steps: {', '.join(STEPS)}")
    report = Report(out_dir, "genodeep demo: from genomic files to biological insight")
    report.intro.append(
        "Every number and figure below was computed by `genodeep demo` on data shipped inside the package "
        "(no network). Each section names the command that reproduces it alone."
    )
    ctx = DemoContext(Path(out_dir), report, quick=quick, random_state=random_state)
    t_all = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        log(f"genodeep demo: step {name} ...")
        STEPS[name](ctx)
        report.write()
        log(f"genodeep demo: step {name} done in {time.perf_counter() - t0:.1f} s")
    index = report.write()
    _say(f"report: {index} ({time.perf_counter() - t_all:.0f} s)")
    return index
