"""ChromBPNet: bias-factorised BPNet for chromatin accessibility (Pampari et al.).

Two :class:`genodeep.models.BPNet` models read the same sequence: a small ``bias`` model (trained first,
on background regions, to learn the enzyme's sequence preference; then frozen) and an ``accessibility``
model. Their outputs are combined as in ChromBPNet:

* profile logits add: ``profile = acc_profile + bias_profile`` (so the profile probabilities multiply);
* log counts add in count space: ``log_counts = logsumexp([acc_counts, bias_counts])``, i.e.
  ``exp(log_counts) = exp(acc_counts) + exp(bias_counts)``.

The accessibility model alone (:meth:`ChromBPNet.accessibility_only`) is the bias-free model whose
attributions show the regulatory sequence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
from torch import nn

from genodeep._validate import check_choice, check_positive
from genodeep.models.base import SequenceModel
from genodeep.models.dilated import BPNet

Mode = Literal["combined", "accessibility"]


class ChromBPNet(SequenceModel):
    """Bias model + accessibility model, combined as in ChromBPNet.

    Parameters
    ----------
    n_tasks : int, default 1
        Output tracks ``T`` (of both models).
    filters, n_layers, first_kernel : int, defaults 64, 8, 21
        Accessibility BPNet: trunk channels, residual dilated layers, first convolution width.
    kernel_size : int, default 3
        Width of the dilated convolutions (both models).
    profile_kernel : int, default 75
        Width of the profile head convolution (both models).
    trim : int, default 0
        Profile positions cropped from each end (both models).
    bias_filters, bias_layers, bias_first_kernel : int, defaults 32, 4, 21
        Bias BPNet (small, so that its receptive field, 155 bases with defaults, holds the enzyme's
        preference and not whole motifs). The published ChromBPNet uses 128 filters and 4 layers for the
        bias model next to 512 filters and 8 layers for the accessibility model.
    bias_trainable : bool, default False
        ``False``: the bias model is frozen (:meth:`freeze_bias`) from construction on.

    Attributes
    ----------
    bias : BPNet
        Heads "profile+count"; built from :meth:`bias_config`.
    accessibility : BPNet
        Heads "profile+count".
    mode : {"combined", "accessibility"}
        What ``forward`` returns; see :meth:`accessibility_only`.

    Notes
    -----
    ``forward(x)`` returns ``(profile_logits (N, T, L - 2*trim), log_counts (N, T))``.
    ``receptive_field`` is the larger of the two models' (the accessibility model's in
    "accessibility" mode). ``split_local()`` is the accessibility model's in "accessibility" mode (so the
    fast ISM path applies to the bias-free model) and ``None`` in "combined" mode (two trunks).
    """

    def __init__(
        self,
        *,
        n_tasks: int = 1,
        filters: int = 64,
        n_layers: int = 8,
        first_kernel: int = 21,
        kernel_size: int = 3,
        profile_kernel: int = 75,
        trim: int = 0,
        bias_filters: int = 32,
        bias_layers: int = 4,
        bias_first_kernel: int = 21,
        bias_trainable: bool = False,
    ) -> None:
        super().__init__()
        self._store_config(locals())
        check_positive("bias_filters", bias_filters)
        check_positive("bias_first_kernel", bias_first_kernel)
        check_positive("bias_layers", bias_layers, allow_zero=True)
        if not isinstance(bias_trainable, bool):
            raise ValueError(f"bias_trainable must be True or False, got {bias_trainable!r}")
        self.n_tasks, self.input_length, self.in_channels = n_tasks, None, 4
        self.trim = trim
        self._bias_frozen = False
        self._mode: Mode = "combined"
        self.accessibility = BPNet(
            n_tasks=n_tasks,
            filters=filters,
            first_kernel=first_kernel,
            n_layers=n_layers,
            kernel_size=kernel_size,
            heads="profile+count",
            profile_kernel=profile_kernel,
            trim=trim,
        )
        self.bias = BPNet(**self.bias_config())
        if not bias_trainable:
            self.freeze_bias()

    # ------------------------------------------------------------------ the bias model
    def bias_config(self) -> dict[str, Any]:
        """Keyword arguments of :class:`BPNet` for the bias model (train one with them, then :meth:`load_bias`).

        Returns
        -------
        dict
            Every BPNet argument, so ``BPNet(**cfg).config == cfg``.
        """
        c = self.config
        return {
            "n_tasks": c["n_tasks"],
            "in_channels": 4,
            "filters": c["bias_filters"],
            "first_kernel": c["bias_first_kernel"],
            "n_layers": c["bias_layers"],
            "kernel_size": c["kernel_size"],
            "activation": "relu",
            "heads": "profile+count",
            "profile_kernel": c["profile_kernel"],
            "trim": c["trim"],
            "pool": "avg",
        }

    @property
    def bias_frozen(self) -> bool:
        """Whether the bias model is frozen (no gradients, always in eval mode)."""
        return self._bias_frozen

    def freeze_bias(self) -> ChromBPNet:
        """Freeze the bias model: ``requires_grad = False`` and eval mode, kept through ``train()``.

        Also records ``bias_trainable=False`` in ``config`` so a rebuilt model is frozen too.
        """
        for p in self.bias.parameters():
            p.requires_grad_(False)
        self._bias_frozen = True
        self.config["bias_trainable"] = False
        self.bias.eval()
        return self

    def train(self, mode: bool = True) -> ChromBPNet:
        """As ``nn.Module.train``, but a frozen bias model stays in eval mode."""
        super().train(mode)
        if self._bias_frozen:
            self.bias.eval()
        return self

    def load_bias(self, source: BPNet | Mapping[str, torch.Tensor]) -> ChromBPNet:
        """Copy the weights of a trained bias model into ``self.bias``.

        Parameters
        ----------
        source : BPNet or dict of str to Tensor
            A BPNet built with :meth:`bias_config` (same configuration), or its ``state_dict()``.

        Returns
        -------
        ChromBPNet
            ``self``; a frozen bias stays frozen.

        Raises
        ------
        ValueError
            When the configuration, the parameter names or their shapes differ.
        TypeError
            When ``source`` is neither a BPNet nor a mapping.
        """
        if isinstance(source, BPNet):
            self._check_bias_config(source.config)
            state = source.state_dict()
        elif isinstance(source, Mapping):
            state = dict(source)
            self._check_bias_state(state)
        else:
            raise TypeError(
                f"load_bias needs a BPNet or its state_dict(), got {type(source).__name__}. Fix: "
                "pass the trained bias BPNet (built with BPNet(**model.bias_config()))"
            )
        with torch.no_grad():
            self.bias.load_state_dict(state)
        return self

    def _check_bias_config(self, config: Mapping[str, Any]) -> None:
        want = self.bias.config
        diff = [
            f"{k}={config.get(k)!r} (this ChromBPNet needs {want[k]!r})"
            for k in want
            if config.get(k) != want[k]
        ]
        if diff:
            raise ValueError(
                "the bias model does not match this ChromBPNet: "
                + ", ".join(diff)
                + ". Fix: train "
                "the bias with BPNet(**model.bias_config()), or build the ChromBPNet with the bias "
                "model's filters/n_layers/first_kernel as bias_filters/bias_layers/bias_first_kernel"
            )

    def _check_bias_state(self, state: Mapping[str, Any]) -> None:
        want = self.bias.state_dict()
        problems = [f"missing {k}" for k in want if k not in state]
        problems += [f"unexpected {k}" for k in state if k not in want]
        problems += [
            f"{k} has shape {tuple(state[k].shape)}, needs {tuple(v.shape)}"
            for k, v in want.items()
            if k in state and tuple(getattr(state[k], "shape", ())) != tuple(v.shape)
        ]
        if problems:
            raise ValueError(
                "the bias state_dict does not match this ChromBPNet's bias model: "
                + "; ".join(problems[:6])
                + (f"; ... ({len(problems)} problems)" if len(problems) > 6 else "")
                + ". Fix: pass the state_dict() of a BPNet built with BPNet(**model.bias_config())"
            )

    # ------------------------------------------------------------------ mode
    @property
    def mode(self) -> Mode:
        """``"combined"`` (bias + accessibility) or ``"accessibility"`` (bias-free outputs only)."""
        return self._mode

    @mode.setter
    def mode(self, value: Mode) -> None:
        check_choice("mode", value, ("combined", "accessibility"))
        self._mode = value

    def accessibility_only(self, flag: bool = True) -> ChromBPNet:
        """Make ``forward`` return only the accessibility model's outputs (``flag=False`` undoes it).

        Use it to read bias-free predictions and attributions. Returns ``self``.
        """
        self.mode = "accessibility" if flag else "combined"
        return self

    # ------------------------------------------------------------------ forward and reporting
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, 4, L)`` -> ``(profile_logits (N, T, L - 2*trim), log_counts (N, T))``."""
        x = self._check_input(x)
        acc_profile, acc_counts = self.accessibility(x)
        if self._mode == "accessibility":
            return acc_profile, acc_counts
        bias_profile, bias_counts = self.bias(x)
        return acc_profile + bias_profile, torch.logaddexp(acc_counts, bias_counts)

    def split_local(self) -> tuple[nn.Sequential, nn.Module] | None:
        """The accessibility model's ``(local, head)`` in "accessibility" mode; ``None`` when combined."""
        if self._mode == "accessibility":
            return self.accessibility.split_local()
        return None

    @property
    def receptive_field(self) -> int:
        """Bases one profile position sees: the larger of the two models' (accessibility's alone in
        "accessibility" mode)."""
        rf = self.accessibility.receptive_field
        if self._mode == "accessibility":
            return rf
        return max(rf, self.bias.receptive_field)

    def output_shape(self, length: int | None = None) -> tuple:
        """``((T, L - 2*trim), (T,))``."""
        return self.accessibility.output_shape(length)

    def output_geometry(self, length: int) -> tuple[int, int, int]:
        """``(trim, L - 2*trim, 1)``: profile position ``j`` covers input base ``trim + j``."""
        return self.accessibility.output_geometry(length)
