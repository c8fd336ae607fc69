"""The Jinja2 environment of the cabinet: templates from this package, autoescaped,
strict about undefined names (a typo in a template fails a test instead of printing
nothing), with the Russian formatting filters."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from publish.accounts import ROLE_TITLES
from publish.web import formatting


def make_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("publish.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ru_date=formatting.ru_date,
        ru_day=formatting.ru_day,
        numeric_date=formatting.numeric_date,
        decimal=formatting.decimal,
        short_decimal=formatting.short_decimal,
        local_time=formatting.local_time,
        local_moment=formatting.local_moment,
    )
    env.globals.update(plural_word=formatting.plural_word, role_titles=ROLE_TITLES)
    return env


def render(env: Environment, template: str, values: dict[str, Any]) -> str:
    return env.get_template(template).render(values)
