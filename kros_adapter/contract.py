"""Names fixed by CONTRACT.md: the collections, the reference resources, the documents."""

from __future__ import annotations

JOURNAL_COLLECTIONS: tuple[str, ...] = (
    "students",
    "guardians",
    "curriculum",
    "lessons",
    "lesson-changes",
    "control-works",
    "homework",
    "marks",
    "attendance",
    "recommendations",
    "consents",
)
"""Collections that accept ``updated_since`` and carry tombstones (CONTRACT.md §3)."""

REFERENCE_COLLECTIONS: tuple[str, ...] = (
    "academic-years",
    "periods",
    "holidays",
    "subjects",
    "teachers",
    "classes",
    "groups",
)
"""Reference collections: read whole, with ``ETag`` / ``If-None-Match`` (§3)."""

COLLECTIONS: tuple[str, ...] = REFERENCE_COLLECTIONS + JOURNAL_COLLECTIONS
"""Every paginated JSON collection, by its path segment."""

DOCUMENTS: tuple[str, ...] = ("final-grades", "exam-results")
"""The two XML documents (§5), by path stem (``final-grades.xml``)."""

MAX_PAGE_LIMIT = 1000
"""The largest ``limit`` a listing takes (§2)."""
