"""Mirrors: publish to a folder, serve it (file://, folder path, local HTTP server), search and pull.

No test reaches the internet: mirrors are tmp folders, ``file://`` URLs, or a ThreadingHTTPServer
bound to 127.0.0.1 in a background thread.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from genodeep import InputFileError
from genodeep.cli.__main__ import main
from genodeep.models import build_model
from genodeep.zoo import (
    MirrorError,
    add,
    add_mirror,
    get,
    info,
    list_mirrors,
    list_models,
    publish,
    pull,
    remove_mirror,
    save_package,
    search,
)

SPEC = {"sequence_length": 40, "task_names": ["a", "b"], "kind": "binary"}


@pytest.fixture(autouse=True)
def _no_proxy_no_env(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("GENODEEP_ZOO_MIRRORS", raising=False)


def _model(seed=1):
    torch.manual_seed(seed)
    return build_model("deepbind", n_tasks=2, filters=8, width=5, hidden=4).eval()


def _zoo_with(tmp_path, *names) -> Path:
    root = tmp_path / "zoo"
    for i, name in enumerate(names):
        pkg = save_package(
            _model(i),
            tmp_path / "pkgs" / name,
            data_spec=SPEC,
            metadata={"description": f"toy model {name}", "metrics": {"auroc": 0.5 + i / 10}},
        )
        add(pkg, root=root)
    return root


def _published(tmp_path, *names) -> tuple[Path, Path]:
    root = _zoo_with(tmp_path, *names)
    mirror = tmp_path / "mirror"
    for name in names:
        publish(name, to=mirror, root=root)
    return root, mirror


def _nothing_installed(root: Path) -> None:
    assert not root.exists() or list_models(root=root).empty
    assert not root.exists() or [p.name for p in root.iterdir() if p.name != "index.json"] == []


@pytest.fixture
def http_folder(tmp_path):
    """A folder served by a local HTTP server: (folder, base URL, User-Agents seen)."""
    folder = tmp_path / "served"
    folder.mkdir()
    agents: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            agents.append(self.headers.get("User-Agent", ""))
            super().do_GET()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}", agents
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_publish_writes_archive_and_index(tmp_path):
    root, mirror = _published(tmp_path, "m1", "m2")
    index = json.loads((mirror / "index.json").read_text())
    assert sorted(index) == ["m1", "m2"]
    entry = index["m1"]
    archive = mirror / entry["archive"]
    assert entry["archive"] == "m1.tar.gz"
    assert entry["size"] == archive.stat().st_size
    assert entry["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert entry["task_names"] == ["a", "b"] and entry["kind"] == "binary"
    assert entry["checksums"] == json.loads((root / "index.json").read_text())["m1"]["checksums"]
    with pytest.raises(FileExistsError, match="overwrite"):
        publish("m1", to=mirror, root=root)
    publish("m1", to=mirror, root=root, overwrite=True)
    assert sorted(json.loads((mirror / "index.json").read_text())) == ["m1", "m2"]


@pytest.mark.parametrize("form", ["folder", "file_url"])
def test_pull_from_folder_mirror(tmp_path, form):
    src_root, mirror = _published(tmp_path, "m1", "m2")
    url = str(mirror) if form == "folder" else mirror.as_uri()
    table = search("m2", mirror=url)
    assert table["name"].tolist() == ["m2"]
    assert table.loc[0, "tasks"] == 2 and table.loc[0, "description"] == "toy model m2"
    root = tmp_path / "local"
    assert pull("m1", mirror=url, root=root, verbose=False) == "m1"
    x = torch.rand(3, 4, 40)
    assert torch.equal(get("m1", root=root).model(x), get("m1", root=src_root).model(x))
    # the exact published files are installed, provenance kept
    a = json.loads((root / "index.json").read_text())["m1"]
    b = json.loads((src_root / "index.json").read_text())["m1"]
    assert a["checksums"] == b["checksums"] and a["mirror"] == mirror.as_uri()
    with pytest.raises(FileExistsError, match="overwrite"):
        pull("m1", mirror=url, root=root, verbose=False)
    pull("m1", mirror=url, root=root, overwrite=True, verbose=False)


def test_pull_over_http(tmp_path, http_folder):
    folder, url, agents = http_folder
    src_root = _zoo_with(tmp_path, "m1", "m2")
    publish("m1", to=folder, root=src_root)
    publish("m2", to=folder, root=src_root)
    assert search(mirror=url)["name"].tolist() == ["m1", "m2"]
    root = tmp_path / "local"
    pull("m2", mirror=url, root=root, verbose=False)
    assert list_models(root=root)["name"].tolist() == ["m2"]
    assert "sha256" in info("m2", root=root)
    assert agents and all(a.startswith("genodeep/") for a in agents)


@pytest.mark.parametrize("damage", ["tampered", "truncated", "swapped"])
def test_damaged_download_refused_nothing_installed(tmp_path, http_folder, damage):
    folder, url, _ = http_folder
    src_root = _zoo_with(tmp_path, "m1", "m2")
    publish("m1", to=folder, root=src_root)
    publish("m2", to=folder, root=src_root)
    archive = folder / "m1.tar.gz"
    data = bytearray(archive.read_bytes())
    if damage == "tampered":  # same size, one byte changed
        data[len(data) // 2] ^= 0xFF
        archive.write_bytes(bytes(data))
        match = "sha256"
    elif damage == "truncated":
        archive.write_bytes(bytes(data[:-100]))
        match = "truncated"
    else:  # a different, valid package of the same size would still differ in sha256
        archive.write_bytes((folder / "m2.tar.gz").read_bytes())
        match = "sha256|truncated|longer"
    root = tmp_path / "local"
    with pytest.raises(MirrorError, match=match) as err:
        pull("m1", mirror=url, root=root, verbose=False)
    assert f"{url}/m1.tar.gz" in str(err.value)
    _nothing_installed(root)


def test_bad_archive_name_in_index_refused(tmp_path):
    _, mirror = _published(tmp_path, "m1")
    index = json.loads((mirror / "index.json").read_text())
    index["m1"]["archive"] = "../m1.tar.gz"
    (mirror / "index.json").write_text(json.dumps(index))
    with pytest.raises(MirrorError, match="plain NAME.tar.gz"):
        pull("m1", mirror=str(mirror), root=tmp_path / "local", verbose=False)
    index["m1"]["archive"] = "m1.tar.gz"
    del index["m1"]["sha256"]
    (mirror / "index.json").write_text(json.dumps(index))
    with pytest.raises(MirrorError, match="unverifiable"):
        pull("m1", mirror=str(mirror), root=tmp_path / "local", verbose=False)
    _nothing_installed(tmp_path / "local")


def test_unreachable_mirror_says_so(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/zoo"
    with pytest.raises(MirrorError) as err:
        pull("m1", mirror=url, root=tmp_path / "local", timeout=5, verbose=False)
    text = str(err.value)
    assert f"{url}/index.json" in text and "cannot reach" in text and "zoo add FILE" in text
    with pytest.raises(MirrorError, match="cannot reach"):
        search(mirror=tmp_path / "no-such-folder")
    with pytest.raises(InputFileError, match="not a zoo index"):
        (tmp_path / "junk").mkdir()
        (tmp_path / "junk" / "index.json").write_text("<html>")
        search(mirror=tmp_path / "junk")
    _nothing_installed(tmp_path / "local")


def test_silent_server_times_out(tmp_path):
    with socket.socket() as server:  # accepts connections (backlog) but never answers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(MirrorError, match=r"timed out|timeout"):
            search(mirror=url, timeout=0.3)


def test_unknown_model_lists_available(tmp_path):
    _, mirror = _published(tmp_path, "m1", "m2")
    with pytest.raises(KeyError, match=r"available: m1, m2 \(did you mean"):
        pull("m1x", mirror=str(mirror), root=tmp_path / "local", verbose=False)


def test_mirror_config_and_env(tmp_path, monkeypatch):
    root = tmp_path / "local"
    assert list_mirrors(root=root).empty
    with pytest.raises(ValueError, match="no zoo mirrors configured"):
        pull("m1", root=root, verbose=False)
    # recording a mirror contacts nothing: an unreachable one is accepted
    dead = f"http://127.0.0.1:{_closed_port()}"
    assert add_mirror(dead + "/", root=root) == dead
    add_mirror(dead, root=root)  # no duplicate
    assert list_mirrors(root=root)["url"].tolist() == [dead]
    with pytest.raises(ValueError, match="unsupported scheme"):
        add_mirror("ftp://example.org/zoo", root=root)
    _, mirror = _published(tmp_path, "m1")
    monkeypatch.setenv("GENODEEP_ZOO_MIRRORS", f" {mirror.as_uri()} ,")
    table = list_mirrors(root=root)
    assert table["source"].tolist() == ["$GENODEEP_ZOO_MIRRORS", "config"]
    # the dead mirror is skipped (with a warning) since the other one answers
    assert search(root=root)["mirror"].tolist() == [mirror.as_uri()]
    assert pull("m1", root=root, verbose=False) == "m1"
    with pytest.raises(ValueError, match="GENODEEP_ZOO_MIRRORS"):
        remove_mirror(mirror.as_uri(), root=root)
    remove_mirror(dead, root=root)
    with pytest.raises(KeyError, match="configured: \\(none"):
        remove_mirror(dead, root=root)


def test_mirror_cli(tmp_path, capsys, http_folder):
    folder, url, _ = http_folder
    src_root = _zoo_with(tmp_path, "m1")
    src = ["zoo", "--root", str(src_root)]
    assert main([*src, "publish", "m1", "--to", str(folder)]) == 0
    assert "m1.tar.gz" in capsys.readouterr().out
    assert main([*src, "publish", "m1", "--to", str(folder)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    dst = ["zoo", "--root", str(tmp_path / "local")]
    assert main([*dst, "mirror", "list"]) == 0
    assert "no mirrors" in capsys.readouterr().out
    assert main([*dst, "mirror", "add", url]) == 0
    assert main([*dst, "mirror", "list"]) == 0
    assert url in capsys.readouterr().out
    assert main([*dst, "search", "toy"]) == 0
    assert "m1" in capsys.readouterr().out
    assert main([*dst, "list", "--remote"]) == 0
    assert "toy model m1" in capsys.readouterr().out
    assert main(["-q", *dst, "pull", "m1"]) == 0
    assert "pulled m1" in capsys.readouterr().out
    assert main([*dst, "verify", "m1"]) == 0
    dead = f"http://127.0.0.1:{_closed_port()}"
    assert main([*dst, "pull", "m1", "--mirror", dead, "--overwrite", "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach" in err and dead in err and "zoo add FILE" in err
    assert main([*dst, "mirror", "remove", url]) == 0
