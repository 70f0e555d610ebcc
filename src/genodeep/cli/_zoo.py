"""``genodeep zoo``: list, inspect, add, remove, verify and run models of the local zoo."""

from __future__ import annotations

import argparse

HELP = "the local model zoo: list | info | add | remove | verify | predict"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--root",
        default=None,
        help="zoo folder (default: $GENODEEP_ZOO or ~/.local/share/genodeep/zoo)",
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="table of the zoo's models")
    for name, text in (
        ("info", "print a model's card"),
        ("remove", "delete a model"),
        ("verify", "check a model's sha256 checksums"),
    ):
        s = sub.add_parser(name, help=text)
        s.add_argument("name")
    a = sub.add_parser("add", help="verify a package (folder or .tar.gz) and copy it into the zoo")
    a.add_argument("path")
    a.add_argument("--name", default=None)
    a.add_argument("--overwrite", action="store_true")
    pr = sub.add_parser("predict", help="run a zoo model (same flags as `genodeep predict`)")
    pr.add_argument("name")
    pr.add_argument(
        "predict_args", nargs=argparse.REMAINDER, help="--fasta F | --bed B --genome G, --out OUT"
    )


def run(args: argparse.Namespace) -> int:
    from genodeep import zoo

    root = args.root
    if args.action == "list":
        table = zoo.list_models(root=root)
        if table.empty:
            print(
                f"the zoo at {zoo.zoo_dir(root)} is empty; add models with `genodeep zoo add PACKAGE`"
            )
        else:
            print(table.to_string(index=False))
    elif args.action == "info":
        print(zoo.info(args.name, root=root))
    elif args.action == "add":
        name = zoo.add(args.path, name=args.name, root=root, overwrite=args.overwrite)
        print(f"added {name} to {zoo.zoo_dir(root)}")
    elif args.action == "remove":
        zoo.remove(args.name, root=root)
        print(f"removed {args.name}")
    elif args.action == "verify":
        zoo.verify(args.name, root=root)
        print(f"{args.name}: all checksums match")
    elif args.action == "predict":
        from genodeep.cli.__main__ import main

        zoo.verify(args.name, root=root)
        path = zoo.zoo_dir(root) / args.name
        return main(["predict", "--model", str(path), *args.predict_args])
    return 0
