"""The KROS side: HTTP client, hardened payload decoding, and the KROS simulator."""
