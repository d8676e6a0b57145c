"""The synthetic company generator: orders, customers, surveys, opportunities and targets of a
company with known seasonality and known churn, to demo, test and benchmark forecast.

Example:
    >>> from forecast.config import SynthOptions
    >>> summary = generate_company(SynthOptions(customers=2000, years=3), Path("data/demo"))
"""

from forecast.synth.company import generate_company

__all__ = ["generate_company"]
