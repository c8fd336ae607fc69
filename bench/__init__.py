"""Benchmarks: `make bench` prints a table of figures measured in one run, as ratios."""
