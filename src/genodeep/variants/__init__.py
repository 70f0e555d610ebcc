"""genodeep.variants: variant effect prediction against a reference genome.

- :mod:`~genodeep.variants.score`: ref/alt windows from the genome and per-task effects of the ALT
  alleles of a VCF, streamed chunk by chunk (:func:`iter_scores`);
- :mod:`~genodeep.variants.attribution`: ISM or DeepLIFT/SHAP maps of ref vs alt for the top variants
  (:func:`variant_attributions`, :func:`plot_variant_logos`);
- :mod:`~genodeep.variants.concentration`: do predicted effects concentrate on motif bases?
  (:func:`effect_concentration`, :func:`window_motif_hits`).

Writing the scored table (TSV, parquet, annotated VCF) and the attribution folders is
:mod:`genodeep.workflows.variants` (:func:`~genodeep.workflows.variants.score_variants`).
"""

from __future__ import annotations

from genodeep.variants.attribution import (
    VariantAttributions,
    plot_variant_logos,
    top_variants,
    variant_attributions,
)
from genodeep.variants.concentration import (
    EffectConcentration,
    effect_concentration,
    plot_effect_concentration,
    save_effect_concentration_plot,
    window_motif_hits,
)
from genodeep.variants.profile import iter_profile_scores, score_profile_variants
from genodeep.variants.score import iter_scores

__all__ = [
    "EffectConcentration",
    "VariantAttributions",
    "effect_concentration",
    "iter_profile_scores",
    "iter_scores",
    "plot_effect_concentration",
    "plot_variant_logos",
    "score_profile_variants",
    "save_effect_concentration_plot",
    "top_variants",
    "variant_attributions",
    "window_motif_hits",
]
