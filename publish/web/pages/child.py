"""A student's journal, as their guardian, the student or their class teacher sees it.

Every page here is declared with ``STUDENT_PAGE``: by the time a handler runs, the viewer
has been allowed to see ``ctx.child`` (publish/web/access.py), with consent in force for
a guardian.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from publish.accounts import Role
from publish.forecast import Forecast, forecast
from publish.queries.homework import AttachmentSource, attachment_for, homework_due
from publish.queries.marks import (
    ATTENDANCE_MEANINGS,
    WORK_KINDS,
    period_attendance,
    period_marks,
)
from publish.queries.periods import PeriodCard, choose_period, class_periods, year_period
from publish.queries.recommendations import student_recommendations
from publish.queries.results import FINAL_KINDS, student_exam_results, student_final_grades
from publish.queries.school_calendar import (
    CONTROL_WORK_KINDS,
    holidays_for,
    period_control_works,
)
from publish.queries.teachers import GROUP_KINDS, student_teachers
from publish.queries.timetable import lessons_left_by_subject, week_start, week_timetable
from publish.web.access import guardian_children
from publish.web.context import STUDENT_PAGE, PageContext, PageSpec

SECTIONS: tuple[tuple[str, str], ...] = (
    ("marks", "Оценки"),
    ("timetable", "Расписание"),
    ("homework", "Домашние задания"),
    ("control-works", "Контрольные работы"),
    ("forecast", "Прогноз"),
    ("results", "Итоговые отметки"),
    ("teachers", "Учителя"),
    ("holidays", "Каникулы"),
    ("recommendations", "Рекомендации"),
)
_PREFIX = "/s/{school_id}/{student_id}"


def child_base(ctx: PageContext) -> str:
    return f"/s/{quote(ctx.child.school_id)}/{quote(ctx.child.source_id)}"


def _render(ctx: PageContext, section: str, template: str, title: str, **values: Any) -> Response:
    children = []
    if ctx.account.role is Role.GUARDIAN:
        children = [entry for entry in guardian_children(ctx.conn, ctx.account)]
    return ctx.render(
        template,
        title=f"{title} — {ctx.child.name}",
        heading=title,
        nav_section=section,
        sections=SECTIONS,
        child_base=child_base(ctx),
        children=children,
        **values,
    )


def _period(ctx: PageContext) -> tuple[list[PeriodCard], PeriodCard | None]:
    periods = class_periods(ctx.conn, ctx.child.school_id, ctx.child.class_source_id)
    return periods, choose_period(periods, ctx.query("period"), ctx.today)


def _week(ctx: PageContext) -> date:
    requested = ctx.query("week")
    if requested:
        try:
            return week_start(date.fromisoformat(requested))
        except ValueError:
            pass
    today = ctx.today
    # On a weekend the coming week is what a family plans for.
    return week_start(today + timedelta(days=2) if today.weekday() >= 5 else today)


def child_home(ctx: PageContext) -> Response:
    return ctx.redirect(child_base(ctx) + "/marks")


def marks_page(ctx: PageContext) -> Response:
    periods, period = _period(ctx)
    subjects = period_marks(ctx.conn, ctx.child, period, group_ids=ctx.group_ids) if period else []
    attendance = (
        period_attendance(ctx.conn, ctx.child, period.starts_on, period.ends_on) if period else None
    )
    return _render(
        ctx,
        "marks",
        "child/marks.html",
        "Оценки",
        periods=periods,
        period=period,
        subjects=subjects,
        attendance=attendance,
        meanings=ATTENDANCE_MEANINGS,
        work_kinds=WORK_KINDS,
    )


def timetable_page(ctx: PageContext) -> Response:
    monday = _week(ctx)
    days = week_timetable(ctx.conn, ctx.child, ctx.group_ids, monday)
    holidays = holidays_for(
        ctx.conn, ctx.child.school_id, ctx.child.grade, monday, monday + timedelta(days=6)
    )
    for day in days:
        for holiday in holidays:
            if holiday.starts_on <= day.date <= holiday.ends_on:
                day.holiday = holiday.title
    return _render(
        ctx,
        "timetable",
        "child/timetable.html",
        "Расписание",
        days=days,
        monday=monday,
        previous_week=monday - timedelta(days=7),
        next_week=monday + timedelta(days=7),
        this_week=week_start(ctx.today),
    )


def homework_page(ctx: PageContext) -> Response:
    monday = _week(ctx)
    items = homework_due(ctx.conn, ctx.child, ctx.group_ids, monday, monday + timedelta(days=6))
    return _render(
        ctx,
        "homework",
        "child/homework.html",
        "Домашние задания",
        items=items,
        monday=monday,
        previous_week=monday - timedelta(days=7),
        next_week=monday + timedelta(days=7),
        this_week=week_start(ctx.today),
    )


def control_works_page(ctx: PageContext) -> Response:
    periods, period = _period(ctx)
    works = period_control_works(ctx.conn, ctx.child, ctx.group_ids, period) if period else []
    return _render(
        ctx,
        "control-works",
        "child/control_works.html",
        "Контрольные работы",
        periods=periods,
        period=period,
        works=works,
        kinds=CONTROL_WORK_KINDS,
    )


@dataclass(frozen=True, slots=True)
class SubjectForecast:
    subject: str
    forecast: Forecast
    lessons_left: int


def forecast_page(ctx: PageContext) -> Response:
    periods, period = _period(ctx)
    rows: list[SubjectForecast] = []
    if period is not None:
        subjects = period_marks(ctx.conn, ctx.child, period, group_ids=ctx.group_ids)
        left = lessons_left_by_subject(ctx.conn, ctx.child, ctx.group_ids, period, ctx.today)
        for subject in subjects:
            lessons_left = left.get(subject.subject_source_id, 0)
            rows.append(
                SubjectForecast(
                    subject.subject,
                    forecast(
                        subject.grading_marks,
                        rules=ctx.options.grading_rules,
                        lessons_left=lessons_left,
                        period_kind=period.kind,
                    ),
                    lessons_left,
                )
            )
    return _render(
        ctx,
        "forecast",
        "child/forecast.html",
        "Прогноз отметок за период",
        periods=periods,
        period=period,
        rows=rows,
        rules=ctx.options.grading_rules,
    )


def results_page(ctx: PageContext) -> Response:
    return _render(
        ctx,
        "results",
        "child/results.html",
        "Итоговые отметки и экзамены",
        grades=student_final_grades(ctx.conn, ctx.child),
        exams=student_exam_results(ctx.conn, ctx.child),
        kinds=FINAL_KINDS,
    )


def teachers_page(ctx: PageContext) -> Response:
    _, period = _period(ctx)
    return _render(
        ctx,
        "teachers",
        "child/teachers.html",
        "Учителя",
        teachers=student_teachers(ctx.conn, ctx.child, ctx.group_ids, period),
        group_kinds=GROUP_KINDS,
    )


def holidays_page(ctx: PageContext) -> Response:
    year = year_period(ctx.conn, ctx.child.school_id, ctx.today)
    start, end = (year.starts_on, year.ends_on) if year else (ctx.today, ctx.today)
    # Summer holidays start the day after the year's last lesson: look a season ahead.
    items = holidays_for(
        ctx.conn, ctx.child.school_id, ctx.child.grade, start, end + timedelta(days=100)
    )
    return _render(ctx, "holidays", "child/holidays.html", "Каникулы", year=year, holidays=items)


def recommendations_page(ctx: PageContext) -> Response:
    return _render(
        ctx,
        "recommendations",
        "child/recommendations.html",
        "Рекомендации учителей",
        items=student_recommendations(ctx.conn, ctx.child),
    )


def _find_attachment(ctx: PageContext, homework_id: str, position: int) -> AttachmentSource | None:
    with ctx.cabinet.store.read() as connection:
        return attachment_for(connection, ctx.child, ctx.group_ids, homework_id, position)


async def attachment_download(ctx: PageContext) -> Response:
    """A homework file, fetched from KROS through the adapter (families cannot reach KROS)."""
    try:
        position = int(ctx.path_param("position"))
    except ValueError:
        return ctx.cabinet.not_found(ctx)
    source = await run_in_threadpool(_find_attachment, ctx, ctx.path_param("homework_id"), position)
    if source is None:
        return ctx.cabinet.not_found(ctx)
    fetch = ctx.options.fetch_attachment
    if fetch is None:
        return ctx.render(
            "error.html",
            status=503,
            title="Файл пока недоступен",
            message="Загрузка вложений из КРОС сейчас не настроена. Попросите файл у учителя "
            "или попробуйте позже.",
        )
    try:
        content, content_type = await fetch(ctx.child.school_id, source.url)
    except Exception:  # whatever KROS or the network did: a page, never a traceback
        return ctx.render(
            "error.html",
            status=502,
            title="Не удалось получить файл",
            message="КРОС не отдал файл. Попробуйте ещё раз через несколько минут.",
        )
    filename = quote(source.name)
    return Response(
        content,
        media_type=content_type or "application/octet-stream",
        headers={
            # Always a download: a file from KROS never renders as a page of the cabinet.
            "Content-Disposition": f"attachment; filename*=UTF-8''{filename}",
        },
    )


PAGES = (
    PageSpec(_PREFIX, child_home, "child", STUDENT_PAGE),
    PageSpec(_PREFIX + "/marks", marks_page, "child_marks", STUDENT_PAGE),
    PageSpec(_PREFIX + "/timetable", timetable_page, "child_timetable", STUDENT_PAGE),
    PageSpec(_PREFIX + "/homework", homework_page, "child_homework", STUDENT_PAGE),
    PageSpec(
        _PREFIX + "/homework/{homework_id}/attachments/{position}",
        attachment_download,
        "child_attachment",
        STUDENT_PAGE,
    ),
    PageSpec(_PREFIX + "/control-works", control_works_page, "child_control_works", STUDENT_PAGE),
    PageSpec(_PREFIX + "/forecast", forecast_page, "child_forecast", STUDENT_PAGE),
    PageSpec(_PREFIX + "/results", results_page, "child_results", STUDENT_PAGE),
    PageSpec(_PREFIX + "/teachers", teachers_page, "child_teachers", STUDENT_PAGE),
    PageSpec(_PREFIX + "/holidays", holidays_page, "child_holidays", STUDENT_PAGE),
    PageSpec(
        _PREFIX + "/recommendations", recommendations_page, "child_recommendations", STUDENT_PAGE
    ),
)
