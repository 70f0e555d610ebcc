"""Generate the reference pages of the documentation site and execute its tutorials.

Everything a reference page says is read from the code, so the site cannot drift from it:

- ``reference/cli.md``: every command and flag, from ``genodeep.cli.__main__.build_parser()``;
- ``reference/config.md``: every config key with its type and default, per data kind and per model, from
  the signatures the config schema itself reads (``genodeep.data.sources.loader_parameters``,
  ``genodeep._signature.parameters`` on the ``MODELS`` classes, ``fit_parameters`` & co. in
  ``genodeep.workflows.assemble``), with the descriptions of the functions' docstrings;
- ``reference/package-format.md``: the files of a model package, the ``ModelSpec`` fields, and the
  files of a real (tiny) package written by ``genodeep.save_package`` while the site builds;
- ``api/*.md``: one mkdocstrings entry per public name of ``genodeep._API`` and per name of the
  subpackages' ``__all__``.

Two ways to run it:

- as a mkdocs hook (``hooks: [scripts/gen_docs.py]`` in ``mkdocs.yml``): the pages are added to the build
  without being written into ``docs/``, and every ``docs/tutorials/*.ipynb`` is executed with nbclient in a
  scratch folder; a cell error fails the build. ``GENODEEP_DOCS_EXECUTE=0`` skips the execution (for quick
  edits; CI always executes). The executed notebooks and their timings (``tutorials/execution.json``) are
  written into the site;
- ``python scripts/gen_docs.py OUT_DIR``: writes the generated pages as markdown, for reading or diffing.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("mkdocs.hooks.gen_docs")

# --------------------------------------------------------------------------------------------------
# small helpers


_ROLE = re.compile(r":(?:func|class|mod|data|attr|meth|obj|exc):`~?([^`]+)`")


def _md(text: str) -> str:
    """reST inline markup of a docstring as markdown: ``x`` -> `x`, :func:`~a.b` -> `b`."""
    text = _ROLE.sub(
        lambda m: (
            "`" + m.group(1).split(".")[-1] + "`"
            if m.group(0).count("~")
            else "`" + m.group(1) + "`"
        ),
        text,
    )
    return text.replace("``", "`")


def _cell(text: Any) -> str:
    """Text for one markdown table cell: one line, pipes escaped, brackets outside code escaped (a
    help text's ``obs['x']`` is no link)."""
    parts = re.split(r"(`+[^`]*`+)", _md(" ".join(str(text).split())))
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("[", "\\[").replace("]", "\\]").replace("<", "&lt;")
    return "".join(parts).replace("|", "\\|")


def _code(text: str) -> str:
    text = str(text)
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _yaml_value(value: Any) -> str:
    """A default as it would be written in a YAML config."""
    if value is inspect.Parameter.empty:
        return "**required**"
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, (int, float, str)):
        return _code(value if isinstance(value, str) else repr(value))
    if isinstance(value, (list, tuple)):
        return _code("[" + ", ".join(str(v) for v in value) + "]")
    if isinstance(value, Mapping):
        return _code("{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}")
    return _code(repr(value))


def _docstring_params(*funcs: Callable) -> dict[str, str]:
    """Parameter name -> description, from the numpy docstrings of ``funcs`` (first one wins)."""
    from griffe import Docstring, Parser

    logging.getLogger("griffe").setLevel(logging.ERROR)
    out: dict[str, str] = {}
    for func in funcs:
        docs = [inspect.getdoc(func) or ""]
        if isinstance(func, type):
            docs.append(inspect.getdoc(func.__init__) or "")
        for doc in docs:
            try:
                sections = Docstring(doc).parse(
                    Parser.numpy, warn_missing_types=False, warn_unknown_params=False
                )
            except Exception:  # a docstring griffe cannot parse just gives no descriptions
                continue
            for section in sections:
                if section.kind.value not in ("parameters", "attributes"):
                    continue
                for p in section.value:
                    for name in str(p.name).replace(" ", "").split(","):
                        if name and name not in out:
                            out[name] = p.description or ""
    return out


