"""``create_web_app``: the cabinet and the read API as one Starlette application.

Routes come from the page modules' ``PAGES`` (publish/web/pages/) and the read API
(publish/api.py); everything lives under ``WebOptions.base_path``. The service adds
``/healthz``, ``/readyz`` and ``/metrics`` around it and runs it with uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from publish.api import ReadApi
from publish.web.context import Cabinet, PageSpec
from publish.web.errors import handlers
from publish.web.headers import SecurityHeadersMiddleware
from publish.web.options import WebOptions
from publish.web.pages import admin, auth, child, family, staff
from publish.web.proxy import TrustedProxyMiddleware
from publish.web.rendering import make_environment
from sync.store import Store

PAGE_MODULES = (auth, family, child, staff, admin)


def page_specs() -> list[PageSpec]:
    return [spec for module in PAGE_MODULES for spec in module.PAGES]


def create_web_app(options: WebOptions) -> Starlette:
    if not options.session_secret or len(options.session_secret) < 16:
        raise ValueError("web: session_secret must be at least 16 characters")
    store = Store(options.store_url)
    cabinet = Cabinet(options, store, make_environment())
    api = ReadApi(store, options.clock, options.prefix)
    routes: list[BaseRoute] = [cabinet.route(spec) for spec in page_specs()]
    routes.append(Mount("/api/v1", routes=api.routes(), name="api"))
    routes.append(
        Mount("/static", app=StaticFiles(packages=[("publish.web", "static")]), name="static")
    )
    if options.prefix:
        routes = [Mount(options.prefix, routes=routes)]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        store.dispose()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(TrustedProxyMiddleware, trusted=options.trusted_proxies),
            Middleware(SecurityHeadersMiddleware, hsts=options.secure_cookies),
        ],
        exception_handlers=handlers(cabinet),  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    app.state.cabinet = cabinet
    return app
