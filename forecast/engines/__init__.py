"""How per-series and per-chunk work is run.

``local``: on this machine, chunk by chunk with bounded memory; batch churn scoring
(:func:`forecast.engines.local.score_churn`) is resumable and idempotent, its warehouse side
lives in :mod:`forecast.io.scores`. A Spark engine (``engines/spark.py``, the only module that
imports pyspark) is for users who outgrow one machine.
"""
