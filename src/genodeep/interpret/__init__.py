"""genodeep.interpret: attributions for sequence models (the review's Fig. 5).

All functions take any ``nn.Module`` mapping one-hot ``(N, 4, L)`` float inputs to its outputs and
return attributions shaped like the input, ``(N, 4, L)``. ``target`` picks the explained value: ``None``
(sum of outputs; for BPNet-style tuple outputs the count head summed over tasks), a task index, a list of
tasks, or a callable reducing the output to ``(N,)``.

- :func:`saturation_mutagenesis`: exact effect of every single-base substitution (fast, receptive-field
  limited recomputation for models with ``split_local()``).
- :func:`saliency`, :func:`input_x_gradient`, :func:`integrated_gradients`: gradient methods.
- :func:`deep_lift_shap`: DeepLIFT (rescale rule) averaged over dinucleotide-shuffled references, with
  hypothetical contributions for TF-MoDISco.
"""

from __future__ import annotations

from genodeep._lazy import lazy_getattr
from genodeep.interpret.deeplift import deep_lift_shap
from genodeep.interpret.gradients import input_x_gradient, integrated_gradients, saliency
from genodeep.interpret.ism import saturation_mutagenesis

# the method registry, filters, in-silico experiments and plots live in their own modules and are
# imported on first use (they pull in pandas/matplotlib); file-level jobs are in genodeep.workflows
_LAZY = {
    "ATTRIBUTION_METHODS": "genodeep.interpret.api",
    "Attributions": "genodeep.interpret.api",
    "attribute": "genodeep.interpret.api",
    "FilterMotifs": "genodeep.interpret.filters",
    "filters_to_pwms": "genodeep.interpret.filters",
    "filter_matches": "genodeep.interpret.filters",
    "InsertionEffect": "genodeep.interpret.experiments",
    "insert_motif_effect": "genodeep.interpret.experiments",
    "spacing_effect": "genodeep.interpret.experiments",
    "plot_attribution_logo": "genodeep.interpret.plots",
    "plot_ism_heatmap": "genodeep.interpret.plots",
    "plot_spacing_effect": "genodeep.interpret.plots",
}

__all__ = [
    "deep_lift_shap",
    "input_x_gradient",
    "integrated_gradients",
    "saliency",
    "saturation_mutagenesis",
    *_LAZY,
]
__getattr__ = lazy_getattr(__name__, _LAZY)
