"""genodeep.motifs."""
