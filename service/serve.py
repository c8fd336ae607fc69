"""``kros-adapter serve``: the sync schedule, the web cabinet, health and metrics, in one
process — the composition root of the running service.

One event loop holds:

* one :class:`~kros_adapter.client.KrosClient`, shared by every job so that the
  account's limits (10 requests/s, 4 in flight) and its token are shared too;
* the :class:`~service.scheduler.SyncScheduler` (APScheduler) running
  :class:`~sync.engine.SyncEngine` per job;
* uvicorn serving the cabinet (``publish.web.create_web_app``) with ``/healthz``,
  ``/readyz`` and ``/metrics`` beside it.

SIGTERM or SIGINT stops it gracefully: no new jobs start, the web stops accepting,
running syncs get ``schedule.stop_timeout_seconds`` to finish (each page is one
transaction, so even a cancelled run leaves no half page), and the process exits 0. A
second signal cancels the running syncs at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
import uvicorn
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from kros_adapter.client import KrosClient
from service.config import MIN_SECRET_LENGTH, AppConfig, GradingSection, env_var_name
from service.errors import ConfigError, ServiceError
from service.health import healthz, readyz_endpoint
from service.logging import get_logger
from service.metrics import QuarantineWatch, ServiceMetrics, WebMetricsMiddleware, metrics_endpoint
from service.scheduler import JobOutcome, SyncScheduler
from sync.engine import RunSummary, SyncEngine, SyncOptions
from sync.store import Store

log = get_logger("service.serve")

SESSION_SECRET_SUFFIX = ".session-secret"
OPS_PATHS = ("/healthz", "/readyz", "/metrics")
_SERVER_STOP_SECONDS = 10
"""How long uvicorn waits for open requests when stopping (pages answer in milliseconds)."""

FetchAttachment = Callable[[str, str], Awaitable[tuple[bytes, str]]]
"""``(school_id, url) -> (content, content type)``: a homework attachment via KROS."""


@dataclass(frozen=True, slots=True)
class WebParts:
    """Everything the cabinet gets from the service: ``publish.web.WebOptions`` is built
    from it, and tests hand it to a stand-in app instead."""

    store_url: str
    session_secret: str
    base_path: str
    secure_cookies: bool
    trusted_proxies: tuple[str, ...]
    stale_after_seconds: float
    grading: GradingSection
    request_resync: Callable[[str | None], None]
    fetch_attachment: FetchAttachment


WebAppFactory = Callable[[WebParts], ASGIApp]


def cabinet_app(parts: WebParts) -> ASGIApp:
    """The cabinet: ``publish.web.create_web_app`` with the service's settings."""
    # Imported here: the cabinet loads its templates, which no other command needs.
    from publish.web import WebOptions, create_web_app

    options = WebOptions(
        store_url=parts.store_url,
        session_secret=parts.session_secret,
        base_path=parts.base_path,
        secure_cookies=parts.secure_cookies,
        trusted_proxies=parts.trusted_proxies,
        stale_after_seconds=parts.stale_after_seconds,
        grading_rules=parts.grading.rules(),
        request_resync=parts.request_resync,
        fetch_attachment=parts.fetch_attachment,
    )
    return create_web_app(options)


# --- the session secret ------------------------------------------------------------------


def session_secret(config: AppConfig) -> str:
    """``web.session_secret``, or the one kept beside a SQLite store (made on first use).

    A generated secret is kept, not made anew per start, so that a restart does not log
    every family out. With PostgreSQL there is no store file to keep it beside, and
    several servers must share one: it must then be configured.
    """
    given = config.web.session_secret.get_secret_value()
    if given:
        return given
    path = session_secret_path(config.store.url)
    if path is None:
        raise ConfigError(
            "web.session_secret: required with a PostgreSQL store (every server must sign "
            f"sessions alike) — set {env_var_name('web', 'session_secret')} to 32 or more "
            "random characters",
            key="web.session_secret",
        )
    return _kept_secret(path)


