"""The class teacher's class view and the secretary's consent overview."""

from __future__ import annotations

from starlette.responses import Response

from publish.accounts import Role
from publish.queries.class_sheet import class_sheet
from publish.queries.marks import ATTENDANCE_MEANINGS
from publish.queries.people import ClassCard, all_classes, class_card, homeroom_classes, school_ids
from publish.queries.periods import choose_period, class_periods
from publish.web.context import CLASS_PAGE, PageContext, PageSpec, only


def classes_page(ctx: PageContext) -> Response:
    found: list[ClassCard] = []
    for school_id in sorted({p.school_id for p in ctx.account.people if p.kind == "teacher"}):
        found.extend(
            homeroom_classes(ctx.conn, school_id, ctx.account.ids_of("teacher", school_id))
        )
    if len(found) == 1:
        return ctx.redirect(f"/classes/{found[0].school_id}/{found[0].source_id}")
    return ctx.render("staff/classes.html", title="Мои классы", classes=found)


def class_page(ctx: PageContext) -> Response:
    card = ctx.klass
    assert card is not None  # CLASS_PAGE resolved it
    periods = class_periods(ctx.conn, card.school_id, card.source_id)
    period = choose_period(periods, ctx.query("period"), ctx.today)
    sheet = class_sheet(ctx.conn, card, period, today=ctx.today)
    return ctx.render(
        "staff/class.html",
        title=f"Класс {card.name}",
        sheet=sheet,
        periods=periods,
        period=period,
        meanings=ATTENDANCE_MEANINGS,
    )


def consents_page(ctx: PageContext) -> Response:
    schools = school_ids(ctx.conn)
    school = ctx.query("school")
    school = school if school in schools else (schools[0] if schools else None)
    classes = all_classes(ctx.conn, school) if school else []
    class_id = ctx.query("class")
    card = class_card(ctx.conn, school, class_id) if school and class_id else None
    sheet = class_sheet(ctx.conn, card, None, today=ctx.today) if card else None
    return ctx.render(
        "staff/consents.html",
        title="Согласия родителей",
        schools=schools,
        school=school,
        classes=classes,
        card=card,
        sheet=sheet,
    )


PAGES = (
    PageSpec("/classes", classes_page, "classes", only(Role.CLASS_TEACHER)),
    PageSpec("/classes/{school_id}/{class_id}", class_page, "class", CLASS_PAGE),
    PageSpec("/consents", consents_page, "consents", only(Role.SECRETARY)),
)
