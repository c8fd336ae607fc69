"""The administrator's pages: sync status, quarantine, manual resync, accounts and
invitations, the read API's tokens."""

from __future__ import annotations

from starlette.responses import Response

from publish.accounts import (
    ROLE_TITLES,
    AccountError,
    PersonRef,
    Role,
    create_api_token,
    create_invitation,
    list_accounts,
    list_api_tokens,
    revoke_api_token,
)
from publish.queries.people import people_names, school_ids
from publish.web.context import PageContext, PageSpec, only, writing
from sync.quarantine import pending
from sync.status import stream_statuses

ADMIN = only(Role.ADMIN)
# The KROS person each invitable role speaks for.
_PERSON_KIND = {Role.GUARDIAN: "guardian", Role.STUDENT: "student", Role.CLASS_TEACHER: "teacher"}
_NOTICES = {
    "requested": "Синхронизация запрошена. Свежие данные появятся через несколько минут.",
    "unavailable": "Ручная синхронизация недоступна в этом запуске (нет планировщика).",
    "failed": "Не удалось запросить синхронизацию: смотрите журнал службы.",
}


def status_page(ctx: PageContext) -> Response:
    schools = school_ids(ctx.conn)
    statuses = stream_statuses(ctx.conn, schools, ctx.now)
    return ctx.render(
        "admin/status.html",
        title="Синхронизация с КРОС",
        schools=schools,
        statuses=statuses,
        notice=_NOTICES.get(ctx.query("resync") or ""),
        resync_available=ctx.options.request_resync is not None,
    )


def quarantine_page(ctx: PageContext) -> Response:
    return ctx.render("admin/quarantine.html", title="Карантин", records=pending(ctx.conn))


def resync(ctx: PageContext) -> Response:
    request_resync = ctx.options.request_resync
    if request_resync is None:
        return ctx.redirect("/admin?resync=unavailable")
    chosen = ctx.form.get("school_id") or None
    if chosen is not None and chosen not in school_ids(ctx.conn):
        return ctx.render(
            "error.html",
            status=400,
            title="Неизвестная школа",
            message="Такой школы нет в хранилище.",
        )
    try:
        request_resync(chosen)
    except Exception:  # the scheduler's trouble is logged there; the page just says so
        return ctx.redirect("/admin?resync=failed")
    return ctx.redirect("/admin?resync=requested")


def accounts_page(ctx: PageContext) -> Response:
    return _accounts(ctx, error=None)


def _accounts(ctx: PageContext, *, error: str | None, status: int = 200) -> Response:
    return ctx.render(
        "admin/accounts.html",
        status=status,
        title="Учётные записи и приглашения",
        accounts=list_accounts(ctx.conn),
        schools=school_ids(ctx.conn),
        roles=ROLE_TITLES,
        invitable=_PERSON_KIND,
        error=error,
        form=ctx.form,
    )


def invitation_submit(ctx: PageContext) -> Response:
    try:
        role = Role(ctx.form.get("role", ""))
    except ValueError:
        return _accounts(ctx, error="Выберите роль.", status=400)
    people: list[PersonRef] = []
    display_name = ctx.form.get("display_name", "").strip()
    kind = _PERSON_KIND.get(role)
    if kind is not None:
        school = ctx.form.get("school_id", "")
        person_id = ctx.form.get("person_id", "").strip()
        names = people_names(ctx.conn, school, [person_id], kind=kind) if person_id else {}
        if person_id not in names:
            return _accounts(ctx, error="В этой школе нет такого человека в КРОС.", status=400)
        people = [PersonRef(school, kind, person_id)]
        display_name = display_name or names[person_id]
    if not display_name:
        return _accounts(ctx, error="Укажите, кому выдаётся приглашение.", status=400)
    try:
        with writing(ctx.cabinet) as connection:
            code = create_invitation(
                connection,
                role=role,
                people=people,
                display_name=display_name,
                login=ctx.form.get("login", "").strip() or None,
                now=ctx.now,
            )
    except AccountError as exc:
        return _accounts(ctx, error=str(exc), status=400)
    return ctx.render(
        "admin/invitation.html",
        title="Приглашение",
        code=code,
        role=role,
        display_name=display_name,
        invite_url=str(ctx.request.base_url).rstrip("/") + ctx.url("/invite"),
    )


def api_tokens_page(ctx: PageContext) -> Response:
    return ctx.render(
        "admin/api_tokens.html",
        title="Токены API",
        tokens=list_api_tokens(ctx.conn),
        created=None,
        error=None,
    )


def api_token_submit(ctx: PageContext) -> Response:
    name = ctx.form.get("name", "").strip()[:100]
    try:
        with writing(ctx.cabinet) as connection:
            token = create_api_token(connection, name, now=ctx.now)
    except AccountError as exc:
        return ctx.render(
            "admin/api_tokens.html",
            status=400,
            title="Токены API",
            tokens=list_api_tokens(ctx.conn),
            created=None,
            error=str(exc),
        )
    return ctx.render(
        "admin/api_tokens.html",
        title="Токены API",
        tokens=list_api_tokens(ctx.conn),
        created=(name, token),
        error=None,
    )


def api_token_revoke(ctx: PageContext) -> Response:
    with writing(ctx.cabinet) as connection:
        revoke_api_token(connection, ctx.form.get("name", ""), now=ctx.now)
    return ctx.redirect("/admin/api-tokens")


PAGES = (
    PageSpec("/admin", status_page, "admin", ADMIN),
    PageSpec("/admin/quarantine", quarantine_page, "admin_quarantine", ADMIN),
    PageSpec("/admin/resync", resync, "admin_resync", ADMIN, methods=("POST",)),
    PageSpec("/admin/accounts", accounts_page, "admin_accounts", ADMIN),
    PageSpec("/admin/invitations", invitation_submit, "admin_invitation", ADMIN, methods=("POST",)),
    PageSpec("/admin/api-tokens", api_tokens_page, "admin_api_tokens", ADMIN),
    PageSpec(
        "/admin/api-tokens", api_token_submit, "admin_api_token_create", ADMIN, methods=("POST",)
    ),
    PageSpec(
        "/admin/api-tokens/revoke",
        api_token_revoke,
        "admin_api_token_revoke",
        ADMIN,
        methods=("POST",),
    ),
)