def session_secret_path(store_url: str) -> Path | None:
    """``<store file>.session-secret`` for a SQLite file store; ``None`` otherwise."""
    url = make_url(store_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database + SESSION_SECRET_SUFFIX)


def _kept_secret(path: Path) -> str:
    try:
        # O_EXCL: two processes starting at once agree on the first one written.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ServiceError(
            f"cannot create {path} ({exc.strerror}) — set web.session_secret instead"
        ) from None
    else:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
        log.info("serve.session_secret_created", path=str(path))
    try:
        kept = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ServiceError(f"cannot read {path} ({exc}) — delete it to make a new one") from None
    if len(kept) < MIN_SECRET_LENGTH:
        raise ServiceError(f"{path} holds no usable secret — delete it to make a new one")
    return kept


# --- the ASGI app ------------------------------------------------------------------------


def ops_paths(base_path: str) -> tuple[str, ...]:
    """``/healthz`` … at the root (probes on the host) and under ``base_path`` (via a proxy)."""
    prefix = base_path.rstrip("/")
    paths = list(OPS_PATHS)
    if prefix:
        paths += [prefix + path for path in OPS_PATHS]
    return tuple(paths)


class _Dispatcher:
    """Health and metrics here, everything else — lifespan included — to the cabinet.

    Not a Starlette ``Mount``: a mounted app never sees lifespan events, and the cabinet
    may need its start-up and shut-down.
    """

    def __init__(self, ops: ASGIApp, web: ASGIApp, paths: tuple[str, ...]) -> None:
        self.ops = ops
        self.web = web
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths:
            await self.ops(scope, receive, send)
        else:
            await self.web(scope, receive, send)


def compose_app(
    web: ASGIApp,
    *,
    store: Store,
    metrics: ServiceMetrics,
    base_path: str,
    metrics_token: str,
) -> ASGIApp:
    """The whole web side: request metrics around health, metrics and the cabinet.

    X-Forwarded-* headers reach the cabinet untouched: it alone decides, from
    ``web.trusted_proxies``, whom to believe (``publish.web.proxy``). ``/metrics`` needs
    no client address beyond "loopback and not relayed" (:func:`is_loopback_request`).
    """
    endpoints = {
        "/healthz": healthz,
        "/readyz": readyz_endpoint(store),
        "/metrics": metrics_endpoint(metrics, metrics_token),
    }
    paths = ops_paths(base_path)
    routes = [Route(path, endpoints["/" + path.rsplit("/", 1)[1]]) for path in paths]
    app: ASGIApp = _Dispatcher(Starlette(routes=routes), web, paths)
    return WebMetricsMiddleware(app, metrics)


# --- the service -------------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling (the service stops it), which tells when it
    has started."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises a caught SIGTERM after its shutdown, which would end the
        # process with -15 before the scheduler has stopped.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        except SystemExit:
            # uvicorn exits the process when the app's start-up fails; a SystemExit in a
            # task would tear the event loop down past the scheduler. ``started`` stays
            # False and the service reports it.
            self.should_exit = True
        finally:
            self.ready.set()


def listen_socket(host: str, port: int) -> socket.socket:
    """A bound socket for ``host:port``, or a :class:`ServiceError` saying what to change.

    Bound here rather than by uvicorn, which would ``sys.exit`` on a busy port.
    """
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ServiceError(f"cannot listen on {host}:{port}: {exc} — check web.host") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ServiceError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} — is another server "
            "using the port? Set web.port or stop it"
        ) from None
    return sock