def _key_table(
    params: Mapping[str, inspect.Parameter],
    hints: Mapping[str, Any],
    descriptions: Mapping[str, str],
    *,
    notes: Mapping[str, str] | None = None,
) -> str:
    from genodeep._signature import type_name

    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, p in params.items():
        hint = hints.get(name)
        typ = type_name(hint) if hint is not None else ""
        meaning = (notes or {}).get(name) or descriptions.get(name, "")
        rows.append(
            f"| `{name}` | {_cell(typ)} | {_cell(_yaml_value(p.default))} | {_cell(meaning)} |"
        )
    return "\n".join(rows)


def _first_line(func: Any) -> str:
    doc = inspect.getdoc(func) or ""
    para = doc.split("\n\n")[0]
    return _md(" ".join(para.split()))


# --------------------------------------------------------------------------------------------------
# CLI reference


def _actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue
        yield action


def _action_row(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser._get_formatter()
    if action.option_strings:
        names = ", ".join(action.option_strings)
        if action.nargs != 0:
            metavar = formatter._format_args(action, action.dest.upper())
            names += f" {metavar}"
    else:
        names = formatter._format_args(action, action.dest)
    try:
        text = formatter._expand_help(action) if action.help else ""
    except (KeyError, TypeError, ValueError):
        text = action.help or ""
    if action.choices and not isinstance(action, argparse._SubParsersAction):
        choices = ", ".join(str(c) for c in action.choices)
        if choices not in text:
            text += f" (one of: {choices})"
    if action.required or not action.option_strings:
        default = "required" if action.nargs not in ("?", "*") else ""
    elif action.nargs == 0:
        default = ""
    elif action.default in (None, argparse.SUPPRESS):
        default = ""
    else:
        default = _code(action.default if not isinstance(action.default, str) else action.default)
    return f"| {_code(names)} | {_cell(default)} | {_cell(text)} |"


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield name, sub, helps.get(name) or sub.description or ""


def _parser_section(parser: argparse.ArgumentParser, prog: str, depth: int) -> list[str]:
    out = [f"{'#' * depth} `{prog}`", ""]
    if parser.description:
        out += [_cell(parser.description).replace("\\|", "|"), ""]
    usage = parser.format_usage().strip()
    usage = usage[len("usage: ") :] if usage.startswith("usage: ") else usage
    out += ["```text", usage, "```", ""]
    rows = [_action_row(parser, a) for a in _actions(parser)]
    rows = [
        r for r, a in zip(rows, _actions(parser)) if not isinstance(a, argparse._SubParsersAction)
    ]
    if rows:
        out += ["| argument | default | meaning |", "|---|---|---|", *rows, ""]
    subs = list(_subparsers(parser))
    if subs:
        out += ["| command | what it does |", "|---|---|"]
        for name, _, text in subs:
            anchor = f"{prog} {name}".replace(" ", "-")
            out.append(f"| [`{prog} {name}`](#{anchor}) | {_cell(text)} |")
        out.append("")
        for name, sub, _ in subs:
            out += _parser_section(sub, f"{prog} {name}", min(depth + 1, 4))
    return out


def cli_reference() -> str:
    """Markdown: every command and flag of ``genodeep``, from its argparse parser."""
    from genodeep.cli.__main__ import build_parser

    parser = build_parser()
    parser.prog = "genodeep"
    # headings carry explicit anchors so the command table can link to them
    lines = [
        "# Command line reference",
        "",
        "Generated from the argparse parser (`genodeep.cli.__main__.build_parser`) when the site is built.",
        "Each subcommand calls one API function; its flags are that function's keyword arguments. Global",
        "flags (`-q/--quiet`, `--threads`) go before the command: `genodeep -q train CONFIG`.",
        "",
    ]
    body = _parser_section(parser, "genodeep", 2)
    for line in body:
        if line.startswith("#") and line.rstrip().endswith("`"):
            prog = line.split("`")[1]
            line = f"{line} {{#{prog.replace(' ', '-')}}}"
        lines.append(line)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# config reference

_SECTION_INTRO = """\
# Config reference

Generated from the signatures that `genodeep train` validates a config against (`genodeep.workflows.config`),
when the site is built. A config's keys are the keyword arguments of the function that receives the section:
an unknown key, a key given twice, or a value of the wrong type is an error that names the file, the key
path and the valid keys. Paths are relative to the config file; `example:NAME` names shipped data
(__EXAMPLES__; `example:NAME/KEY` picks one entry of a mapping, e.g. `example:insulator_peaks/SuHw_Kc`).

```yaml
description: free text (optional)
data: {kind: KIND, ...}        # the loader of that kind
model: {name: NAME, ...}       # an architecture; or auto (the default); or pretrained: RUN
training: {...}                # genodeep.train.fit
baselines: true | {...}        # genodeep.models.baselines.fit_baselines
output: {...}                  # OutputOptions
search: {...}                  # genodeep tune only
```

A setting can also be changed on the command line: `genodeep train CONFIG --set training.max_epochs=5`
(see [`genodeep train`](cli.md#genodeep-train)).
"""


def config_reference() -> str:
    """Markdown: every config key with its type, default and meaning, per data kind and per model."""
    from genodeep import example_data
    from genodeep._signature import parameters, type_hints
    from genodeep.data._sim_sources import _simulators
    from genodeep.data.sources import DATA_KINDS, loader_parameters
    from genodeep.models import MODELS, input_kinds
    from genodeep.models.baselines import BASELINES, fit_baselines
    from genodeep.train.fit import fit
    from genodeep.train.transfer import fine_tune, prepare_transfer
    from genodeep.workflows.assemble import (
        DATA_ONLY_MODEL_ARGS,
        baseline_parameters,
        fit_parameters,
        transfer_parameters,
    )
    from genodeep.workflows.auto import CANDIDATES
    from genodeep.workflows.config import OutputOptions

    shipped = [
        f"`example:{name}`"
        for name, f in vars(example_data).items()
        if callable(f) and not name.startswith("_") and f.__module__ == example_data.__name__
    ]
    out = [_SECTION_INTRO.replace("__EXAMPLES__", ", ".join(shipped)), "## `data:`", ""]
    out += [
        "`kind` picks the loader; the other keys are its keyword arguments. Kinds: "
        + ", ".join(f"[`{k}`](#data-kind-{k})" for k in DATA_KINDS)
        + ".",
        "",
    ]
    for kind, loader in DATA_KINDS.items():
        out += [f"### `kind: {kind}` {{#data-kind-{kind}}}", ""]
        out += [f"{_first_line(loader)} Loader: `{loader.__module__}.{loader.__name__}`.", ""]
        params, hints = loader_parameters(kind)
        wrapped = None
        if "simulate" in params:  # the simulated kinds whose keys depend on the simulator
            hint = hints.get("simulate")
            wrapped = list(typing.get_args(hint)) if hint is not None else []
        if wrapped:
            for sim in wrapped:
                p, h = loader_parameters(kind, {"simulate": sim})
                func = _simulators().get(sim)
                desc = _docstring_params(loader, *(f for f in [func] if f is not None))
                out += [f"#### `simulate: {sim}`", ""]
                if func is not None:
                    out += [
                        f"Simulator: `{func.__module__}.{func.__name__}`. {_first_line(func)}",
                        "",
                    ]
                out += [_key_table(p, h, desc), ""]
        else:
            extra = []
            if kind in ("simulate_multimodal", "simulate_graph"):
                from genodeep.data.sources import _WRAPPED_KINDS

                func, _ = _WRAPPED_KINDS[kind]({})
                extra = [func]
            out += [_key_table(params, hints, _docstring_params(loader, *extra)), ""]

    # model
    out += ["## `model:`", ""]
    out += [
        "Without a `model:` section (or with `model: auto`) genodeep trains the candidate families on the "
        "training split and keeps the one with the best validation score. Otherwise `name` picks an "
        "architecture and the other keys are its constructor's keyword arguments. Keys the data decides "
        "(`n_tasks`, `input_length`, track channels, feature counts, the graph) are filled in from the "
        "data; a value given in the config that contradicts the data is an error.",
        "",
        "### `model: auto` {#model-auto}",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
        f"| `candidates` | list | `null` (all: {', '.join(CANDIDATES)}) | candidate families to try, in order |",
        "| `budget` | float | `4.0` | time budget, in units of the first candidate's training time |",
        "",
        "Candidates: "
        + "; ".join(
            f"`{name}` = `{json.dumps(section, separators=(', ', ': '))}`"
            for name, section in CANDIDATES.items()
        ),
        "",
    ]
    for name, cls in MODELS.items():
        params = parameters(cls, exclude=DATA_ONLY_MODEL_ARGS)
        out += [f"### `name: {name}` {{#model-{name}}}", ""]
        out += [
            f"{_first_line(cls)} Class: `{cls.__module__}.{cls.__qualname__}`; reads "
            f"{' or '.join(input_kinds(name))} input.",
            "",
            _key_table(params, type_hints(cls), _docstring_params(cls)),
            "",
        ]
    params, hints = transfer_parameters()
    out += [
        "### `pretrained:` (transfer learning) {#model-pretrained}",
        "",
        "Start from a trained run, package or zoo name: the keys are those of "
        "`genodeep.train.transfer.prepare_transfer`; `name` may be left out (the saved architecture is used).",
        "",
        _key_table(params, hints, _docstring_params(prepare_transfer)),
        "",
    ]
    # training
    params, hints = fit_parameters()
    out += [
        "## `training:`",
        "",
        "Keyword arguments of `genodeep.train.fit` (the data, the run folder and the callbacks are "
        "supplied by `genodeep train`). With `model: auto` the settings the config leaves out are "
        "`genodeep.workflows.auto.recommended_training`'s.",
        "",
        _key_table(params, hints, _docstring_params(fit)),
        "",
    ]
    tparams, thints = fit_parameters(transfer=True)
    only = {k: v for k, v in tparams.items() if k not in params}
    if only:
        out += [
            "### with `model: {pretrained: ...}`",
            "",
            "A transfer config also takes these keys of `genodeep.train.transfer.fine_tune`:",
            "",
            _key_table(only, thints, _docstring_params(fine_tune)),
            "",
        ]
    # baselines
    params, hints = baseline_parameters()
    out += [
        "## `baselines:`",
        "",
        "`true` fits the default baselines on the same split; a mapping sets the keyword arguments of "
        f"`genodeep.models.baselines.fit_baselines`. Baseline names: {', '.join(f'`{b}`' for b in BASELINES)}.",
        "",
        _key_table(params, hints, _docstring_params(fit_baselines)),
        "",
    ]
    # output
    oparams = {
        f.name: inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default)
        for f in dataclasses.fields(OutputOptions)
    }
    out += [
        "## `output:`",
        "",
        "Fields of `genodeep.workflows.config.OutputOptions`.",
        "",
        _key_table(oparams, type_hints(OutputOptions), _docstring_params(OutputOptions)),
        "",
    ]
    out += [
        "## `search:`",
        "",
        "Read by `genodeep tune` only (`genodeep train` ignores it): the search space, as "
        "`SECTION.KEY: {low: ..., high: ..., log: true}`, `{choices: [...]}` or a fixed value. See "
        "[`genodeep tune`](cli.md#genodeep-tune) and `examples/tune_spacing.yaml`.",
        "",
    ]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------------
