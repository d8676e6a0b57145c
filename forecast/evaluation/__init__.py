"""Evaluation of revenue forecasts: rolling-origin backtests, accuracy metrics, conformal intervals."""
