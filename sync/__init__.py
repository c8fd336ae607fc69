"""The sync engine: streams, checkpoints, store writes, reconciliation, quarantine."""
