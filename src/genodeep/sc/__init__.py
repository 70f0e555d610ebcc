"""genodeep.sc."""
