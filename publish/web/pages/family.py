"""The guardian's list of children: the switcher between them, across schools."""

from __future__ import annotations

from starlette.responses import Response

from publish.accounts import Role
from publish.queries.class_sheet import CONSENT_REASONS
from publish.web.access import guardian_children
from publish.web.context import PageContext, PageSpec, only


def children_page(ctx: PageContext) -> Response:
    entries = guardian_children(ctx.conn, ctx.account)
    return ctx.render("children.html", title="Мои дети", entries=entries, reasons=CONSENT_REASONS)


PAGES = (PageSpec("/children", children_page, "children", only(Role.GUARDIAN)),)
