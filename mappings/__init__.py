"""Normalization: mapping files, code dictionaries and the engine that applies them."""
