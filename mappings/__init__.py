"""Normalization: mapping files, code dictionaries and the engine that applies them.

- :func:`mappings.engine.normalize` — one KROS record → a
  :class:`~mappings.records.NormalizedRecord` (row + link rows) or a
  :class:`~mappings.records.Tombstone`; a bad record raises
  :class:`~mappings.errors.RecordError`.
- ``mappings/collections/<collection>.toml`` — one declarative mapping per collection
  (format: :mod:`mappings.spec`).
- ``mappings/dictionaries/*.toml`` — mark values, attendance codes, vocabularies
  (:mod:`mappings.codes`).
"""
