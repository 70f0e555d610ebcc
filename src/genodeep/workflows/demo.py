"""``genodeep demo``: the whole workflow on the data shipped inside genodeep, with an HTML report.

Each step is a function ``step_NAME(ctx)`` that does real work through the public API, prints a short
summary and adds a section to the report. ``run_demo`` runs them in order; ``steps=`` picks a subset.
The steps that build the data and the models live in :mod:`genodeep.workflows._demo_steps`; the ones
that interpret them (attributions and motifs, variant effects, single cell) here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from genodeep import example_data
from genodeep._io_utils import atomic_write
from genodeep._progress import log
from genodeep.interpret.api import attribute
from genodeep.interpret.filters import filter_matches, filters_to_pwms
from genodeep.interpret.plots import save_attribution_logo
from genodeep.io import read_counts, read_motifs
from genodeep.motifs.discover import discover_motifs
from genodeep.motifs.logo import save_motif_logo
from genodeep.motifs.scan import scan
from genodeep.report import Report
from genodeep.sc.api import embed
from genodeep.sc.evaluate import cluster_ari, evaluate_denoising
from genodeep.sc.plots import plot_latent
from genodeep.sc.preprocess import get_counts
from genodeep.seq.encode import ALPHABET
from genodeep.variants.concentration import (
    effect_concentration,
    save_effect_concentration_plot,
    window_motif_hits,
)
from genodeep.workflows._demo_design import step_design
from genodeep.workflows._demo_signal import step_signal
from genodeep.workflows._demo_steps import (
    DemoContext,
    _data_spec,
    _say,
    step_beyond,
    step_data,
    step_spacing,
    step_train,
    step_zoo,
)
from genodeep.workflows.variants import attributions_dir, score_variants
from genodeep.zoo import load, save_package

__all__ = ["STEPS", "DemoContext", "run_demo"]


def step_interpret(ctx: DemoContext) -> None:
    """What did the model learn? DeepLIFT/SHAP logos, filters -> motifs, TF-MoDISco patterns vs JASPAR."""
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
    with atomic_write(path) as fh:
        fh.write("##fileformat=VCFv4.2\n##source=genodeep demo (all SNVs around bound windows)\n")
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for r in df.itertuples(index=False):
            fh.write(f"{r.chrom}\t{r.pos}\t{r.id}\t{r.ref}\t{r.alt}\t.\t.\t.\n")
    return path


def step_variants(ctx: DemoContext) -> None:
    """Score every SNV around strongly bound test windows; explain the top variants; check the effects
    against the Su(Hw) motif."""
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


STEPS: dict[str, Callable[[DemoContext], None]] = {
    "data": step_data,
    "train": step_train,
    "spacing": step_spacing,
    "beyond": step_beyond,
    "interpret": step_interpret,
    "variants": step_variants,
    "single_cell": step_single_cell,
    "zoo": step_zoo,
    "signal": step_signal,
    "design": step_design,
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
