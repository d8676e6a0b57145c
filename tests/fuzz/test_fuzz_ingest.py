"""Fuzz the ingest through the command line: malformed sources and configs never crash it, and
every row it reads is loaded or quarantined (see ``fuzz_sources.py`` for the generated inputs and the
contract).

The default suite runs a fixed-seed sample in well under a minute; ``-m slow`` runs a longer one
(also fixed-seed, so CI is never flaky on a new draw). A failure shrinks to a minimal file and
config and prints them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from fuzz_sources import (
    CONFIG_MISTAKES,
    assert_contract,
    csv_cases,
    degenerate_cases,
    excel_cases,
    ingest,
    parquet_cases,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ANY_SOURCE = st.one_of(csv_cases(), parquet_cases(), excel_cases(), degenerate_cases())


def _profile(examples: int):
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _check_source(case) -> None:
    with tempfile.TemporaryDirectory(prefix="forecast-fuzz-") as tmp:
        result, workspace = ingest(case, Path(tmp))
        assert_contract(result, workspace, case)


def _check_config(case, mistakes: dict) -> None:
    with tempfile.TemporaryDirectory(prefix="forecast-fuzz-") as tmp:
        result, workspace = ingest(case, Path(tmp), mistakes)
        assert_contract(result, workspace, case)


@_profile(60)
@given(case=ANY_SOURCE)
def test_malformed_sources_are_loaded_or_quarantined_never_crash(case):
    _check_source(case)


@_profile(40)
@given(case=csv_cases(), mistakes=CONFIG_MISTAKES)
def test_malformed_configs_are_one_message_never_crash(case, mistakes):
    _check_config(case, mistakes)


@pytest.mark.slow
@_profile(1500)
@given(case=ANY_SOURCE)
def test_malformed_sources_long(case):
    _check_source(case)


@pytest.mark.slow
@_profile(800)
@given(case=st.one_of(csv_cases(), parquet_cases(), excel_cases()), mistakes=CONFIG_MISTAKES)
def test_malformed_configs_long(case, mistakes):
    _check_config(case, mistakes)


def test_a_carriage_return_inside_a_field_is_one_row():
    """The generated CSV quotes a field holding a bare CR (RFC 4180), and the ingest reads it as one
    field of one row: the case a newer Hypothesis drew, which the unquoted writer had made into
    three rows that no reader could count as two."""
    from fuzz_sources import Case, _csv_text

    rows = [("2024-01-31", "a", "10", "10"), ("2024-01-31", "\r", "10", "10")]
    content = _csv_text(rows, ",").encode()
    assert b'"\r"' in content
    case = Case("csv", content, rows, {"encoding": "auto", "delimiter": ","}, exact_rows=2)
    _check_source(case)
