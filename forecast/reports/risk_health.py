"""Model health for the risk report: backtest accuracy, churn calibration and input drift."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.evaluation.classification import expected_calibration_error
from forecast.reports import document as doc
from forecast.reports.analysis import population_stability
from forecast.reports.i18n import Locale
from forecast.reports.inputs import ReportOptions, RiskInputs
from forecast.schemas import GRAIN, TOTAL

SHARE_METRICS = ("wape", "smape", "bias", "mape")
# The model a forecast comes from, most specific first (forecast.pipeline.revenue's names).
IN_USE = ("selected_reconciled", "selected")
DRIFT_ROWS = 15
# Snapshot columns that are keys, labels or bookkeeping, never model inputs.
NOT_FEATURES = {"customer_id", "cutoff", "churned", "label_complete"}


def backtest_table(backtest: pd.DataFrame, loc: Locale) -> tuple[dict, float | None,
                                                                   float | None]:
    """The backtest scores as stored, the best WAPE of the total grain and its 80% coverage.

    Args:
        backtest: ``revenue_backtest`` rows: identifying text columns (model, grain, ...) and
            metric columns (wape, smape, bias, mase, rmsse, coverage_<level>, ...).

    Returns:
        (table, WAPE at the company total (or over all rows without a grain column) of the model
        in use (selected_reconciled, else selected, else the lowest WAPE), its coverage of the
        80% interval).
    """
    columns = [doc.column(name, backtest_label(name, loc), _backtest_kind(backtest, name))
               for name in backtest.columns]
    rows = backtest
    if GRAIN in backtest.columns and (backtest[GRAIN] == TOTAL).any():
        rows = backtest[backtest[GRAIN] == TOTAL]
    if "wape" not in rows.columns or rows["wape"].isna().all():
        return doc.table("backtest", loc.t("backtest"), columns, backtest), None, None
    chosen = rows.loc[rows["wape"].idxmin()]
    if "model" in rows.columns:
        for model in IN_USE:
            if (rows["model"] == model).any():
                chosen = rows[rows["model"] == model].iloc[0]
                break
    cover = chosen.get("coverage_80")
    return (doc.table("backtest", loc.t("backtest"), columns, backtest), float(chosen["wape"]),
            None if cover is None or pd.isna(cover) else float(cover))


def _backtest_kind(backtest: pd.DataFrame, name: str) -> str:
    if name == "grain":
        return "grain"
    if backtest[name].dtype == object or str(backtest[name].dtype).startswith("str"):
        return "member"
    if name in SHARE_METRICS or name.startswith(("coverage_", "pinball_")):
        return "pct"
    return "count" if name == "n" else "ratio"


def _metric_level(name: str) -> tuple[str, dict[str, str]]:
    """``coverage_80`` -> (``coverage``, {level: 80%}); other names -> (name, {})."""
    stem, _, level = name.partition("_")
    if stem in ("coverage", "pinball") and level:
        return stem, {"level": f"{level}%"}
    return name, {}


def backtest_label(name: str, loc: Locale) -> str:
    """A backtest column's label (``coverage_80`` -> "Coverage of the 80% interval")."""
    stem, values = _metric_level(name)
    key = f"bt_{stem}"
    return loc.t(key, **values) if loc.has(key) else name.replace("_", " ")


def backtest_terms(columns: list[str], loc: Locale) -> dict:
    """One line of definition for each metric column of the backtest table."""
    rows = []
    for name in columns:
        stem, values = _metric_level(name)
        if loc.has(f"btdef_{stem}"):
            rows.append({"term": backtest_label(name, loc),
                         "definition": loc.t(f"btdef_{stem}", **values)})
    return doc.table("backtest_terms", loc.t("backtest_terms"), [
        doc.column("term", loc.t("term"), "text"),
        doc.column("definition", loc.t("definition"), "text"),
    ], rows)


def calibration_table(outcomes: pd.DataFrame, loc: Locale) -> dict:
    """Churn scores whose label window has closed against what happened, per cutoff.

    Args:
        outcomes: ``cutoff, churn_proba, churned``.

    Returns:
        A table with ``cutoff, customers, predicted, observed, brier, ece`` (Brier = mean
        squared difference of probability and outcome; ECE over 10 equal-width bins).
    """
    rows = []
    for cutoff, g in outcomes.groupby("cutoff", sort=True):
        y = g["churned"].astype(float).to_numpy()
        p = g["churn_proba"].astype(float).to_numpy()
        rows.append({"cutoff": cutoff, "customers": len(g), "predicted": p.mean(),
                     "observed": y.mean(), "brier": float(np.mean((p - y) ** 2)),
                     "ece": expected_calibration_error(y, p)})
    return doc.table("calibration", loc.t("calibration"), [
        doc.column("cutoff", loc.t("cutoff"), "date"),
        doc.column("customers", loc.t("customers"), "count"),
        doc.column("predicted", loc.t("predicted_rate"), "pct"),
        doc.column("observed", loc.t("observed_rate"), "pct"),
        doc.column("brier", loc.t("brier"), "ratio"),
        doc.column("ece", loc.t("ece"), "ratio"),
    ], rows)


