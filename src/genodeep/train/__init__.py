"""genodeep.train."""
