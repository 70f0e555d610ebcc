"""``genodeep zoo``: the local model zoo, its mirrors, and running its models.

Only ``search``, ``list --remote`` and ``pull`` contact a mirror; nothing else touches the network.
"""

from __future__ import annotations

import argparse

HELP = (
    "the model zoo: list | info | add | import | remove | verify | predict | mirror | search | pull "
    "| publish"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--root",
        default=None,
        help="zoo folder (default: $GENODEEP_ZOO or ~/.local/share/genodeep/zoo)",
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="table of the zoo's models")
    ls.add_argument(
        "--remote", action="store_true", help="list the models on the mirrors instead (= search)"
    )
    ls.add_argument("--mirror", default=None, metavar="URL", help="with --remote: this mirror only")
    for name, text in (
        ("info", "print a model's card: data spec, metrics, checksums"),
        ("remove", "delete a model"),
        ("verify", "check a model's sha256 checksums"),
    ):
        s = sub.add_parser(name, help=text)
        s.add_argument("name")
    a = sub.add_parser(
        "add",
        help="verify a package (folder, .tar.gz or `genodeep train` run folder) and copy it in",
    )
    a.add_argument("path")
    a.add_argument("--name", default=None)
    a.add_argument("--overwrite", action="store_true")
    _add_import(sub)
    _add_predict(sub)
    _add_mirror(sub)


def _add_import(sub) -> None:
    im = sub.add_parser(
        "import",
        help="convert a published model (spliceai, mmsplice: weights read from the installed "
        "package, nothing downloaded) or a Keras .h5 / ONNX file into a zoo package",
    )
    im.add_argument("source", metavar="SOURCE", help="spliceai, mmsplice, or FILE.h5 / FILE.onnx")
    im.add_argument("--name", default=None, help="zoo name (needed for a file)")
    im.add_argument(
        "--path",
        default=None,
        metavar="DIR",
        help="folder with the published weight files (default: the installed package)",
    )
    im.add_argument(
        "--task-names", dest="task_names", default=None, help="comma-separated output names"
    )
    im.add_argument("--overwrite", action="store_true", help="replace zoo models of that name")


def _add_predict(sub) -> None:
    pr = sub.add_parser("predict", help="run a zoo model on FASTA sequences or BED intervals")
    pr.add_argument("name")
    src = pr.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--sequences", "--fasta", dest="fasta", metavar="FASTA", help="sequences to score"
    )
    src.add_argument("--bed", metavar="FILE", help="intervals; needs --genome")
    pr.add_argument("--genome", metavar="FASTA", default=None, help="genome FASTA for --bed")
    pr.add_argument("--out", required=True, metavar="FILE", help="output .tsv, .npz or .bw")
    pr.add_argument("--task", default=None, help="task written to bigWig (default: all)")
    pr.add_argument("--batch-size", dest="batch_size", type=int, default=256)
    pr.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if available)")


def _add_mirror(sub) -> None:
    m = sub.add_parser("mirror", help="configure mirrors (remote zoos); contacts nothing")
    msub = m.add_subparsers(dest="mirror_action", metavar="ACTION", required=True)
    msub.add_parser("list", help="configured mirrors (config file and $GENODEEP_ZOO_MIRRORS)")
    for name, text in (("add", "record a mirror"), ("remove", "forget a mirror")):
        s = msub.add_parser(name, help=text)
        s.add_argument("url", metavar="URL", help="http(s):// or file:// URL, or a folder")
    se = sub.add_parser("search", help="models on the mirrors whose name or description has TEXT")
    se.add_argument("text", nargs="?", default=None, metavar="TEXT")
    se.add_argument("--mirror", default=None, metavar="URL", help="this mirror only")
    se.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    pu = sub.add_parser("pull", help="download a model from a mirror, verify it, install it")
    pu.add_argument("name")
    pu.add_argument("--mirror", default=None, metavar="URL", help="default: configured mirrors")
    pu.add_argument("--overwrite", action="store_true", help="replace a local model of that name")
    pu.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    pb = sub.add_parser(
        "publish", help="write a model as archive + index.json into a mirror folder"
    )
    pb.add_argument("name")
    pb.add_argument("--to", required=True, metavar="FOLDER", help="mirror folder")
    pb.add_argument("--overwrite", action="store_true", help="replace a published model")


