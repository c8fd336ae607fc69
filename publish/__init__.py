"""The republishing side: cabinet, read API, consents, extracts, reports, notifications."""
