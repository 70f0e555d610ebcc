"""The command line's own options: thread counts."""

from __future__ import annotations

import pytest
import torch

from genodeep.cli.__main__ import _thread_count, available_cores, main


def test_threads_are_capped_at_the_cores_with_a_warning():
    cores = available_cores()
    assert _thread_count(1) == 1
    with pytest.warns(UserWarning, match="more than the .* core"):
        assert _thread_count(cores + 3) == cores


def test_threads_flag_is_checked_and_applied(capsys):
    n = torch.get_num_threads()
    try:
        with pytest.raises(SystemExit):
            main(["--threads", "0", "info"])
        assert "at least 1" in capsys.readouterr().err
        assert main(["--threads", "1", "info"]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(n)
