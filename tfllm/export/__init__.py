"""Versioned, atomic SavedModel exports and their run cards."""