def run(args: argparse.Namespace) -> int:
    from genodeep import zoo

    try:
        return _ACTIONS[args.action](args, zoo) or 0
    except FileExistsError as err:
        raise ValueError(str(err)) from err


def _list(args, zoo) -> None:
    if args.remote:
        _search(
            argparse.Namespace(text=None, mirror=args.mirror, timeout=30.0, root=args.root), zoo
        )
        return
    table = zoo.list_models(root=args.root)
    if table.empty:
        print(
            f"the zoo at {zoo.zoo_dir(args.root)} is empty; add models with "
            "`genodeep zoo add PACKAGE` or `genodeep zoo pull NAME`"
        )
    else:
        print(table.to_string(index=False))


def _info(args, zoo) -> None:
    print(zoo.info(args.name, root=args.root))


def _add(args, zoo) -> None:
    name = zoo.add(args.path, name=args.name, root=args.root, overwrite=args.overwrite)
    print(f"added {name} to {zoo.zoo_dir(args.root)}")


def _import(args, zoo) -> None:
    from genodeep.workflows.published import import_model

    names = import_model(
        args.source,
        name=args.name,
        path=args.path,
        task_names=args.task_names.split(",") if args.task_names else None,
        root=args.root,
        overwrite=args.overwrite,
    )
    for name in names:
        print(f"imported {name} into {zoo.zoo_dir(args.root)}; see `genodeep zoo info {name}`")


def _remove(args, zoo) -> None:
    zoo.remove(args.name, root=args.root)
    print(f"removed {args.name}")


def _verify(args, zoo) -> None:
    zoo.verify(args.name, root=args.root)
    print(f"{args.name}: all checksums match")


def _predict(args, zoo) -> None:
    from genodeep._progress import log
    from genodeep.workflows.predict import predict_file

    table = predict_file(
        args.name,
        fasta=args.fasta,
        bed=args.bed,
        genome=args.genome,
        out=args.out,
        task=args.task,
        zoo_root=args.root,
        batch_size=args.batch_size,
        device=args.device,
        verbose=not args.quiet,
    )
    log(f"wrote predictions for {len(table)} sequence(s) to {args.out}")


def _mirror(args, zoo) -> None:
    if args.mirror_action == "add":
        print(f"added mirror {zoo.add_mirror(args.url, root=args.root)}")
    elif args.mirror_action == "remove":
        zoo.remove_mirror(args.url, root=args.root)
        print(f"removed mirror {args.url}")
    else:
        table = zoo.list_mirrors(root=args.root)
        if table.empty:
            print("no mirrors configured; add one with `genodeep zoo mirror add URL`")
        else:
            print(table.to_string(index=False))


def _search(args, zoo) -> None:
    table = zoo.search(args.text, mirror=args.mirror, root=args.root, timeout=args.timeout)
    if table.empty:
        print("no matching models on the mirror(s)")
    else:
        print(table.to_string(index=False))


def _pull(args, zoo) -> None:
    name = zoo.pull(
        args.name,
        mirror=args.mirror,
        root=args.root,
        overwrite=args.overwrite,
        timeout=args.timeout,
        verbose=not args.quiet,
    )
    print(f"pulled {name} into {zoo.zoo_dir(args.root)} (archive and file checksums verified)")


def _publish(args, zoo) -> None:
    path = zoo.publish(args.name, to=args.to, root=args.root, overwrite=args.overwrite)
    print(
        f"published {args.name} as {path}; serve {path.parent} (e.g. python -m http.server) "
        "and add it with `genodeep zoo mirror add URL`"
    )


_ACTIONS = {
    "list": _list,
    "info": _info,
    "add": _add,
    "import": _import,
    "remove": _remove,
    "verify": _verify,
    "predict": _predict,
    "mirror": _mirror,
    "search": _search,
    "pull": _pull,
    "publish": _publish,
}
