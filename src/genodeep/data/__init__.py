"""genodeep.data."""
