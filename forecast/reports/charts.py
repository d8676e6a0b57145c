"""PNG charts for churn models: reliability curve and cumulative gains.

Renderers (they write files); they take the frames built by
:mod:`forecast.evaluation.classification`. Figures are built with ``matplotlib.figure.Figure``
directly, so no global pyplot state or backend is touched.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure


def _figure():
    figure = Figure(figsize=(5, 4), dpi=100)
    return figure, figure.add_subplot()


def render_reliability_png(curve: pd.DataFrame, path: Path | str) -> Path:
    """Write the reliability curve: observed churn rate against mean predicted probability.

    Args:
        curve: ``proba_mean, observed_rate, count`` per bin (see ``reliability_curve``).
        path: PNG file to write.
    """
    figure, axes = _figure()
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    axes.plot(curve["proba_mean"], curve["observed_rate"], marker="o", label="model")
    axes.set(xlim=(0, 1), ylim=(0, 1), xlabel="predicted churn probability",
             ylabel="observed churn rate", title="Reliability")
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, format="png")
    return Path(path)


def render_gains_png(gains: pd.DataFrame, path: Path | str) -> Path:
    """Write the cumulative gains chart: share of churners caught against share targeted.

    Args:
        gains: ``fraction_targeted, capture`` per step (see ``gains_chart``).
        path: PNG file to write.
    """
    figure, axes = _figure()
    x = [0.0, *gains["fraction_targeted"]]
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random")
    axes.plot(x, [0.0, *gains["capture"]], marker="o", label="model")
    axes.set(xlim=(0, 1), ylim=(0, 1), xlabel="share of customers targeted (riskiest first)",
             ylabel="share of churners caught", title="Cumulative gains")
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, format="png")
    return Path(path)
