"""SpliceAI variant scoring (genodeep.workflows.spliceai).

The full comparison with the ``spliceai`` tool (TensorFlow) is scripts/compare_spliceai_cli.py. Here a tiny
stand-in with SpliceAI's geometry (10,000 bases of context, 3 softmax outputs) checks the batched,
shared-context computation against a naive one-window-per-variant computation following the tool's
procedure, and hand-made arrays check the delta scores, the indel alignment and the masking.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from genodeep._validate import InputFileError
from genodeep.models.imported import ImportedGraph
from genodeep.variants.splice import (
    AltEdit,
    LocalPlan,
    Unsupported,
    align_indel,
    delta_scores,
    ref_alt_outputs,
)
from genodeep.workflows import spliceai as sp


def _standin() -> ImportedGraph:
    """Input (N, 4, L) -> (N, 3, L - 10000): a wide conv (reaching +-60, so no exact ties among
    the +-50 positions), crop 5000 each side, softmax."""
    nodes = [
        {"name": "x", "op": "input", "inputs": [], "args": {"channels": 4}},
        {
            "name": "c",
            "op": "conv1d",
            "inputs": ["x"],
            "args": {
                "in_channels": 4,
                "out_channels": 3,
                "kernel_size": 121,
                "dilation": 1,
                "padding": [60, 60],
                "activation": "linear",
            },
        },
        {"name": "crop", "op": "crop", "inputs": ["c"], "args": {"left": 5000, "right": 5000}},
        {"name": "sm", "op": "activation", "inputs": ["crop"], "args": {"fn": "softmax"}},
    ]
    torch.manual_seed(0)
    model = ImportedGraph(nodes=nodes, outputs=["sm"], n_tasks=3)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)
    return model.eval()


class _Pkg:
    def __init__(self, model):
        self.model = model


@pytest.fixture
def case(tmp_path):
    rng = np.random.default_rng(3)
    n = 30_000
    seq = rng.choice(list("ACGT"), size=n)
    (tmp_path / "g.fa").write_text(">chr1\n" + "".join(seq) + "\n")
    (tmp_path / "genes.txt").write_text(
        "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
        "GP\t1\t+\t8000\t20000\t8000,12000,\t11000,20000,\n"
        "GM\t1\t-\t14000\t24000\t14000,19000,\t16000,24000,\n"
    )
    recs = [
        (12001, None, "snv"),
        (12010, None, "snv"),
        (15000, None, "snv"),
        (19500, None, "ins"),
        (16010, None, "del"),
        (22000, None, "snv"),
        (17000, None, "mnv"),
        (3000, None, "snv"),
        (29990, None, "snv"),
    ]
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for i, (p, _, kind) in enumerate(recs):
        ref = seq[p - 1]
        if kind == "snv":
            alt = "A" if ref != "A" else "G"
        elif kind == "ins":
            alt = ref + "TTG"
        elif kind == "del":
            ref, alt = "".join(seq[p - 1 : p + 3]), seq[p - 1]
        else:
            ref, alt = "".join(seq[p - 1 : p + 1]), "AC" if seq[p - 1] != "A" else "GC"
        lines.append(f"chr1\t{p}\tv{i}\t{ref}\t{alt}\t.\t.\t.")
    (tmp_path / "v.vcf").write_text("\n".join(lines) + "\n")
    return tmp_path, "".join(seq)


def _naive(model, seq, ann, chrom_pos, ref, alt, gene, distance=50, mask=False):
    """One window per variant, ref and alt separately, as the spliceai tool does it."""
    cov, wid = 2 * distance + 1, 10000 + 2 * distance + 1
    g = ann.loc[gene]
    pos = chrom_pos
    window = seq[pos - wid // 2 - 1 : pos + wid // 2]
    pad0 = max(wid // 2 + g["tx_start"] - pos, 0)
    pad1 = max(wid // 2 - (g["tx_end"] - pos), 0)
    x_ref = "N" * pad0 + window[pad0 : wid - pad1] + "N" * pad1
    x_alt = x_ref[: wid // 2] + alt + x_ref[wid // 2 + len(ref) :]

    def run(s):
        codes = np.array(["ACGTN".index(c) for c in s])
        x = np.eye(5, dtype="f4")[codes][:, :4]
        if g["strand"] == "-":
            x = x[::-1, ::-1]
        with torch.no_grad():
            y = model(torch.from_numpy(x.copy()).T[None]).numpy()[0].T
        return y[::-1] if g["strand"] == "-" else y

    yr, ya = run(x_ref), run(x_alt)
    ya = align_indel(ya.T, len(ref), len(alt), cov).T
    dist = int(min(g["boundaries"] - pos, key=abs))
    return delta_scores(yr.T, ya.T, cov, dist, mask)


def test_shared_context_scores_equal_one_window_per_variant(case):
    folder, seq = case
    model = _standin()
    ann = sp.read_gene_annotation(folder / "genes.txt")
    table = sp.score_spliceai(_Pkg(model), folder / "g.fa", folder / "v.vcf", ann, batch_size=3)
    scored = table[table["DS_AG"].notna()]
    assert (
        len(scored) == 9
    )  # allele x gene: SNVs, an insertion and a deletion, 3 of them in both genes
    for r in scored.itertuples():
        gene = int(ann.index[ann["name"] == r.gene][0])
        want = _naive(model, seq, ann, r.pos, r.ref, r.alt, gene)
        got = [r.DS_AG, r.DS_AL, r.DS_DG, r.DS_DL, r.DP_AG, r.DP_AL, r.DP_DG, r.DP_DL]
        np.testing.assert_allclose(got[:4], want[:4], atol=1e-5)
        assert got[4:] == want[4:]
    status = dict(zip(table["id"] + table["gene"], table["status"]))
    assert status["v7"] == "not in an annotated gene"
    assert status["v8"] == "not in an annotated gene"
    assert status["v6GM"].startswith("multi-base")


def test_vcf_output_has_spliceai_info(case, tmp_path):
    folder, _ = case
    out = tmp_path / "o.vcf"
    sp.score_spliceai_to_files(
        _Pkg(_standin()), folder / "g.fa", folder / "v.vcf", out, folder / "genes.txt"
    )
    text = out.read_text()
    assert "##INFO=<ID=SpliceAI," in text
    info = [line.split("\t")[7] for line in text.splitlines() if line.startswith("chr1\t15000")][0]
    assert info.count("|") == 2 * 9 and "|GP|" in info and "|GM|" in info  # one entry per gene
    assert "|.|.|.|.|.|.|.|." in [x for x in text.splitlines() if "\tv6\t" in x][0]


def test_deltas_positions_and_masking_known_answer():
    cov = 5
    y_ref = np.zeros((3, cov))
    y_alt = np.zeros((3, cov))
    y_alt[1, 3] = 0.7  # acceptor gain at +1
    y_ref[1, 0] = 0.4  # acceptor loss at -2
    y_alt[2, 2] = 0.2  # donor gain at 0
    y_ref[2, 4] = 0.9  # donor loss at +2
    ds = delta_scores(y_ref, y_alt, cov, dist_exon=1, mask=False)
    assert ds == pytest.approx([0.7, 0.4, 0.2, 0.9, 1, -2, 0, 2])
    masked = delta_scores(y_ref, y_alt, cov, dist_exon=1, mask=True)
    # the gain at the annotated boundary (+1) and the losses away from it are zeroed
    assert masked == pytest.approx([0.0, 0.0, 0.2, 0.0, 1, -2, 0, 2])


def test_indel_alignment_known_answer():
    y = np.arange(3 * 7, dtype=float).reshape(3, 7)
    dele = align_indel(y[:, :3], ref_len=3, alt_len=1, cov=5)  # 5 - 3 + 1 = 3 outputs
    assert dele.shape == (3, 5) and (dele[:, 3:] == 0).all() and (dele[:, :3] == y[:, :3]).all()
    ins = align_indel(y, ref_len=1, alt_len=3, cov=5)  # 5 - 1 + 3 = 7 outputs
    assert ins.shape == (3, 5) and (ins[:, 2] == y[:, 2:5].max(1)).all()
    assert (ins[:, 3:] == y[:, 5:]).all()


def test_annotation_errors_name_file_and_line(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text(
        "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\nG\t1\t+\tx\t10\t1,\t5,\n"
    )
    with pytest.raises(InputFileError, match="malformed annotation line") as err:
        sp.read_gene_annotation(p)
    assert err.value.line == 2
    p.write_text("NAME\tCHROM\n")
    with pytest.raises(InputFileError, match="lacks #NAME"):
        sp.read_gene_annotation(p)


def test_cli_needs_an_annotation(case, capsys):
    from genodeep.cli.__main__ import main

    folder, _ = case
    rc = main(
        [
            "score-variants",
            "--model",
            "spliceai",
            "--genome",
            str(folder / "g.fa"),
            "--vcf",
            str(folder / "v.vcf"),
            "--out",
            str(folder / "o.tsv"),
        ]
    )
    assert rc != 0
    assert "--model spliceai needs --annotation" in capsys.readouterr().err


def test_distance_is_checked():
    with pytest.raises(ValueError, match="distance must be in"):
        sp.score_spliceai(_Pkg(_standin()), "g.fa", "v.vcf", pd.DataFrame(), distance=5000)


def _conv_node(name, inp, cin, cout, k=1, d=1, act="linear"):
    pad = d * (k - 1) // 2
    args = {"in_channels": cin, "out_channels": cout, "kernel_size": k, "dilation": d}
    args.update(padding=[pad, pad], activation=act)
    return {"name": name, "op": "conv1d", "inputs": [inp], "args": args}


def _residual_standin(n_models: int = 2, ch: int = 6) -> ImportedGraph:
    """SpliceAI's structure in small: per model a 1-tap stem, a skip path, residual units
    BN-ReLU-dilated conv-BN-ReLU-dilated conv + input, a 1-tap dense into the skip after each unit,
    a crop of exactly the receptive field (16 each side), a softmax over 3 channels; models averaged."""
    nodes = [{"name": "x", "op": "input", "inputs": [], "args": {"channels": 4}}]
    outs = []
    for m in range(n_models):
        p = f"m{m}_"
        nodes += [_conv_node(p + "stem", "x", 4, ch), _conv_node(p + "skip0", p + "stem", ch, ch)]
        cur, skip = p + "stem", p + "skip0"
        for u, (k, d) in enumerate([(3, 2), (5, 3)]):
            q = f"{p}u{u}_"
            nodes += [
                {"name": q + "bn1", "op": "batchnorm", "inputs": [cur], "args": {"channels": ch}},
                {
                    "name": q + "a1",
                    "op": "activation",
                    "inputs": [q + "bn1"],
                    "args": {"fn": "relu"},
                },
                _conv_node(q + "c1", q + "a1", ch, ch, k, d),
                {
                    "name": q + "bn2",
                    "op": "batchnorm",
                    "inputs": [q + "c1"],
                    "args": {"channels": ch},
                },
                {
                    "name": q + "a2",
                    "op": "activation",
                    "inputs": [q + "bn2"],
                    "args": {"fn": "relu"},
                },
                _conv_node(q + "c2", q + "a2", ch, ch, k, d),
                {"name": q + "add", "op": "add", "inputs": [q + "c2", cur], "args": {}},
                _conv_node(q + "dense", q + "add", ch, ch),
                {"name": q + "skip", "op": "add", "inputs": [skip, q + "dense"], "args": {}},
            ]
            cur, skip = q + "add", q + "skip"
        nodes += [
            {"name": p + "crop", "op": "crop", "inputs": [skip], "args": {"left": 16, "right": 16}},
            _conv_node(p + "out", p + "crop", ch, 3, act="softmax"),
        ]
        outs.append(p + "out")
    nodes.append({"name": "avg", "op": "average", "inputs": outs, "args": {}})
    torch.manual_seed(1)
    model = ImportedGraph(nodes=nodes, outputs=["avg"], n_tasks=3)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm1d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    return model.eval()


def test_local_plan_reference_and_alt_edits_equal_full_forward_passes():
    """The range-wise plan (BN folded, progressive crop, ALT incremental over the reference) gives
    the full forward's numbers for the reference and for SNV, insertion and deletion windows."""
    model = _residual_standin()
    plan = LocalPlan(model)
    convs = [st for st in plan.steps if st.kind == "conv"]
    assert len(convs) == 2 * 9  # per model: stem, skip, 3 per unit, output
    assert all(f[0] != "affine" for st in convs for f in st.post)  # the BN after a conv is folded
    assert sum(st.kind == "point" for st in plan.steps) == 2 * 2  # BN + ReLU of each unit: one step
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 4, 200).astype(np.uint8)
    codes[:5] = 4  # N
    cov, ctx = 11, 32
    half = (ctx + cov) // 2

    def fwd(c):
        x = torch.from_numpy(np.eye(5, dtype="f4")[c][:, :4].T.copy())[None]
        with torch.inference_mode():
            return model(x)[0].numpy()

    edits, naive = [], []
    for p, ref_len, alt in [
        (60, 1, [2]),
        (61, 1, [0]),
        (90, 1, [1, 3, 3]),
        (120, 4, [0]),
        (150, 1, [3]),
    ]:
        alt = np.array(alt, dtype=np.uint8)
        window = np.concatenate(
            [codes[p - half : p], alt, codes[p + ref_len : p - half + ctx + cov]]
        )
        edits.append(AltEdit(p, ref_len, alt, -half, len(window)))
        naive.append(fwd(window))
    windows = [(40, 51), (100, 130)]
    y_ref, y_alt = ref_alt_outputs(plan, codes, windows, edits, batch_size=2)
    full = fwd(codes)  # outputs at input positions 16 .. 184
    for (s, e), y in zip(windows, y_ref):
        np.testing.assert_allclose(y, full[:, s - 16 : e - 16], atol=1e-6)
    for y, want in zip(y_alt, naive):
        assert y.shape == want.shape
        np.testing.assert_allclose(y, want, atol=1e-6)
    with pytest.raises(Unsupported, match="outside"):  # would read the padding at the start
        ref_alt_outputs(plan, codes, [(5, 20)], [])


