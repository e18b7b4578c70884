"""How sure the matcher is that a candidate entry answers the question: several signals, one probability.

One score cannot tell a right answer from a near miss: a high fuzzy score means
little when the runner-up is just as close, and a modest one is safe when the
spelling and the meaning of the question agree on the same entry. So each
candidate is described by a few measured signals (:class:`Evidence`) and a logistic
model, fitted on the tuning question set, turns them into the probability that the
candidate is a right answer. The thresholds then cut that probability (0-100).

The coefficients in :data:`CALIBRATION` come from ``python -m tools.evaluate
--calibrate`` (plain numpy, Newton's method with a small ridge penalty); a test
re-fits them and checks they are current.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the decision knows about one candidate entry for one question."""

    lexical: float  # rapidfuzz phrasing similarity blended with word coverage, 0-1
    semantic: float  # embedding cosine: closest phrasing plus a little of the summary
    lead: float  # this candidate's blended score minus the best other candidate's (negative if behind)
    lead_unrelated: float  # the same, against candidates not linked to it as related entries
    lexical_top: float  # 1 if it is the best candidate by spelling alone
    semantic_top: float  # 1 if it is the best candidate by meaning alone
    coverage: float  # share of the question's word weight this entry explains, 0-1
    strength: float  # how much word weight it explains, 0-1 (one common word is weak evidence however "covered")
    unknown: float  # share of the question's word weight that no entry knows, 0-1
    specifics: float  # 1 if the question asks for a figure, date, office-holder or the like (ASKS_FOR_SPECIFICS)
    classifier: float  # the entry classifier's probability for it, among the candidates, 0-1
    classifier_top: float  # 1 if it is the classifier's choice among the candidates

    def vector(self) -> tuple[float, ...]:
        return _FEATURE_VALUES(self)  # dataclasses.astuple deep-copies: 10x slower


FEATURES = tuple(field.name for field in fields(Evidence))
_FEATURE_VALUES = operator.attrgetter(*FEATURES)


@dataclass(frozen=True, slots=True)
class Calibration:
    """A fitted logistic model: probability = sigmoid(bias + sum(weight x feature))."""

    bias: float
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"a calibration needs {len(FEATURES)} weights, one per feature; got {len(self.weights)}")

    def probability(self, evidence: Evidence) -> float:
        z = self.bias + sum(map(operator.mul, self.weights, evidence.vector()))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def fit(rows: Sequence[Evidence], labels: Sequence[bool], ridge: float = 1.0) -> Calibration:
    """Maximum-likelihood logistic regression with an L2 penalty on the weights (not the bias)."""
    x = np.array([row.vector() for row in rows], dtype=np.float64)
    y = np.array(labels, dtype=np.float64)
    design = np.hstack([np.ones((len(x), 1)), x])
    penalty = np.diag([0.0] + [ridge] * x.shape[1])
    beta = np.zeros(design.shape[1])
    for _ in range(50):
        p = _sigmoid(design @ beta)
        gradient = design.T @ (p - y) + penalty @ beta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-9:
            break
    return Calibration(round(float(beta[0]), 4), tuple(round(float(b), 4) for b in beta[1:]))


def _sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


# Fitted by `python -m tools.evaluate --calibrate` on tests/data/questions_tune*.yaml; order as in FEATURES.
CALIBRATION = Calibration(
    bias=-6.1089,
    weights=(1.4815, 1.6916, 0.9215, 0.5215, 0.6293, 0.6774, 0.7658, 1.7239, -1.4112, -4.5457, 1.4845, 2.0408),
)
