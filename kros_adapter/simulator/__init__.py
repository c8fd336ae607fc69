"""The built-in KROS simulator: deterministic data served over the contract."""
