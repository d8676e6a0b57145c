"""Revenue forecasters (baselines, Prophet, a scikit-learn global model), selection and ensembles.

Churn classifiers live beside them in ``churn*.py``.
"""
