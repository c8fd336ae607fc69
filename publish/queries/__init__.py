"""Read queries over the store for the cabinet and the read API.

Each module answers the questions of one page or feature; every function takes an open
``Connection`` and returns plain dataclasses, so that callers choose the transaction and
templates never see SQLAlchemy rows. Only live rows (``deleted_at IS NULL``) are shown,
and references may dangle (docs/store.md): a missing subject or teacher shows as its id.
"""
