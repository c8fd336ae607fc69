"""Error pages in Russian, never a traceback; JSON under the read API."""

from __future__ import annotations

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from publish.api import JSONResponse
from publish.web.context import Cabinet

log = structlog.get_logger("publish.web")

_PAGES = {
    404: ("Страница не найдена", "Такой страницы нет. Проверьте адрес или вернитесь на главную."),
    405: ("Так нельзя", "Эта страница не принимает такой запрос."),
    500: (
        "Что-то пошло не так",
        "На сервере произошла ошибка. Мы уже записали её; попробуйте обновить страницу "
        "через минуту.",
    ),
}


def _is_api(cabinet: Cabinet, request: Request) -> bool:
    return request.url.path.startswith(cabinet.url("/api/"))


def handlers(cabinet: Cabinet) -> dict[int | type[Exception], object]:
    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if _is_api(cabinet, request):
            return JSONResponse(
                {"error": "not found" if status == 404 else "error"}, status_code=status
            )
        title, message = _PAGES.get(status, _PAGES[404] if status < 500 else _PAGES[500])
        return cabinet.error_response(status, title, message)

    async def server_error(request: Request, exc: Exception) -> Response:
        # The exception goes to the log (with its traceback), never to the page.
        log.error(
            "web.unhandled_error", path=request.url.path, error=type(exc).__name__, exc_info=exc
        )
        if _is_api(cabinet, request):
            return JSONResponse({"error": "internal error"}, status_code=500)
        title, message = _PAGES[500]
        return cabinet.error_response(500, title, message)

    return {HTTPException: http_error, Exception: server_error}
