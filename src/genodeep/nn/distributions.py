"""Count log-likelihoods shared by the losses and the single-cell models: NB, ZINB and Poisson.

Each function is the *exact* elementwise log-probability (constants included), equal to the matching
``scipy.stats.<dist>.logpmf``, and works in any floating dtype (float64 included). Arguments broadcast
against each other; the result has the broadcast shape.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["nb_log_prob", "zinb_log_prob", "poisson_log_prob"]


def nb_log_prob(x: Tensor, mu: Tensor, theta: Tensor) -> Tensor:
    """Negative binomial log-probability with mean ``mu`` and inverse dispersion ``theta``.

    ``Var = mu + mu**2 / theta``; equals ``scipy.stats.nbinom.logpmf(x, n=theta, p=theta / (theta + mu))``.

    Parameters
    ----------
    x : Tensor, any shape
        Counts (non-negative; non-integers are allowed through ``lgamma``).
    mu : Tensor, broadcastable to ``x``
        Means, ``>= 0``.
    theta : Tensor, broadcastable to ``x``
        Inverse dispersions, ``> 0``.

    Returns
    -------
    log_p : Tensor, the broadcast shape, dtype of the inputs
    """
    log_theta_mu = torch.log(theta + mu)
    return (
        theta * (torch.log(theta) - log_theta_mu)
        + torch.xlogy(x, mu)
        - x * log_theta_mu
        + torch.lgamma(x + theta)
        - torch.lgamma(theta)
        - torch.lgamma(x + 1)
    )


def zinb_log_prob(x: Tensor, mu: Tensor, theta: Tensor, pi_logits: Tensor) -> Tensor:
    """Zero-inflated negative binomial log-probability.

    ``p(x) = pi * [x == 0] + (1 - pi) * NB(x; mu, theta)`` with ``pi = sigmoid(pi_logits)`` the dropout
    probability. Computed in log space with softplus for stability.

    Parameters
    ----------
    x, mu, theta : Tensor, broadcastable
        As in :func:`nb_log_prob`.
    pi_logits : Tensor, broadcastable
        Logits of the zero-inflation (dropout) probability.

    Returns
    -------
    log_p : Tensor, the broadcast shape
    """
    nb_zero = theta * (torch.log(theta) - torch.log(theta + mu))  # log NB(0)
    # log(pi + (1 - pi) NB(0)) = softplus(log NB(0) - logit) - softplus(-logit)
    case_zero = F.softplus(nb_zero - pi_logits) - F.softplus(-pi_logits)
    # log(1 - pi) + log NB(x) = -softplus(logit) + log NB(x)
    case_nonzero = nb_log_prob(x, mu, theta) - F.softplus(pi_logits)
    return torch.where(x == 0, case_zero, case_nonzero)


def poisson_log_prob(x: Tensor, log_rate: Tensor) -> Tensor:
    """Poisson log-probability of counts ``x`` given log-rates; equals ``scipy.stats.poisson.logpmf``.

    Parameters
    ----------
    x : Tensor, any shape
        Counts.
    log_rate : Tensor, broadcastable to ``x``
        Natural log of the rate.

    Returns
    -------
    log_p : Tensor, the broadcast shape
    """
    return x * log_rate - torch.exp(log_rate) - torch.lgamma(x + 1)
