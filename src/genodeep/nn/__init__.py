"""genodeep.nn."""
