"""Logging in and out, redeeming an invitation code, and the home page of each role."""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response

from publish.accounts import (
    Account,
    AccountError,
    Role,
    check_credentials,
    find_invitation,
    normalize_login,
    redeem_invitation,
    upgrade_password_hash,
)
from publish.web import csrf
from publish.web.context import ANY_ROLE, PUBLIC, PageContext, PageSpec, writing
from publish.web.formatting import plural_word
from publish.web.sessions import COOKIE, end_session, start_session
from publish.web.throttle import INVITATION_LOGIN, record_attempt, retry_after

HOME_OF_ROLE: dict[Role, str] = {
    Role.GUARDIAN: "/children",
    Role.CLASS_TEACHER: "/classes",
    Role.SECRETARY: "/consents",
    Role.ADMIN: "/admin",
}


def safe_next(value: str | None) -> str | None:
    """A path inside the cabinet to return to after login; anything else is dropped
    (``//evil.example`` or ``https://…`` would make the login page an open redirect)."""
    if not value or len(value) > 500 or not value.startswith("/"):
        return None
    if value.startswith("//") or "\\" in value or any(ord(ch) < 32 for ch in value):
        return None
    return value


def _address(ctx: PageContext) -> str:
    client = ctx.request.client
    return client.host if client else "unknown"


def _wait_text(wait: timedelta) -> str:
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return plural_word(minutes, "минуту", "минуты", "минут")


def home(ctx: PageContext) -> Response:
    account = ctx.account
    if account.role is Role.STUDENT:
        person = next((p for p in account.people if p.kind == "student"), None)
        if person is None:
            return ctx.render(
                "error.html",
                status=404,
                title="Нет данных",
                message="Учётная запись не связана с учеником. Обратитесь в школу.",
            )
        return ctx.redirect(f"/s/{person.school_id}/{person.source_id}/marks")
    return ctx.redirect(HOME_OF_ROLE[account.role])


def login_form(ctx: PageContext) -> Response:
    if ctx.viewer is not None:
        return ctx.redirect("/")
    return _login_page(ctx, login=ctx.query("login") or "", error=None)


def _login_page(ctx: PageContext, *, login: str, error: str | None, status: int = 200) -> Response:
    return ctx.render(
        "login.html",
        status=status,
        title="Вход",
        login=login,
        error=error,
        next=safe_next(ctx.query("next") or ctx.form.get("next")),
        created=ctx.query("created") == "1",
        ended=ctx.query("ended") == "1",
    )


def login_submit(ctx: PageContext) -> Response:
    login = normalize_login(ctx.form.get("login", ""))[:100]
    password = ctx.form.get("password", "")
    address = _address(ctx)
    policy = ctx.options.login_throttle
    wait = retry_after(ctx.conn, login, address, ctx.now, policy)
    if wait is not None:
        return _login_page(
            ctx,
            login=login,
            error=f"Слишком много неудачных попыток входа. Попробуйте через {_wait_text(wait)}.",
            status=429,
        )
    account = check_credentials(ctx.conn, login, password) if login and password else None
    with writing(ctx.cabinet) as connection:
        record_attempt(connection, login, address, ctx.now, succeeded=account is not None)
        if account is not None:
            upgrade_password_hash(connection, account.id, password)
            token = start_session(connection, account.id, ctx.now, ctx.cabinet.session_max_age())
    if account is None:
        return _login_page(ctx, login=login, error="Неверный логин или пароль.", status=400)
    return _logged_in(ctx, account, token, safe_next(ctx.form.get("next")) or "/")


def _logged_in(ctx: PageContext, account: Account, token: str, target: str) -> Response:
    ctx.set_cookies.append((COOKIE, token, ctx.options.session_max_age_seconds))
    ctx.delete_cookies.append(csrf.ANONYMOUS_COOKIE)
    return ctx.redirect(target)


def logout(ctx: PageContext) -> Response:
    token = ctx.request.cookies.get(COOKIE)
    if token:
        with writing(ctx.cabinet) as connection:
            end_session(connection, token)
    ctx.delete_cookies.append(COOKIE)
    return ctx.redirect("/login?ended=1")


def invite_form(ctx: PageContext) -> Response:
    return ctx.render(
        "invite.html", title="Вход по коду приглашения", code=ctx.query("code") or "", error=None
    )


def invite_submit(ctx: PageContext) -> Response:
    code = ctx.form.get("code", "").strip()[:40]
    password = ctx.form.get("password", "")
    address = _address(ctx)
    wait = retry_after(ctx.conn, INVITATION_LOGIN, address, ctx.now, ctx.options.login_throttle)

    def again(error: str, status: int) -> Response:
        return ctx.render(
            "invite.html", status=status, title="Вход по коду приглашения", code=code, error=error
        )

    if wait is not None:
        return again(f"Слишком много неверных кодов. Попробуйте через {_wait_text(wait)}.", 429)
    if password != ctx.form.get("password_again", ""):
        return again("Пароли не совпадают.", 400)
    if find_invitation(ctx.conn, code, ctx.now) is None:
        with writing(ctx.cabinet) as connection:
            record_attempt(connection, INVITATION_LOGIN, address, ctx.now, succeeded=False)
    try:
        with writing(ctx.cabinet) as connection:
            account = redeem_invitation(connection, code, password, now=ctx.now)
            token = start_session(connection, account.id, ctx.now, ctx.cabinet.session_max_age())
    except AccountError as exc:
        return again(str(exc), 400)
    ctx.set_cookies.append((COOKIE, token, ctx.options.session_max_age_seconds))
    ctx.delete_cookies.append(csrf.ANONYMOUS_COOKIE)
    # The page shows the login once more: the person will need it next time.
    return ctx.render("invite_done.html", title="Учётная запись создана", account=account)


PAGES = (
    PageSpec("/", home, "home", ANY_ROLE),
    PageSpec("/login", login_form, "login", PUBLIC),
    PageSpec("/login", login_submit, "login_submit", PUBLIC, methods=("POST",)),
    PageSpec("/logout", logout, "logout", ANY_ROLE, methods=("POST",)),
    PageSpec("/invite", invite_form, "invite", PUBLIC),
    PageSpec("/invite", invite_submit, "invite_submit", PUBLIC, methods=("POST",)),
)
