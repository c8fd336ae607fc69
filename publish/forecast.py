"""Прогноз итоговой отметки (regulation item 5): the likely period grade and what it takes.

The forecast reads the current marks of one student in one subject for the period and
says which grade their weighted average gives under the school's rules, whether there are
enough marks to be certified, and — as the open client XDnevnik does — how many more marks
of a given value and weight would lift the average to the next grade, bounded by the
lessons left (a student gets at most one mark a lesson). It says plainly when the next
grade can no longer be reached.

It is a forecast, labelled as such (:data:`FORECAST_LABEL`): the teacher sets the grade
and may decide otherwise (GRADING.md). Pure: marks and counts in, a value out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from mappings.codes import MarkKind
from publish.grading import (
    GradingRules,
    Mark,
    grade_from_average,
    numeric_marks,
    weighted_average,
)

FORECAST_LABEL = "Это прогноз по текущим отметкам: итоговую отметку выставляет учитель"

#: The mark values the forecast suggests: a student aims at «5» and «4», not at «3».
SUGGESTED_VALUES = (5, 4)
_PASS_FAIL = frozenset({MarkKind.PASS, MarkKind.FAIL})

#: Nouns for a number of marks of each value (одна пятёрка, две пятёрки, пять пятёрок).
MARK_NOUNS: dict[int, tuple[str, str, str]] = {
    5: ("пятёрка", "пятёрки", "пятёрок"),
    4: ("четвёрка", "четвёрки", "четвёрок"),
    3: ("тройка", "тройки", "троек"),
    2: ("двойка", "двойки", "двоек"),
    1: ("единица", "единицы", "единиц"),
}

#: «До конца …»: the genitive of each period kind (``mappings/dictionaries/kinds.toml``).
PERIOD_GENITIVE = {
    "quarter": "четверти",
    "half_year": "полугодия",
    "trimester": "триместра",
    "year": "года",
}

# Feminine, to agree with «пятёрка», «четвёрка»: «одна пятёрка», «две пятёрки».
_FEMININE_NUMBERS = (
    "ноль",
    "одна",
    "две",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
    "десять",
)


def plural(n: int, one: str, few: str, many: str) -> str:
    """The Russian form for a count: 1 урок, 2 урока, 5 уроков; 11–14 take ``many``.

    The form follows the last digit (1 → ``one``, 2–4 → ``few``, else ``many``), except
    that 11–14 in the last two digits always take ``many`` (111 уроков, 121 урок).
    """
    n = abs(n)
    if 11 <= n % 100 <= 14:
        return many
    last = n % 10
    if last == 1:
        return one
    if 2 <= last <= 4:
        return few
    return many


def marks_phrase(count: int, value: int) -> str:
    """«одна пятёрка», «две четвёрки», «12 пятёрок»: words up to ten, digits above."""
    one, few, many = MARK_NOUNS[value]
    number = _FEMININE_NUMBERS[count] if 0 <= count < len(_FEMININE_NUMBERS) else str(count)
    return f"{number} {plural(count, one, few, many)}"


def lessons_phrase(count: int) -> str:
    """«1 урок», «3 урока», «5 уроков»."""
    return f"{count} {plural(count, 'урок', 'урока', 'уроков')}"


@dataclass(frozen=True)
class Option:
    """One way to the next grade: ``count`` more marks of ``value`` with weight ``weight``."""

    value: int
    weight: int
    count: int

    @property
    def text(self) -> str:
        """«две пятёрки весом 1»."""
        return f"{marks_phrase(self.count, self.value)} весом {self.weight}"


@dataclass(frozen=True)
class Forecast:
    """The forecast of a period grade for one student and subject.

    ``current_average`` is the weighted average (``None`` without numeric marks);
    ``predicted_grade`` the grade it gives under the rules; ``marks_counted`` the marks
    that count (numeric ones, or «зач»/«незач» in a ``pass_fail`` subject, which has no
    average); ``enough_marks`` whether they reach ``minimum_marks``; ``released`` whether
    every mark is «осв». ``next_grade`` is the next grade up (``None`` at the top or
    without a prediction); ``to_reach_next`` every value × weight that reaches it within
    ``lessons_left`` with the fewest marks needed; ``reachable`` whether there is one.
    ``risk`` flags a predicted «2» or too few marks (a likely «н/а»). ``explanation`` is
    the sentence for the cabinet; ``label`` the reminder that the teacher decides.
    """

    current_average: float | None
    predicted_grade: int | None
    marks_counted: int
    enough_marks: bool
    released: bool
    pass_fail: bool
    next_grade: int | None
    to_reach_next: tuple[Option, ...]
    reachable: bool
    lessons_left: int
    risk: bool
    explanation: str
    label: str = FORECAST_LABEL


def forecast(
    marks: Sequence[Mark],
    *,
    rules: GradingRules,
    lessons_left: int,
    period_kind: str = "quarter",
) -> Forecast:
    """The forecast from the period's current ``marks`` and the ``lessons_left`` in it.

    ``lessons_left`` counts the lessons of the subject still to come in the period
    (:func:`count_lessons_left`); ``period_kind`` only names the period in the text.
    """
    if lessons_left < 0:
        raise ValueError(f"lessons_left must be ≥ 0, not {lessons_left}")
    counted = len(numeric_marks(marks))
    # A зачётный subject has «зач»/«незач» and no numbers: its marks count toward the
    # minimum, but there is no average to forecast from.
    pass_fail = counted == 0 and any(mark.kind in _PASS_FAIL for mark in marks)
    if pass_fail:
        counted = sum(1 for mark in marks if mark.kind in _PASS_FAIL)
    enough = counted >= rules.minimum_marks
    released = bool(marks) and all(mark.kind == MarkKind.RELEASED for mark in marks)
    current = weighted_average(marks)
    predicted = None if current is None else grade_from_average(current, rules)
    next_grade = None if predicted is None or released else _next_grade(predicted, rules)
    options = (
        ()
        if next_grade is None
        else options_to_reach(marks, grade=next_grade, rules=rules, lessons_left=lessons_left)
    )
    risk = not released and (predicted == 2 or not enough)
    explanation = _explain(
        rules=rules,
        counted=counted,
        released=released,
        pass_fail=pass_fail,
        predicted=predicted,
        next_grade=next_grade,
        options=options,
        lessons_left=lessons_left,
        period_kind=period_kind,
    )
    return Forecast(
        current_average=current,
        predicted_grade=predicted,
        marks_counted=counted,
        enough_marks=enough,
        released=released,
        pass_fail=pass_fail,
        next_grade=next_grade,
        to_reach_next=options,
        reachable=bool(options),
        lessons_left=lessons_left,
        risk=risk,
        explanation=explanation,
    )


def options_to_reach(
    marks: Iterable[Mark], *, grade: int, rules: GradingRules, lessons_left: int
) -> tuple[Option, ...]:
    """The fewest marks of each suggested value × weight that lift the average to ``grade``.

    Solved exactly, not by trial: with S = Σ mark × weight and W = Σ weight so far, n more
    marks of value v and weight w reach the threshold t when (S + n·v·w) / (W + n·w) ≥ t,
    i.e. n ≥ (t·W − S) / (w·(v − t)). A value not above t never gets there, however many
    marks; an option needing more marks than ``lessons_left`` is left out. The threshold
    is read as the decimal the config wrote (4.6, not the float nearest to it).
    """
    threshold = rules.threshold(grade)
    if threshold is None:
        return ()
    target = Fraction(repr(float(threshold)))
    total = weights = 0
    for mark in numeric_marks(marks):
        assert mark.number is not None  # numeric marks have one
        total += mark.number * mark.weight
        weights += mark.weight
    options = []
    for value in SUGGESTED_VALUES:
        if value <= target:
            continue
        for weight in rules.weights:
            # No numeric marks yet: a single mark above the threshold already reaches it.
            needed = max(1, math.ceil((target * weights - total) / (weight * (value - target))))
            if needed <= lessons_left:
                options.append(Option(value=value, weight=weight, count=needed))
    return tuple(options)


def count_lessons_left(lessons: Iterable[tuple[date, str]], *, today: date) -> int:
    """The lessons still to come from ``(date, status)`` pairs of the subject's period.

    A ``scheduled`` lesson from today on may still bring a mark; a conducted one already
    did and a cancelled one never will.
    """
    return sum(1 for day, status in lessons if status == "scheduled" and day >= today)


def _next_grade(grade: int, rules: GradingRules) -> int | None:
    higher = [known for known, _ in rules.thresholds if known > grade]
    return min(higher) if higher else None


def _explain(
    *,
    rules: GradingRules,
    counted: int,
    released: bool,
    pass_fail: bool,
    predicted: int | None,
    next_grade: int | None,
    options: tuple[Option, ...],
    lessons_left: int,
    period_kind: str,
) -> str:
    if released:
        return "Освобождение от занятий: вместо отметки за период ставится «осв»"
    parts = []
    if counted < rules.minimum_marks:
        parts.append(f"Мало отметок: нужно не меньше {rules.minimum_marks}, сейчас {counted}")
    if pass_fail:
        parts.append("Предмет оценивается «зач»/«незач»: средний балл не считается")
    if predicted is None:
        return ". ".join(parts) if parts else "Пока нет отметок"
    if next_grade is None:
        parts.append(f"Прогноз — «{predicted}»")
    elif options:
        chosen = _sentence_options(options)
        # The predicate agrees with the first alternative: нужна одна, нужны две, нужно пять.
        need = plural(chosen[0].count, "нужна", "нужны", "нужно")
        parts.append(f"Чтобы получить «{next_grade}», {need} ещё {_alternatives(chosen)}")
    else:
        parts.append(f"{_left_text(lessons_left, period_kind)}: «{next_grade}» уже недостижима")
    return ". ".join(parts)


def _sentence_options(options: tuple[Option, ...]) -> list[Option]:
    """The short version for a sentence: per value, the lightest way and the quickest one.

    «две пятёрки весом 1 или одна пятёрка весом 2»: the full list stays in the forecast
    for a table; a sentence with six alternatives is not read.
    """
    chosen: list[Option] = []
    for value in SUGGESTED_VALUES:
        of_value = [option for option in options if option.value == value]
        if not of_value:
            continue
        lightest = of_value[0]  # options come lightest weight first
        quickest = min(of_value, key=lambda option: (option.count, option.weight))
        chosen.append(lightest)
        if quickest != lightest:
            chosen.append(quickest)
    return chosen


def _alternatives(options: list[Option]) -> str:
    """«A», «A или B», «A, B или C»."""
    texts = [option.text for option in options]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " или " + texts[-1]


def _left_text(lessons_left: int, period_kind: str) -> str:
    period = PERIOD_GENITIVE.get(period_kind, "периода")
    if lessons_left == 0:
        return f"До конца {period} уроков не осталось"
    verb = plural(lessons_left, "остался", "осталось", "осталось")
    return f"До конца {period} {verb} {lessons_phrase(lessons_left)}"
