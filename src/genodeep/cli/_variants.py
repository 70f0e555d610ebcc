"""``genodeep score-variants``: predicted effects of VCF variants under a trained model (per-task
effects, or for a profile model the change of its predicted profiles)."""

from __future__ import annotations

import argparse

HELP = "score the ALT alleles of a VCF with a trained model (ref/alt windows from the genome)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        required=True,
        help="model package folder or .tar.gz (genodeep train writes one), or a zoo name; "
        "`spliceai` (after `genodeep zoo import spliceai`) gives SpliceAI's delta scores. A profile "
        "model (bpnet, chrombpnet, basenji; data.kind: profile) gives per track TASK.log2fc "
        "(log2((alt+1)/(ref+1)) of the predicted totals over its output window), TASK.jsd "
        "(Jensen-Shannon distance of the ref and alt profiles, base 2), TASK.max_abs_diff and "
        "TASK.max_pos (largest per-base change and its offset from the variant)",
    )
    p.add_argument("--genome", required=True, help="reference FASTA (plain, gzip or bgzip)")
    p.add_argument("--vcf", required=True, help="VCF, plain or gzip/bgzip")
    p.add_argument(
        "--out",
        required=True,
        help="output .tsv[.gz], .parquet or .vcf[.gz] (input VCF + INFO fields)",
    )
    p.add_argument("--length", type=int, default=None, help="window length (default: the model's)")
    p.add_argument(
        "--on-ref-mismatch",
        choices=("error", "skip", "warn"),
        default="error",
        help="what to do when REF differs from the genome (default: error)",
    )
    p.add_argument(
        "--one-strand",
        action="store_true",
        help="do not average with the reverse complement (for profile models: its prediction "
        "flipped back, strand-paired tracks swapped)",
    )
    p.add_argument(
        "--shard", default=None, metavar="I/N", help="process records r with r %% N == I (e.g. 0/4)"
    )
    p.add_argument(
        "--attributions",
        type=int,
        default=0,
        metavar="N",
        help="also explain the N variants with the largest |effect|: ref/alt/delta attribution maps "
        "and logos in OUT_attributions/ beside --out (default: 0, none; not for profile models)",
    )
    p.add_argument(
        "--attribution-method",
        choices=("ism", "deepliftshap"),
        default="ism",
        help="attribution method for --attributions (default: ism)",
    )
    p.add_argument(
        "--attribution-task",
        default=None,
        metavar="TASK",
        help="rank and explain this task (default: each variant's task of largest effect)",
    )
    p.add_argument(
        "--attribution-flank",
        type=int,
        default=None,
        metavar="BASES",
        help="bases drawn on each side of the variant in the logos (default: 20, fewer for short "
        "windows)",
    )
    sp = p.add_argument_group("SpliceAI (--model spliceai)")
    sp.add_argument(
        "--annotation",
        default=None,
        metavar="FILE",
        help="genes in the `spliceai -A` format, or grch37/grch38 (the spliceai package's files); "
        "needed with --model spliceai",
    )
    sp.add_argument(
        "--distance",
        type=int,
        default=50,
        help="largest distance between the variant and a gained/lost splice site (default: 50)",
    )
    sp.add_argument(
        "--mask",
        action="store_true",
        help="zero annotated-site gains and unannotated-site losses (spliceai -M 1)",
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)"
    )


def run(args: argparse.Namespace) -> int:
    # imported when the command runs: building the parser imports every CLI module
    if args.model == "spliceai" or args.annotation is not None:
        return _spliceai(args)
    from genodeep.workflows.variants import score_variants_to_files

    score_variants_to_files(
        args.model,
        args.genome,
        args.vcf,
        args.out,
        length=args.length,
        both_strands=not args.one_strand,
        on_ref_mismatch=args.on_ref_mismatch,
        shard=args.shard,
        attributions=args.attributions,
        attribution_method=args.attribution_method,
        attribution_task=args.attribution_task,
        attribution_flank=args.attribution_flank,
        batch_size=args.batch_size,
        device=args.device,
        verbose=True,
    )
    return 0


def _spliceai(args: argparse.Namespace) -> int:
    from genodeep.workflows.spliceai import score_spliceai_to_files

    if args.annotation is None:
        raise ValueError(
            "--model spliceai needs --annotation FILE (genes in the `spliceai -A` format) or "
            "--annotation grch37|grch38"
        )
    score_spliceai_to_files(
        args.model,
        args.genome,
        args.vcf,
        args.out,
        args.annotation,
        distance=args.distance,
        mask=args.mask,
        batch_size=min(args.batch_size, 16),
        device=args.device,
        verbose=True,
    )
    return 0
