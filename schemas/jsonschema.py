"""The JSON Schemas published for downstream tools: ``schemas/json/<table>.schema.json``.

Generated from :mod:`schemas.entities`; the committed files are the published ones, and
a test fails when they are stale. Regenerate with::

    python -m schemas.jsonschema           # rewrite the files
    python -m schemas.jsonschema --check   # exit 1 if any file is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from schemas.entities import ENTITY_MODELS

OUTPUT = Path(__file__).parent / "json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_for(table: str) -> dict[str, Any]:
    """The JSON Schema of one row of ``table`` as a downstream reader gets it."""
    schema = ENTITY_MODELS[table].model_json_schema(mode="serialization")
    return {"$schema": DIALECT, "x-table": table, **schema}


def render_all() -> dict[str, str]:
    """File name → exact file text, for every entity table."""
    return {
        f"{table}.schema.json": json.dumps(schema_for(table), ensure_ascii=False, indent=2) + "\n"
        for table in ENTITY_MODELS
    }


def stale_files(directory: Path = OUTPUT) -> list[str]:
    """Names of files that are missing, differ, or have no table any more."""
    wanted = render_all()
    stale = [
        name
        for name, text in wanted.items()
        if not (directory / name).is_file() or (directory / name).read_text("utf-8") != text
    ]
    if directory.is_dir():
        stale += sorted(p.name for p in directory.glob("*.schema.json") if p.name not in wanted)
    return stale


def write_all(directory: Path = OUTPUT) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    wanted = render_all()
    for path in directory.glob("*.schema.json"):
        if path.name not in wanted:
            path.unlink()
    for name, text in wanted.items():
        (directory / name).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--check"]:
        stale = stale_files()
        for name in stale:
            print(f"stale: schemas/json/{name} (run: python -m schemas.jsonschema)")
        return 1 if stale else 0
    if args:
        print("usage: python -m schemas.jsonschema [--check]", file=sys.stderr)
        return 2
    write_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
