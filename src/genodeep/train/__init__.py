"""genodeep.train: one LightningModule for every model, losses, metrics, ``fit`` and plots.

::

    from genodeep.train import fit, evaluate_predictions, predict_dataset
    result = fit(model, (X_train, y_train), (X_valid, y_valid), loss="bce", max_epochs=10, out_dir="run")
    y_true, y_prob = predict_dataset(result.model, (X_test, y_test), activation="sigmoid")
    table = evaluate_predictions(y_true, y_prob, kind="binary", task_names=names)

Names are imported lazily, so ``from genodeep.train.losses import get_loss`` does not load Lightning.
The NB/ZINB/Poisson log-likelihoods live in :mod:`genodeep.nn.distributions`.
"""

from __future__ import annotations

from genodeep._lazy import lazy_getattr

# ``fit`` is also the name of a submodule: import the function eagerly so that the package attribute is
# the function (genodeep.train.fit imports no Lightning at module level).
from genodeep.train.fit import fit

_NAMES = {
    # training
    "FitResult": "genodeep.train.fit",
    "predict_dataset": "genodeep.train.fit",
    "make_dataloader": "genodeep.train.loaders",
    "as_dataset": "genodeep.train.loaders",
    "ACTIVATIONS": "genodeep.train.fit",
    "GenodeepTask": "genodeep.train.lightning",
    "OPTIMIZERS": "genodeep.train.lightning",
    "SCHEDULERS": "genodeep.train.lightning",
    "metric_mode": "genodeep.train.lightning",
    # losses
    "LOSSES": "genodeep.train.losses",
    "get_loss": "genodeep.train.losses",
    "masked_mean": "genodeep.train.losses",
    "multinomial_log_prob": "genodeep.train.losses",
    # metrics
    "evaluate_predictions": "genodeep.train.metrics",
    "auroc": "genodeep.train.metrics",
    "auprc": "genodeep.train.metrics",
    "binary_accuracy": "genodeep.train.metrics",
    "pearson": "genodeep.train.metrics",
    "spearman": "genodeep.train.metrics",
    "mse": "genodeep.train.metrics",
    "jensen_shannon_distance": "genodeep.train.profile_metrics",
    "per_window_jsd": "genodeep.train.profile_metrics",
    "profile_metrics": "genodeep.train.profile_metrics",
    "coverage_metrics": "genodeep.train.profile_metrics",
    # plots and tables
    "plot_training_curves": "genodeep.train.plots",
    "plot_roc_curves": "genodeep.train.plots",
    "plot_pr_curves": "genodeep.train.plots",
    "write_metrics_table": "genodeep.train.plots",
    "metrics_to_markdown": "genodeep.train.plots",
    "plot_profiles": "genodeep.train.plots",
}
__all__ = ["fit", *_NAMES]
__getattr__ = lazy_getattr(__name__, _NAMES)


def __dir__() -> list[str]:
    return sorted(__all__)
