"""genodeep.interpret."""
