"""PNG charts of revenue training runs: backtest error by model and grain, and a forecast fan."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from forecast.schemas import DS, YHAT, Y, interval_columns


def _figure(size=(7, 4)):
    figure = Figure(figsize=size, dpi=100)
    return figure, figure.add_subplot()


def render_accuracy_png(by_grain: pd.DataFrame, path: Path | str) -> Path:
    """Bars of WAPE per grain, unreconciled beside reconciled.

    Args:
        by_grain: ``grain, unreconciled, reconciled`` (see ``accuracy_by_grain``).
        path: PNG file to write.
    """
    figure, axes = _figure()
    positions = range(len(by_grain))
    axes.bar([p - 0.2 for p in positions], by_grain["unreconciled"], width=0.4,
             label="unreconciled")
    axes.bar([p + 0.2 for p in positions], by_grain["reconciled"], width=0.4, label="reconciled")
    axes.set_xticks(list(positions), by_grain["grain"], rotation=20, ha="right")
    axes.set(ylabel="WAPE (backtest)", title="Backtest error by level")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, format="png")
    return Path(path)


def render_fan_png(history: pd.DataFrame, forecast: pd.DataFrame, path: Path | str,
                   title: str = "Forecast") -> Path:
    """History line and the forecast with its 80 % and 95 % bands.

    Args:
        history: ``ds, y`` of one series.
        forecast: ``ds, yhat, yhat_lo_<l>, yhat_hi_<l>`` of the same series.
        path: PNG file to write.
    """
    figure, axes = _figure((8, 4))
    axes.plot(pd.to_datetime(history[DS]), history[Y], color="black", lw=1, label="actual")
    ds = pd.to_datetime(forecast[DS])
    for level, alpha in ((95, 0.2), (80, 0.35)):
        lo, hi = interval_columns(level)
        if lo in forecast and hi in forecast:
            axes.fill_between(ds, forecast[lo], forecast[hi], alpha=alpha, color="tab:blue",
                              label=f"{level}% interval")
    axes.plot(ds, forecast[YHAT], color="tab:blue", lw=1.5, label="forecast")
    axes.set(title=title, ylabel="revenue")
    axes.legend(loc="upper left")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, format="png")
    return Path(path)
