"""genodeep.models."""
