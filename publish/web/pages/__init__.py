"""The cabinet's pages, one module per audience; each module lists its ``PAGES``."""