def test_local_plan_refuses_layers_without_a_range_form():
    nodes = [
        {"name": "x", "op": "input", "inputs": [], "args": {"channels": 4}},
        {"name": "f", "op": "flatten", "inputs": ["x"], "args": {}},
    ]
    with pytest.raises(Unsupported, match="'flatten' has no position-range form"):
        LocalPlan(ImportedGraph(nodes=nodes, outputs=["f"]))


def test_full_window_fallback_gives_the_same_scores(case, monkeypatch):
    """A graph the plan refuses is scored with full windows, to the same numbers."""
    folder, _ = case
    ann = sp.read_gene_annotation(folder / "genes.txt")
    fast = sp.score_spliceai(_Pkg(_standin()), folder / "g.fa", folder / "v.vcf", ann)

    def refuse(*a, **k):
        raise Unsupported("refused for the test")

    monkeypatch.setattr(sp, "LocalPlan", refuse)
    slow = sp.score_spliceai(_Pkg(_standin()), folder / "g.fa", folder / "v.vcf", ann)
    cols = ["DS_AG", "DS_AL", "DS_DG", "DS_DL"]
    np.testing.assert_allclose(fast[cols].to_numpy(float), slow[cols].to_numpy(float), atol=1e-6)
    assert fast[["DP_AG", "DP_DL"]].equals(slow[["DP_AG", "DP_DL"]])
