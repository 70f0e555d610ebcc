"""genodeep.variants: variant effect prediction from VCF files.

- :mod:`~genodeep.variants.score`: ref/alt windows from the genome, per-task effects, TSV/parquet/annotated
  VCF output, streaming and sharding (:func:`score_variants`, :func:`iter_scores`);
- :mod:`~genodeep.variants.attribution`: ISM or DeepLIFT/SHAP maps of ref vs alt for the top variants
  (:func:`variant_attributions`, :func:`save_variant_attributions`);
- :mod:`~genodeep.variants.concentration`: do predicted effects concentrate on motif bases?
  (:func:`effect_concentration`, :func:`window_motif_hits`).
"""

from __future__ import annotations

from genodeep.variants.attribution import (
    VariantAttributions,
    save_variant_attributions,
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
from genodeep.variants.score import iter_scores, parse_shard, score_variants

__all__ = [
    "EffectConcentration",
    "VariantAttributions",
    "effect_concentration",
    "iter_scores",
    "parse_shard",
    "plot_effect_concentration",
    "save_effect_concentration_plot",
    "save_variant_attributions",
    "score_variants",
    "top_variants",
    "variant_attributions",
    "window_motif_hits",
]
