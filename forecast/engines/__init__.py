"""How per-series and per-chunk work is run.

``local``: on this machine, chunk by chunk with bounded memory; batch churn scoring
(:func:`forecast.engines.local.score_churn`) is resumable and idempotent, its warehouse side
lives in :mod:`forecast.io.scores`. A chunk is scored by :mod:`forecast.engines.chunk_scoring`
with the model compiled to array code (:mod:`forecast.engines.compiled`, tree ensembles in
:mod:`forecast.engines.trees`). A Spark engine (``engines/spark.py``, the only module that
imports pyspark) is for users who outgrow one machine.
"""
