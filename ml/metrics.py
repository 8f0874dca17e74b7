"""Classification quality figures shared by training and monitoring."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss

N_CLASSES = 3


def classification_metrics(model: Any, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    predicted = model.predict(x)
    figures = {
        "accuracy": float(accuracy_score(y, predicted)),
        "f1_macro": float(f1_score(y, predicted, average="macro", labels=list(range(N_CLASSES)))),
    }
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(x)
        figures["log_loss"] = float(log_loss(y, proba, labels=list(range(N_CLASSES))))
    return figures