# model package format


def package_reference(tmp: Path | None = None) -> str:
    """Markdown: the files of a model package and the ModelSpec fields, with a real tiny package."""
    from genodeep._signature import type_name
    from genodeep.models import build_model
    from genodeep.models.spec import ModelSpec
    from genodeep.zoo import package as pkg

    files = {
        "config.json": "the model class (a `genodeep.` class path), `format_version`, and the constructor "
        "arguments (`model.config`); the model is rebuilt from these, never unpickled",
        "weights.safetensors": "the state dict, in safetensors format (no pickle)",
        "data_spec.json": "what the model reads and predicts: a `ModelSpec` (fields below)",
        "metadata.json": "training settings, metrics, genodeep version, creation time; provenance, "
        "licence and citation of imported models",
        "README.md": "the model card: name, class, inputs, tasks, metrics",
        pkg._CHECKSUMS: "the sha256 of every file above, verified on every load (`genodeep zoo verify`)",
    }
    out = [
        "# Model package format",
        "",
        "Generated from `genodeep.zoo.package` and `genodeep.models.spec` when the site is built.",
        "",
        "Every `genodeep train` run saves its model as a package folder (`RUN/model/`); `genodeep zoo add`,",
        "`genodeep zoo publish` and `genodeep zoo import` write the same format, and `genodeep.load` reads a",
        "package folder, a `.tar.gz` archive of one, a run folder, or a zoo name. No file holds pickled code:",
        "a package can be loaded from an untrusted source, and a file whose sha256 differs from",
        f"`{pkg._CHECKSUMS}` is refused. Current `format_version`: **{pkg.FORMAT_VERSION}** (older packages are upgraded on load).",
        "",
        "| file | holds |",
        "|---|---|",
    ]
    for name in (*pkg._FILES, pkg._CHECKSUMS):
        out.append(f"| `{name}` | {_cell(files.get(name, ''))} |")
    out += ["", "## `data_spec.json`: `ModelSpec`", "", _first_line(ModelSpec), ""]
    desc = _docstring_params(ModelSpec)
    rows = ["| field | type | default | meaning |", "|---|---|---|---|"]
    hints = typing.get_type_hints(ModelSpec)
    for f in dataclasses.fields(ModelSpec):
        if f.default is not dataclasses.MISSING:
            default = _yaml_value(f.default)
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = _yaml_value(f.default_factory())  # type: ignore[misc]
        else:
            default = "**required**"
        rows.append(
            f"| `{f.name}` | {_cell(type_name(hints.get(f.name)))} | {_cell(default)} | "
            f"{_cell(desc.get(f.name, ''))} |"
        )
    out += rows + [""]

    # a real package, written now
    own_tmp = tmp is None
    tmp = Path(tempfile.mkdtemp(prefix="genodeep-docs-")) if own_tmp else tmp
    try:
        model = build_model("deepbind", n_tasks=2, filters=4, width=7)
        spec = ModelSpec(input_length=100, task_names=["bound_A", "bound_B"], kind="binary",
                         model_name="deepbind", loss="bce")  # fmt: skip
        path = pkg.save_package(model, tmp / "example-package", data_spec=spec,
                                metadata={"description": "a tiny untrained example"})  # fmt: skip
        out += [
            "## An example",
            "",
            "A tiny untrained DeepBind model saved with "
            "`gd.save_package(model, 'example-package', data_spec=ModelSpec(...))` while this page was built:",
            "",
            "```text",
            *sorted(p.name for p in Path(path).iterdir()),
            "```",
            "",
        ]
        for name in ("config.json", "data_spec.json", "metadata.json", pkg._CHECKSUMS, "README.md"):
            text = (Path(path) / name).read_text()
            lang = (
                "json"
                if name.endswith(".json")
                else ("markdown" if name.endswith(".md") else "text")
            )
            out += [f"### `{name}`", "", f"```{lang}", text.rstrip(), "```", ""]
    finally:
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return "\n".join(out)


