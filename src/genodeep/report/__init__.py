"""genodeep.report."""