class Service:
    """The running service. ``await service.run(stop)`` serves until ``stop`` is set.

    ``web_app`` builds the cabinet (tests pass a stand-in); ``sock`` is a bound socket
    to serve on (tests bind port 0), else ``web.host:web.port`` is bound.
    """

    def __init__(
        self,
        config: AppConfig,
        *,
        web_app: WebAppFactory = cabinet_app,
        sock: socket.socket | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self._web_app = web_app
        self._sock = sock
        self._clock = clock
        self._listeners: list[Callable[[JobOutcome], None]] = []
        self._on_ready: list[Callable[[], None]] = []
        self._on_stopping: list[Callable[[], None]] = []
        self._force = asyncio.Event()
        self.metrics = ServiceMetrics()
        self.scheduler: SyncScheduler | None = None
        self.url = ""
        self.ready = asyncio.Event()
        """Set once the web answers and the scheduler runs."""

    def on_job_done(self, listener: Callable[[JobOutcome], None]) -> None:
        """Call ``listener`` after every sync job (the demo prints; tests wait on it)."""
        self._listeners.append(listener)

    def on_ready(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the web answers and the schedule runs (:attr:`url` set)."""
        self._on_ready.append(callback)

    def on_stopping(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when a stop begins (running syncs may still take a while)."""
        self._on_stopping.append(callback)

    def force_stop(self) -> None:
        """Cancel running syncs now instead of waiting for them (a second Ctrl-C)."""
        self._force.set()

    async def run(self, stop: asyncio.Event) -> bool:
        """Serve until ``stop`` is set; True when every running sync finished by itself."""
        config = self.config
        sock = self._sock or listen_socket(config.web.host, config.web.port)
        store = Store(config.store.url)
        try:
            await asyncio.to_thread(store.upgrade)
            secret = session_secret(config)
            async with KrosClient(config.kros_client_settings()) as client:
                return await self._serve(stop, sock, store, client, secret)
        finally:
            store.dispose()
            sock.close()

    async def _serve(
        self,
        stop: asyncio.Event,
        sock: socket.socket,
        store: Store,
        client: KrosClient,
        secret: str,
    ) -> bool:
        config = self.config
        school_ids = list(config.kros.school_ids)
        self.metrics.watch_store(store, school_ids, self._clock)
        self.metrics.watch_kros_requests(lambda: client.stats.by_status)
        quarantine = QuarantineWatch(store, self.metrics, config.sync.quarantine_alert_rate)

        def run_sync(options: SyncOptions) -> Awaitable[RunSummary]:
            # An engine per run: its lease holder and reference index are per run.
            return SyncEngine(store, client, clock=self._clock).run(options)

        scheduler = SyncScheduler(
            config.schedule,
            school_ids,
            SyncOptions(
                school_ids=school_ids,
                overlap_seconds=config.kros.overlap_seconds,
                lease_seconds=config.sync.lease_seconds,
                archive_days=config.sync.raw_payload_retention_days,
            ),
            run_sync,
            metrics=self.metrics,
            after_run=quarantine.check,
        )
        for listener in self._listeners:
            scheduler.add_listener(listener)
        self.scheduler = scheduler

        async def fetch_attachment(_school_id: str, url: str) -> tuple[bytes, str]:
            attachment = await client.download_attachment(url)
            return attachment.content, attachment.content_type

        web = self._web_app(
            WebParts(
                store_url=config.store.url,
                session_secret=secret,
                base_path=config.web.base_path,
                secure_cookies=config.web.secure_cookies,
                trusted_proxies=config.web.trusted_proxies,
                stale_after_seconds=config.web.stale_after_seconds,
                grading=config.grading,
                request_resync=scheduler.request_resync,
                fetch_attachment=fetch_attachment,
            )
        )
        app = compose_app(
            web,
            store=store,
            metrics=self.metrics,
            base_path=config.web.base_path,
            metrics_token=config.web.metrics_token.get_secret_value(),
        )
        # The cabinet renders its pages in anyio's thread pool. Python runs one of them at
        # a time anyway, and 40 threads (anyio's default) contending for the GIL and the
        # store's connections served fewer pages, later: bench/cabinet.py measured p95
        # 1.6 s with 40 and 0.09 s with 2 for 50 guardians at once on SQLite.
        anyio.to_thread.current_default_thread_limiter().total_tokens = config.web.threads
        server = _Server(_uvicorn_config(app))
        server_task = asyncio.create_task(server.serve(sockets=[sock]), name="web")
        await _first_of(server.ready.wait(), server_task)
        if not server.started:
            await _quietly(server_task)
            raise ServiceError("the web did not start — see the log lines above")
        host, port = sock.getsockname()[:2]
        self.url = f"http://{_url_host(host)}:{port}{config.web.base_path}"
        scheduler.start()
        log.info("serve.started", url=self.url, pid=os.getpid(), schools=school_ids)
        self.ready.set()
        for callback in self._on_ready:
            callback()

        await _first_of(stop.wait(), server_task)
        web_failed = not stop.is_set()  # the web ended by itself: stop the rest, then fail
        if web_failed:
            log.error("serve.web_ended", hint="stopping the schedule too")
        log.info("serve.stopping")
        for callback in self._on_stopping:
            callback()
        server.should_exit = True
        finished = await self._stop_scheduler(scheduler)
        await _quietly(server_task)
        log.info("serve.stopped", syncs_finished=finished)
        if web_failed:
            raise ServiceError("the web stopped by itself — see the log lines above")
        return finished

    async def _stop_scheduler(self, scheduler: SyncScheduler) -> bool:
        timeout = self.config.schedule.stop_timeout_seconds
        stopping = asyncio.create_task(scheduler.stop(timeout))
        forced = asyncio.create_task(self._force.wait())
        await asyncio.wait({stopping, forced}, return_when=asyncio.FIRST_COMPLETED)
        if not stopping.done():
            log.warning("serve.force_stop")
            stopping.cancel()
            await _quietly(stopping)
            await scheduler.stop(0)
            return False
        forced.cancel()
        return stopping.result()


def _uvicorn_config(app: ASGIApp) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        lifespan="auto",
        ws="none",
        # The cabinet believes X-Forwarded-* from web.trusted_proxies only; uvicorn's
        # default would believe them from any request of 127.0.0.1.
        proxy_headers=False,
        server_header=False,
        access_log=False,  # request lines carry query strings; metrics count requests
        timeout_graceful_shutdown=_SERVER_STOP_SECONDS,
        # Logging is service.logging's: uvicorn must not install handlers or levels.
        log_config=None,
        log_level=None,
    )


async def _first_of(waiting: Awaitable[Any], task: asyncio.Task[Any]) -> None:
    """Wait for ``waiting`` or for ``task`` to end, whichever comes first."""
    waiter = asyncio.ensure_future(waiting)
    await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    if not waiter.done():
        waiter.cancel()
        await _quietly(waiter)


async def _quietly(task: asyncio.Future[Any]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


# --- the process ---------------------------------------------------------------------------


def run_service(
    config: AppConfig,
    *,
    web_app: WebAppFactory = cabinet_app,
    sock: socket.socket | None = None,
    prepare: Callable[[Service], None] | None = None,
) -> bool:
    """Serve until SIGTERM or SIGINT; True when every running sync finished by itself.

    ``sock``: a socket already bound (the demo binds its port before its first sync).
    ``prepare`` sees the service before it starts (the demo adds its listeners).
    """
    service = Service(config, web_app=web_app, sock=sock)
    if prepare is not None:
        prepare(service)
    return asyncio.run(_serve_until_signalled(service))


async def _serve_until_signalled(service: Service) -> bool:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: signal.Signals) -> None:
        if stop.is_set():
            log.warning("serve.signal_again", signal=signum.name, action="cancelling syncs")
            service.force_stop()
            return
        log.info("serve.signal", signal=signum.name)
        stop.set()

    handled = (signal.SIGTERM, signal.SIGINT)
    for signum in handled:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        return await service.run(stop)
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