# --------------------------------------------------------------------------------------------------
# API reference

#: subpackages whose ``__all__`` gets a page, in layer order, with a one-line summary
API_SUBPACKAGES = {
    "seq": "encodings, k-mers, shuffles and motif-grammar simulation",
    "io": "readers and writers, one per format",
    "data": "windows, labels, splits and datasets",
    "nn": "layers and count distributions",
    "models": "architectures, the MODELS registry and ModelSpec",
    "zoo": "model packages, the local zoo, mirrors and export",
    "train": "the training engine, losses and metrics",
    "motifs": "PWM tools, scanning, comparison, TF-MoDISco, logos",
    "interpret": "attributions and in-silico experiments",
    "variants": "variant scoring, attribution deltas and effect concentration",
    "sc": "single-cell count models",
    "report": "the HTML report",
}


def _defining_path(module: str, name: str) -> str:
    """``module.name`` where ``name`` is defined (following re-exports), for mkdocstrings."""
    obj = getattr(importlib.import_module(module), name)
    mod = getattr(obj, "__module__", None)
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if mod and qual and mod.startswith("genodeep") and not inspect.ismodule(obj):
        try:
            target = importlib.import_module(mod)
            if getattr(target, qual.split(".")[0], None) is not None:
                return f"{mod}.{qual}"
        except ImportError:
            pass
    return f"{module}.{name}"


