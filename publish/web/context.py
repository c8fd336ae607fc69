"""Pages and what every request goes through before a page sees it.

A page is declared with :class:`PageSpec`: its path, its handler, and its
:class:`Access` — who may reach it. :class:`Cabinet` turns each spec into a Starlette
route whose endpoint, for every request,

1. reads the form of a POST;
2. finds the session and the account behind the cookie;
3. sends an anonymous visitor of a non-public page to the login page;
4. refuses a POST whose CSRF token does not match (every form, no exceptions);
5. refuses a role the page is not for (403);
6. resolves the student or class the URL names through :mod:`publish.web.access` —
   someone else's answers 404, a child without consent a page saying why;

and only then calls the handler with a :class:`PageContext`. Since no route exists
except through a spec, no page can forget a step, and the access-matrix test reads the
specs back from the app's route table.

Handlers are plain functions run in the thread pool with a read connection open (the
store's driver blocks); an ``async`` handler (the attachment download, which awaits
KROS) gets no connection and opens its own.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from jinja2 import Environment
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from publish.accounts import Account, Role, load_account
from publish.consent import ConsentState
from publish.queries.freshness import Freshness, freshness
from publish.queries.people import (
    DEFAULT_TIMEZONE,
    ClassCard,
    StudentCard,
    school_ids,
    school_info,
)
from publish.web import csrf, formatting
from publish.web.access import class_access, student_access
from publish.web.options import WebOptions
from publish.web.rendering import render
from publish.web.sessions import COOKIE, SessionInfo, find_session
from sync.store import Store

SyncHandler = Callable[["PageContext"], Response]
AsyncHandler = Callable[["PageContext"], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Access:
    """Who may reach a page."""

    login: bool = True
    roles: frozenset[Role] | None = None
    """None: every role."""
    scope: str | None = None
    """``student``: the path names ``school_id`` and ``student_id`` of a student the viewer
    must be allowed to see; ``class``: ``school_id`` and ``class_id`` of a class they lead."""


PUBLIC = Access(login=False)
ANY_ROLE = Access()
STUDENT_PAGE = Access(
    roles=frozenset({Role.GUARDIAN, Role.STUDENT, Role.CLASS_TEACHER}), scope="student"
)
CLASS_PAGE = Access(roles=frozenset({Role.CLASS_TEACHER}), scope="class")


def only(*roles: Role) -> Access:
    return Access(roles=frozenset(roles))


@dataclass(frozen=True, slots=True)
class PageSpec:
    path: str
    handler: SyncHandler | AsyncHandler
    name: str
    access: Access
    methods: tuple[str, ...] = ("GET",)


@dataclass(slots=True)
class PageContext:
    request: Request
    cabinet: Cabinet
    db: Connection | None
    viewer: Account | None
    csrf_token: str
    form: dict[str, str]
    now: datetime
    student: StudentCard | None = None
    group_ids: tuple[str, ...] = ()
    klass: ClassCard | None = None
    set_cookies: list[tuple[str, str, int | None]] = field(default_factory=list)
    delete_cookies: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ conveniences

    @property
    def options(self) -> WebOptions:
        return self.cabinet.options

    @property
    def conn(self) -> Connection:
        if self.db is None:
            raise RuntimeError("this handler runs without a connection: open one")
        return self.db

    @property
    def account(self) -> Account:
        if self.viewer is None:
            raise RuntimeError("this page needs a logged-in viewer")
        return self.viewer

    @property
    def child(self) -> StudentCard:
        if self.student is None:
            raise RuntimeError("this page is not about a student")
        return self.student

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        value = self.request.query_params.get(name)
        return value if value else None

    def url(self, path: str) -> str:
        return self.cabinet.url(path)

    @property
    def school_id(self) -> str | None:
        if self.student is not None:
            return self.student.school_id
        if self.klass is not None:
            return self.klass.school_id
        return None

    @property
    def timezone(self) -> str:
        school = self.school_id
        if school is None or self.db is None:
            return DEFAULT_TIMEZONE
        return school_info(self.db, school)[1]

    @property
    def today(self) -> date:
        return self.now.astimezone(formatting.zone(self.timezone)).date()

    # ------------------------------------------------------------------ responses

    def redirect(self, path: str) -> Response:
        return self.finish(RedirectResponse(self.url(path), status_code=303))

    def render(self, template: str, *, status: int = 200, **values: Any) -> Response:
        page = self.cabinet.render_page(self, template, values)
        return self.finish(HTMLResponse(page, status_code=status))

    def finish(self, response: Response) -> Response:
        for name, value, max_age in self.set_cookies:
            self.cabinet.set_cookie(response, name, value, max_age)
        for name in self.delete_cookies:
            response.delete_cookie(name, path=self.cabinet.cookie_path)
        return response


class Cabinet:
    """The cabinet's shared state: options, the store, templates, the CSRF signer."""

    def __init__(self, options: WebOptions, store: Store, env: Environment) -> None:
        self.options = options
        self.store = store
        self.env = env
        self.signer = csrf.CsrfSigner(options.session_secret)
        self.cookie_path = options.prefix or "/"

    # ------------------------------------------------------------------ helpers

    def url(self, path: str) -> str:
        return self.options.prefix + path

    def set_cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=self.cookie_path,
            secure=self.options.secure_cookies,
            httponly=True,
            samesite="lax",
        )

    def session_max_age(self) -> timedelta:
        return timedelta(seconds=self.options.session_max_age_seconds)

    def data_freshness(self, ctx: PageContext) -> Freshness | None:
        if ctx.db is None or ctx.viewer is None:
            return None
        if ctx.school_id is not None:
            schools = [ctx.school_id]
        elif ctx.viewer.people:
            schools = sorted({p.school_id for p in ctx.viewer.people})
        else:
            schools = school_ids(ctx.db)
        return freshness(
            ctx.db, schools, ctx.now, timedelta(seconds=self.options.stale_after_seconds)
        )

    def render_page(self, ctx: PageContext | None, template: str, values: dict[str, Any]) -> str:
        base: dict[str, Any] = {
            "url": self.url,
            "static": lambda name: self.url(f"/static/{name}"),
            "viewer": None,
            "csrf_token": "",
            "freshness": None,
            "timezone": DEFAULT_TIMEZONE,
            "today": None,
            "student": None,
            "nav_section": None,
            "children": [],
        }
        if ctx is not None:
            base.update(
                viewer=ctx.viewer,
                csrf_token=ctx.csrf_token,
                freshness=self.data_freshness(ctx),
                timezone=ctx.timezone,
                today=ctx.today,
                student=ctx.student,
            )
        base.update(values)
        return render(self.env, template, base)

    def error_response(self, status: int, title: str, message: str) -> Response:
        page = self.render_page(
            None, "error.html", {"title": title, "message": message, "status": status}
        )
        return HTMLResponse(page, status_code=status)

    # ------------------------------------------------------------------ routing

    def route(self, spec: PageSpec) -> Route:
        is_async = inspect.iscoroutinefunction(spec.handler)

        async def endpoint(request: Request) -> Response:
            form: dict[str, str] = {}
            if request.method == "POST":
                try:
                    parsed = await request.form(max_files=0, max_fields=64)
                except Exception:  # malformed body: a bad request, not a crash
                    return self.error_response(
                        400, "Неверный запрос", "Форма пришла повреждённой. Попробуйте ещё раз."
                    )
                form = {k: v for k, v in parsed.items() if not isinstance(v, UploadFile)}
            if is_async:
                prepared = await run_in_threadpool(self._prepare_detached, spec, request, form)
                if isinstance(prepared, Response):
                    return prepared
                handler: AsyncHandler = spec.handler  # type: ignore[assignment]
                return prepared.finish(await handler(prepared))
            return await run_in_threadpool(self._run, spec, request, form)

        endpoint.__name__ = spec.name
        route = Route(spec.path, endpoint, methods=list(spec.methods), name=spec.name)
        # The access-matrix test reads the policy back from the route table.
        route.page_spec = spec  # type: ignore[attr-defined]
        return route

    def _run(self, spec: PageSpec, request: Request, form: dict[str, str]) -> Response:
        with self.store.read() as db:
            prepared = self._prepare(spec, request, form, db)
            if isinstance(prepared, Response):
                return prepared
            handler: SyncHandler = spec.handler  # type: ignore[assignment]
            return handler(prepared)

    def _prepare_detached(
        self, spec: PageSpec, request: Request, form: dict[str, str]
    ) -> PageContext | Response:
        with self.store.read() as db:
            prepared = self._prepare(spec, request, form, db)
        if isinstance(prepared, PageContext):
            prepared.db = None
        return prepared

    def _prepare(
        self, spec: PageSpec, request: Request, form: dict[str, str], db: Connection
    ) -> PageContext | Response:
        now = self.options.clock()
        session = _session(db, request, now)
        viewer = load_account(db, session.account_id) if session else None
        ctx = PageContext(
            request=request, cabinet=self, db=db, viewer=viewer, csrf_token="", form=form, now=now
        )
        if viewer is None and spec.access.login:
            if session is None and request.cookies.get(COOKIE):
                ctx.delete_cookies.append(COOKIE)  # expired or ended: stop sending it
            target = request.url.path.removeprefix(self.options.prefix) or "/"
            if request.url.query:
                target += "?" + request.url.query
            next_part = "" if target == "/" or request.method != "GET" else "?next=" + quote(target)
            return ctx.redirect("/login" + next_part)
        ctx.csrf_token = session.csrf_token if session and viewer else self._anonymous_token(ctx)
        if request.method == "POST" and not csrf.tokens_match(ctx.csrf_token, form.get(csrf.FIELD)):
            return ctx.render(
                "error.html",
                status=403,
                title="Форма устарела",
                message="Страница была открыта слишком давно или не в этом браузере. "
                "Обновите её и попробуйте ещё раз.",
            )
        if spec.access.roles is not None and (
            viewer is None or viewer.role not in spec.access.roles
        ):
            return ctx.render(
                "error.html",
                status=403,
                title="Нет доступа",
                message="Эта страница не для вашей учётной записи.",
            )
        if spec.access.scope == "student":
            return self._with_student(ctx, request)
        if spec.access.scope == "class":
            card = class_access(
                db,
                ctx.account,
                str(request.path_params["school_id"]),
                str(request.path_params["class_id"]),
            )
            if card is None:
                return self.not_found(ctx)
            ctx.klass = card
        return ctx

    def _with_student(self, ctx: PageContext, request: Request) -> PageContext | Response:
        access = student_access(
            ctx.conn,
            ctx.account,
            str(request.path_params["school_id"]),
            str(request.path_params["student_id"]),
        )
        if not access.found or access.card is None:
            return self.not_found(ctx)
        ctx.student = access.card
        if not access.allowed:
            return self.no_consent(ctx, access.consent)
        ctx.group_ids = access.group_ids
        return ctx

    def _anonymous_token(self, ctx: PageContext) -> str:
        token = self.signer.token_of(ctx.request.cookies.get(csrf.ANONYMOUS_COOKIE))
        if token is None:
            token, cookie = self.signer.new_cookie()
            ctx.set_cookies.append((csrf.ANONYMOUS_COOKIE, cookie, None))
        return token

    def not_found(self, ctx: PageContext) -> Response:
        ctx.student = None
        return ctx.render(
            "error.html",
            status=404,
            title="Страница не найдена",
            message="Такой страницы нет или она вам недоступна. Проверьте адрес "
            "или вернитесь на главную.",
        )

    def no_consent(self, ctx: PageContext, consent: ConsentState | None) -> Response:
        return ctx.render(
            "child/no_consent.html",
            status=403,
            title="Нет согласия на электронный дневник",
            consent=consent,
        )


def _session(db: Connection, request: Request, now: datetime) -> SessionInfo | None:
    token = request.cookies.get(COOKIE)
    return find_session(db, token, now) if token else None


@contextmanager
def writing(cabinet: Cabinet) -> Iterator[Connection]:
    with cabinet.store.write() as connection:
        yield connection
