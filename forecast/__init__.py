"""forecast: sales forecasting and risk modelling, from raw orders to next quarter's targets."""

__version__ = "0.1.0"
