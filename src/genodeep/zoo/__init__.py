"""genodeep.zoo."""
