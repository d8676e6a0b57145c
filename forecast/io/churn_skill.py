"""The ``churn_score_skill`` table: how well the model of each scoring run ranked churners on
held-out data, so the reports can say when its tiers single no one out (see
``forecast.io.report_reads.churn_skill``)."""

from __future__ import annotations

import duckdb

from forecast.io.catalog import CHURN_SCORE_SKILL

SKILL_COLUMNS = ("roc_auc", "roc_auc_low", "roc_auc_high", "rows", "base_rate")


def record_skill(con: duckdb.DuckDBPyConnection, run_key: str,
                 skill: dict[str, float] | None) -> None:
    """Keep the skill (``SKILL_COLUMNS``) of scoring run ``run_key``'s model, replacing the
    run's earlier row; None (a model without held-out predictions) keeps no row."""
    table = CHURN_SCORE_SKILL.sql
    con.execute(f"""CREATE TABLE IF NOT EXISTS {table} (run_key VARCHAR NOT NULL,
                    {', '.join(f'{c} DOUBLE' for c in SKILL_COLUMNS)})""")
    con.begin()
    try:
        con.execute(f"DELETE FROM {table} WHERE run_key = ?", [run_key])
        if skill is not None:
            con.execute(f"INSERT INTO {table} VALUES (?{', ?' * len(SKILL_COLUMNS)})",
                        [run_key, *(float(skill[c]) for c in SKILL_COLUMNS)])
        con.commit()
    except BaseException:
        con.rollback()
        raise
