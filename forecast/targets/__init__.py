"""Next-period targets, their decomposition, probabilities and attainment."""