def api_pages() -> dict[str, str]:
    """``{path: markdown}`` of the API reference: the flat ``genodeep`` API, then one page per subpackage."""
    import genodeep

    groups: dict[str, list[str]] = {}
    for name, module in genodeep._API.items():
        part = module.split(".")[1] if module.count(".") >= 1 else "base"
        part = "base" if part.startswith("_") else part
        groups.setdefault(part, []).append(name)
    index = [
        "# API reference",
        "",
        "`import genodeep as gd` gives the public API below (`genodeep._API`); modules are imported when a",
        "name is first used. Each entry is generated from the docstring of the function or class. The",
        "subpackage pages list the rest of each layer's public names (its `__all__`).",
        "",
        "| name | defined in | summary |",
        "|---|---|---|",
    ]
    for name, module in genodeep._API.items():
        obj = getattr(genodeep, name)
        summary = _first_line(obj) if (callable(obj) or isinstance(obj, type)) else ""
        if not summary and isinstance(obj, Mapping):
            summary = f"mapping of {len(obj)} entries: {', '.join(list(obj)[:6])}, ..."
        anchor = _defining_path(module, name) if (callable(obj) or isinstance(obj, type)) else ""
        index.append(f"| [`gd.{name}`](genodeep.md#{anchor}) | `{module}` | {_cell(summary)} |")
    index += ["", "## Subpackages", "", "| module | holds |", "|---|---|"]
    for sub, text in API_SUBPACKAGES.items():
        index.append(f"| [`genodeep.{sub}`]({sub}.md) | {text} |")
    pages = {"api/index.md": "\n".join(index) + "\n"}

    top = [
        "# `genodeep`",
        "",
        "The flat public API, grouped by the layer that defines each name.",
        "",
    ]
    for part, names in groups.items():
        top += [f"## {part}", ""]
        for name in names:
            path = _defining_path(genodeep._API[name], name)
            top += [
                f"::: {path}",
                "    options:",
                f"      heading: gd.{name}",
                "      heading_level: 3",
                "      show_root_heading: true",
                "      show_root_full_path: false",
                "",
            ]
    pages["api/genodeep.md"] = "\n".join(line for line in top) + "\n"

    for sub, text in API_SUBPACKAGES.items():
        mod = importlib.import_module(f"genodeep.{sub}")
        names = list(getattr(mod, "__all__", []))
        lines = [f"# `genodeep.{sub}`", "", f"{text[0].upper()}{text[1:]}.", ""]
        doc = inspect.getdoc(mod)
        if doc:
            lines += [_md(doc.split("\n\n")[0]), ""]
        for name in names:
            obj = getattr(mod, name)
            if inspect.ismodule(obj):
                continue
            if not (callable(obj) or isinstance(obj, type)):
                # constants and registries: name, type and content summary
                summary = (
                    f"{type(obj).__name__} of {len(obj)}: {', '.join(map(str, list(obj)[:12]))}"
                    if isinstance(obj, (Mapping, list, tuple))
                    else repr(obj)
                )
                lines += [f"### `{sub}.{name}`", "", _cell(summary), ""]
                continue
            path = _defining_path(f"genodeep.{sub}", name)
            lines += [
                f"::: {path}",
                "    options:",
                f"      heading: {sub}.{name}",
                "      heading_level: 3",
                "      show_root_heading: true",
                "",
            ]
        pages[f"api/{sub}.md"] = "\n".join(lines) + "\n"
    return pages


