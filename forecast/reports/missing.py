"""Notes for the sections a report is built without because a step could not run on the data.

``forecast run`` marks a step the data cannot support "not applicable" and still builds the
reports; each section that would have shown that step's output says so, and why, in the
report's language (the reason itself is the step's message, in English).
"""

from __future__ import annotations

from collections.abc import Mapping

from forecast.reports.i18n import Locale

# What a note calls each output a section can be without.
WHAT = {
    "forecast": "what_forecast",
    "backtest": "what_backtest",
    "scores": "what_churn_scores",
    "plan": "what_targets_plan",
    "snapshots": "what_snapshots",
}


def missing_note(loc: Locale, what: str, step: str, reason: str) -> str:
    """``No <what>: the step '<step>' could not run on this data (<reason>).``"""
    return loc.t("step_not_applicable", what=loc.t(WHAT[what]), step=step,
                 reason=reason.rstrip(". "))


def missing_notes(missing: Mapping[str, tuple[str, str]],
                  sections: Mapping[str, tuple[str, str]], loc: Locale) -> dict[str, str]:
    """Section key -> its note, for each missing input a section of the report shows.

    Args:
        missing: input name -> (the step that did not write it, why).
        sections: input name -> (the section key it feeds, a key of :data:`WHAT`).
        loc: the report's language.
    """
    return {sections[name][0]: missing_note(loc, sections[name][1], step, reason)
            for name, (step, reason) in sorted(missing.items()) if name in sections}
