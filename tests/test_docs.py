"""The docs keep up with the code: every command and every key is in README.md."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from service.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    """Every command and subcommand, recursively, so that new ones are covered too."""
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}".strip()
        yield path, command
        if isinstance(command, click.Group):
            yield from commands(command, path)


def configuration_section() -> str:
    match = re.search(r"^## Configuration\n(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no '## Configuration' section"
    return match.group(1)


def example_keys() -> list[str]:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    return [f"{section}.{key}" for section, values in example.items() for key in values]


COMMANDS = list(commands(main))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[path for path, _ in COMMANDS])
def test_command_has_help_text(path: str, command: click.Command) -> None:
    assert (command.help or command.short_help or "").strip(), f"{path} has no help text"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[path for path, _ in COMMANDS])
def test_command_is_in_the_readme(path: str, command: click.Command) -> None:
    assert f"kros-adapter {path}" in README, f"README.md does not mention 'kros-adapter {path}'"


@pytest.mark.parametrize("key", example_keys())
def test_configuration_key_is_in_the_readme(key: str) -> None:
    assert key in configuration_section(), f"README.md's Configuration section lacks {key}"


def test_readme_says_how_to_start() -> None:
    assert "make demo" in README
    assert "make test" in README