def generated_pages() -> dict[str, str]:
    """Every generated page: ``{path in the site's docs: markdown}``."""
    pages = {
        "reference/cli.md": cli_reference(),
        "reference/config.md": config_reference(),
        "reference/package-format.md": package_reference(),
    }
    pages.update(api_pages())
    return pages


# --------------------------------------------------------------------------------------------------
# tutorials


def execute_notebook(src: Path, dest: Path, *, timeout: int = 900) -> float:
    """Execute ``src`` in a scratch working folder, write the executed notebook to ``dest``; seconds taken.

    A cell error raises (nbclient's ``CellExecutionError``), which fails the site build.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(src, as_version=4)
    work = Path(tempfile.mkdtemp(prefix=f"genodeep-tutorial-{src.stem}-"))
    env_before = dict(os.environ)
    os.environ["GENODEEP_ZOO"] = str(work / "zoo")  # a scratch zoo: never touch the user's
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures into the page
    os.environ["GENODEEP_REPO"] = str(ROOT)  # notebooks find examples/ through it
    t0 = time.perf_counter()
    try:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            allow_errors=False,
            resources={"metadata": {"path": str(work)}},
        )
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - t0
    nb.metadata["genodeep_execution_seconds"] = round(seconds, 1)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)
    return seconds


# --------------------------------------------------------------------------------------------------
# mkdocs hook

_STATE: dict[str, Any] = {}


def _on_files(files, config):
    from mkdocs.structure.files import File

    t0 = time.perf_counter()
    for path, content in generated_pages().items():
        existing = files.get_file_from_path(path)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, path, content=content))
    log.info("gen_docs: reference pages generated in %.1f s", time.perf_counter() - t0)

    # tutorials: execute each notebook, and let mkdocs-jupyter render the executed copy
    execute = os.environ.get("GENODEEP_DOCS_EXECUTE", "1") != "0"
    out_dir = ROOT / "build" / "docs-notebooks"
    timings: dict[str, float | None] = {}
    executed: list[Path] = []
    for file in sorted(list(files), key=lambda f: f.src_uri):
        uri = file.src_uri
        if not (uri.startswith("tutorials/") and uri.endswith(".ipynb")):
            continue
        src = Path(file.abs_src_path)
        if not execute:
            timings[uri] = None
            continue
        dest = out_dir / uri
        log.info("gen_docs: executing %s", uri)
        seconds = execute_notebook(src, dest)
        log.info("gen_docs: executed %s in %.1f s", uri, seconds)
        timings[uri] = round(seconds, 1)
        new = File(uri, str(out_dir), config["site_dir"], config["use_directory_urls"])
        files.remove(file)
        files.append(new)
        executed.append(dest)
    _STATE["timings"] = timings
    _STATE["executed"] = executed
    _STATE["out_dir"] = out_dir
    return files


def _on_post_build(config):
    site = Path(config["site_dir"])
    out_dir = _STATE.get("out_dir")
    for path in _STATE.get(
        "executed", []
    ):  # the executed notebooks, downloadable beside their pages
        target = site / path.relative_to(out_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    timings = _STATE.get("timings") or {}
    if timings:
        (site / "tutorials").mkdir(parents=True, exist_ok=True)
        (site / "tutorials" / "execution.json").write_text(
            json.dumps(
                {"seconds": timings, "total": round(sum(v or 0 for v in timings.values()), 1)},
                indent=2,
            )  # fmt: skip
        )


try:  # the hook functions, when mkdocs loads this file
    from mkdocs.plugins import event_priority

    # before mkdocs-jupyter's on_files (priority 0), which turns the .ipynb files into pages
    on_files = event_priority(100)(_on_files)
    on_post_build = _on_post_build
except ImportError:  # plain ``python scripts/gen_docs.py``
    pass


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="folder to write the generated markdown pages into")
    args = parser.parse_args(list(argv) if argv is not None else None)
    out = Path(args.out)
    for path, content in generated_pages().items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
