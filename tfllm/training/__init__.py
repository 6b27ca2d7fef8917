"""Strategies, optimizers and the fit loop shared by every task."""
