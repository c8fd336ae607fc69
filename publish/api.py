"""The read API for downstream tools: JSON over the normalized store, under ``/api/v1``.

Every call but the OpenAPI document needs a service account's bearer token
(``Authorization: Bearer kra_…``, table ``api_tokens``; an administrator creates them on
``/admin/api-tokens``). A session cookie opens nothing here: tools are not people.

- ``GET /api/v1/changes?after=N&limit=M[&school_id=S]`` — entity rows changed after
  version N, in ``change_version`` order across every entity table, deletions included,
  each with its link rows (as ``kros-adapter export`` writes them). Keep ``next_after``
  and ask again with it; ``has_more`` says whether to ask at once.
- ``GET /api/v1/version`` — the store's current version.
- ``GET /api/v1/tables`` — the entity tables with their columns and link tables.
- ``GET /api/v1/tables/{table}/{school_id}/{source_id}`` — one row (tombstones too).
- ``GET /api/v1/openapi.json`` — this API as an OpenAPI 3 document (no token needed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from publish.accounts import api_token_name, touch_api_token
from publish.queries.changes import (
    ENTITY_BY_NAME,
    LINKS_BY_PARENT,
    Change,
    changes_after,
    current_version,
    entity,
    snapshot,
)
from schemas.tables import ENTITY_TABLES
from sync.store import Store

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
MAX_VERSION = 2**63 - 1  # change_version is a bigint
_TOUCH_EVERY = timedelta(minutes=5)
_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS  # column names are SQLAlchemy's str subclass


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=_JSON_OPTIONS)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class ReadApi:
    """The API's routes over one store; the cabinet mounts them at ``/api/v1``."""

    def __init__(self, store: Store, clock: Callable[[], datetime], base_path: str) -> None:
        self.store = store
        self.clock = clock
        self.base_path = base_path
        self._touched: dict[str, datetime] = {}

    def routes(self) -> list[Route]:
        return [
            Route("/openapi.json", self.openapi, methods=["GET"], name="api_openapi"),
            Route("/changes", self._guarded(self.changes), methods=["GET"], name="api_changes"),
            Route("/version", self._guarded(self.version), methods=["GET"], name="api_version"),
            Route("/tables", self._guarded(self.tables), methods=["GET"], name="api_tables"),
            Route(
                "/tables/{table}/{school_id}/{source_id}",
                self._guarded(self.entity),
                methods=["GET"],
                name="api_entity",
            ),
        ]

    # ------------------------------------------------------------------ auth

    def _guarded(
        self, handler: Callable[[Request], Response]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await run_in_threadpool(self._authorized, handler, request)

        endpoint.__name__ = handler.__name__
        return endpoint

    def _authorized(self, handler: Callable[[Request], Response], request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="kros-adapter"'}
        if scheme.lower() != "bearer" or not token.strip():
            return _error(401, "a bearer token is required", challenge)
        with self.store.read() as connection:
            name = api_token_name(connection, token.strip())
        if name is None:
            return _error(401, "unknown or revoked token", challenge)
        self._touch(name)
        return handler(request)

    def _touch(self, name: str) -> None:
        # last_used_at tells an administrator which tokens are alive; writing it on every
        # call would make each read a write, so at most once per few minutes per token.
        now = self.clock()
        last = self._touched.get(name)
        if last is not None and now - last < _TOUCH_EVERY:
            return
        self._touched[name] = now
        with self.store.write() as connection:
            touch_api_token(connection, name, now)

    # ------------------------------------------------------------------ endpoints

    def changes(self, request: Request) -> Response:
        after = _int_param(request, "after", 0, 0, MAX_VERSION)
        limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        if isinstance(after, Response):
            return after
        if isinstance(limit, Response):
            return limit
        school_id = request.query_params.get("school_id") or None
        with snapshot(self.store) as connection:
            page = changes_after(connection, after, limit, school_id=school_id)
        return JSONResponse(
            {
                "after": after,
                "next_after": page.next_after,
                "has_more": page.has_more,
                "current_version": page.current_version,
                "changes": [_change_json(change) for change in page.changes],
            }
        )

    def version(self, request: Request) -> Response:
        with self.store.read() as connection:
            return JSONResponse({"current_version": current_version(connection)})

    def tables(self, request: Request) -> Response:
        return JSONResponse(
            {
                "tables": [
                    {
                        "name": table.name,
                        "columns": [column.name for column in table.c],
                        "links": [name for name, _ in LINKS_BY_PARENT.get(table.name, [])],
                    }
                    for table in ENTITY_TABLES
                ]
            }
        )

    def entity(self, request: Request) -> Response:
        table = str(request.path_params["table"])
        if table not in ENTITY_BY_NAME:
            return _error(404, f"no entity table {table!r}")
        with self.store.read() as connection:
            found = entity(
                connection,
                table,
                str(request.path_params["school_id"]),
                str(request.path_params["source_id"]),
            )
        if found is None:
            return _error(404, "no such row")
        return JSONResponse(_change_json(found))

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document(self.base_path))


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int | Response:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        return _error(400, f"{name} must be an integer")
    if not low <= value <= high:
        return _error(400, f"{name} must be between {low} and {high}")
    return value


def _change_json(change: Change) -> dict[str, Any]:
    return {
        "table": change.table,
        "change_version": change.version,
        "row": change.row,
        "links": change.links,
    }


# --------------------------------------------------------------------------- OpenAPI


def openapi_document(base_path: str = "") -> dict[str, Any]:
    """The API as OpenAPI 3.0, written by hand: small, and every word of it reviewed."""
    table_names = [table.name for table in ENTITY_TABLES]
    error = {"description": "", "content": _json_of("#/components/schemas/Error")}

    def responses(ok: str, description: str, *extra: int) -> dict[str, Any]:
        found: dict[str, Any] = {
            "200": {"description": description, "content": _json_of(ok)},
            "401": {**error, "description": "No token, or an unknown or revoked one"},
        }
        for status in extra:
            found[str(status)] = {
                **error,
                "description": {400: "Invalid parameters", 404: "Not found"}[status],
            }
        return found

    return {
        "openapi": "3.0.3",
        "info": {
            "title": "kros-adapter read API",
            "version": "1",
            "description": "The school's normalized copy of the KROS journal (docs/store.md), "
            "for downstream tools. Rows are the store's rows: dates as YYYY-MM-DD, instants "
            "in UTC with an offset.",
        },
        "servers": [{"url": base_path.rstrip("/") + "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/changes": {
                "get": {
                    "operationId": "listChanges",
                    "summary": "Entity rows changed after a version, in version order",
                    "parameters": [
                        _query(
                            "after",
                            {"type": "integer", "minimum": 0, "maximum": MAX_VERSION, "default": 0},
                            "The last version already processed (exclusive)",
                        ),
                        _query(
                            "limit",
                            {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_LIMIT,
                                "default": DEFAULT_LIMIT,
                            },
                            "At most this many rows",
                        ),
                        _query("school_id", {"type": "string"}, "Only this school's rows"),
                    ],
                    "responses": responses(
                        "#/components/schemas/ChangePage", "A page of changes", 400
                    ),
                }
            },
            "/version": {
                "get": {
                    "operationId": "currentVersion",
                    "summary": "The store's current version",
                    "responses": responses("#/components/schemas/Version", "The version"),
                }
            },
            "/tables": {
                "get": {
                    "operationId": "listTables",
                    "summary": "The entity tables, their columns and link tables",
                    "responses": responses("#/components/schemas/TableList", "The tables"),
                }
            },
            "/tables/{table}/{school_id}/{source_id}": {
                "get": {
                    "operationId": "getEntity",
                    "summary": "One row of an entity table by its KROS id, tombstones included",
                    "parameters": [
                        _path("table", {"type": "string", "enum": table_names}),
                        _path("school_id", {"type": "string", "pattern": "^[A-Za-z0-9._-]+$"}),
                        _path("source_id", {"type": "string", "pattern": "^[A-Za-z0-9._-]+$"}),
                    ],
                    "responses": responses("#/components/schemas/Change", "The row", 404),
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.0",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
                "Row": {
                    "type": "object",
                    "description": "A row of the table, every column (docs/store.md)",
                    "required": [
                        "id",
                        "school_id",
                        "source_id",
                        "source_updated_at",
                        "deleted_at",
                        "change_version",
                    ],
                    "properties": {
                        "id": {"type": "integer"},
                        "school_id": {"type": "string"},
                        "source_id": {"type": "string"},
                        "source_updated_at": {"type": "string", "format": "date-time"},
                        "deleted_at": {"type": "string", "format": "date-time", "nullable": True},
                        "change_version": {"type": "integer", "minimum": 1},
                    },
                    "additionalProperties": True,
                },
                "Change": {
                    "type": "object",
                    "required": ["table", "change_version", "row", "links"],
                    "properties": {
                        "table": {"type": "string", "enum": table_names},
                        "change_version": {"type": "integer", "minimum": 1},
                        "row": {"$ref": "#/components/schemas/Row"},
                        "links": {
                            "type": "object",
                            "nullable": True,
                            "description": "The row's link tables (null for a table without)",
                            "additionalProperties": {
                                "type": "array",
                                "items": {"type": "object", "additionalProperties": True},
                            },
                        },
                    },
                },
                "ChangePage": {
                    "type": "object",
                    "required": ["after", "next_after", "has_more", "current_version", "changes"],
                    "properties": {
                        "after": {"type": "integer", "minimum": 0},
                        "next_after": {"type": "integer", "minimum": 0},
                        "has_more": {"type": "boolean"},
                        "current_version": {"type": "integer", "minimum": 0},
                        "changes": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Change"},
                        },
                    },
                },
                "Version": {
                    "type": "object",
                    "required": ["current_version"],
                    "properties": {"current_version": {"type": "integer", "minimum": 0}},
                },
                "TableList": {
                    "type": "object",
                    "required": ["tables"],
                    "properties": {
                        "tables": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name", "columns", "links"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "columns": {"type": "array", "items": {"type": "string"}},
                                    "links": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        }
                    },
                },
            },
        },
    }


def _json_of(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": ref}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}
