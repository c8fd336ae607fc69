"""Fixtures shared by the whole suite. Keep this small: a fixture used by one file lives there."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service.logging import reset_logging

pytest_plugins = ["tests.store_fixtures"]


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """No logging set-up outlives its test (nor its captured stream)."""
    yield
    reset_logging()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write TOML text to a fresh ``config.toml`` and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