def drift_frame(reference: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """PSI of every numeric snapshot feature, current cutoff vs the training cutoffs.

    Returns:
        ``feature, psi, reference_mean, current_mean`` sorted by PSI descending.
    """
    rows = []
    for name in reference.columns:
        if name in NOT_FEATURES or name not in current.columns:
            continue
        if not pd.api.types.is_numeric_dtype(reference[name]) or \
                pd.api.types.is_bool_dtype(reference[name]):
            continue
        psi = population_stability(reference[name], current[name])
        if psi is not None:
            rows.append({"feature": name, "psi": psi,
                         "reference_mean": float(reference[name].mean()),
                         "current_mean": float(current[name].mean())})
    frame = pd.DataFrame(rows, columns=["feature", "psi", "reference_mean", "current_mean"])
    return frame.sort_values(["psi", "feature"], ascending=[False, True]).reset_index(drop=True)


def _drift_part(inputs: RiskInputs, options: ReportOptions) -> tuple[list, list, str]:
    loc = options.locale
    if inputs.drift_reference is None or inputs.drift_current is None:
        return [], [], inputs.notes.get("drift", loc.t("no_snapshots"))
    drift = drift_frame(inputs.drift_reference, inputs.drift_current)
    over = drift[drift["psi"] > options.rules.drift_psi]
    metrics = [doc.metric("max_psi", loc.t("m_max_psi"),
                          drift["psi"].max() if len(drift) else None, "ratio"),
               doc.metric("features_drifting", loc.t("m_features_drifting"), len(over), "count"),
               doc.metric("features_checked", loc.t("m_features_checked"), len(drift), "count")]
    table = doc.table("drift", loc.t("drift"), [
        doc.column("feature", loc.t("feature"), "feature"),
        doc.column("psi", loc.t("psi"), "ratio"),
        doc.column("reference_mean", loc.t("reference_mean"), "number"),
        doc.column("current_mean", loc.t("current_mean"), "number"),
    ], drift.head(DRIFT_ROWS))
    training, scoring = inputs.drift_cutoffs or ([], "")
    note = loc.t("drift_note", training=", ".join(training), scoring=scoring)
    return metrics, [table], note


def _unseen_part(inputs: RiskInputs, loc: Locale) -> tuple[list, list, str]:
    """How many features, and customers per feature, of the latest scoring held a category the
    churn model never saw in training; nothing when the scoring run did not record it."""
    frame = inputs.unseen_categories
    if frame is None or not len(frame):
        return [], [], ""
    day = loc.day(frame["cutoff"].iloc[0])
    found = frame[frame["rows"] > 0].assign(share=lambda f: f["rows"] / f["scored"])
    metrics = [doc.metric("unseen_features", loc.t("m_unseen_features"), len(found), "count")]
    if not len(found):
        return metrics, [], loc.t("no_unseen", day=day)
    table = doc.table("unseen_categories", loc.t("unseen_categories"), [
        doc.column("feature", loc.t("feature"), "feature"),
        doc.column("rows", loc.t("customers"), "count"),
        doc.column("share", loc.t("share"), "pct"),
    ], found)
    counts = loc.t("list_sep").join(f"{loc.feature(f)} {int(n)}" for f, n in zip(
        found["feature"], found["rows"], strict=True))
    return metrics, [table], loc.t("unseen_note", day=day, counts=counts)


def model_health_section(inputs: RiskInputs, options: ReportOptions) -> dict:
    """Backtest accuracy of the revenue models, calibration of churn scores whose outcome is
    known, categories the churn model never saw, and drift of the current customer inputs
    against the training snapshots."""
    loc = options.locale
    metrics, tables, notes = [], [], []
    if inputs.backtest is not None and len(inputs.backtest):
        table, wape, coverage = backtest_table(inputs.backtest, loc)
        tables += [table, backtest_terms(list(inputs.backtest.columns), loc)]
        metrics += [doc.metric("backtest_wape", loc.t("m_backtest_wape"), wape, "pct"),
                    doc.metric("backtest_coverage_80", loc.t("m_backtest_coverage_80"),
                               coverage, "pct")]
    else:
        notes.append(inputs.notes.get("backtest", loc.t("no_backtest")))
    if inputs.churn_outcomes is not None and len(inputs.churn_outcomes):
        table = calibration_table(inputs.churn_outcomes, loc)
        tables.append(table)
        latest = table["rows"][-1]
        metrics.append(doc.metric("churn_ece", loc.t("m_churn_ece"), latest["ece"], "ratio"))
    else:
        notes.append(inputs.notes.get("calibration", loc.t("no_outcomes")))
    unseen_metrics, unseen_tables, unseen_note = _unseen_part(inputs, loc)
    drift_metrics, drift_tables, drift_note = _drift_part(inputs, options)
    metrics = metrics + unseen_metrics + drift_metrics
    tables = tables + unseen_tables + drift_tables
    notes = notes + [unseen_note, drift_note]
    if not tables:
        return doc.omitted("model_health", loc.t("s_model_health"),
                           " ".join(n for n in notes if n))
    return doc.section("model_health", loc.t("s_model_health"), metrics=metrics, tables=tables,
                       note=" ".join(n for n in notes if n))
