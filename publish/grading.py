"""The grading rules the cabinet, reports and notifications share: averages, period grades,
results statistics and lessons against the curriculum.

Everything here is pure: values in, values out, no store and no clock. Schools differ in
their rules (a «5» from 4.5 in one, from 4.6 in another — GRADING.md), so the rules are a
:class:`GradingRules` value built from the config section ``[grading]``, never constants
scattered in templates. The cabinet, the reports and the notifications must agree on a
student's average to the last digit, which is why they all compute it here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from itertools import pairwise
from typing import TypeGuard

from mappings.codes import MarkKind

#: The grades a period grade can take from the average; below the lowest threshold it is «2».
THRESHOLD_GRADES = (5, 4, 3)
FAILING_GRADE = 2
#: Mark weights the store accepts (``mappings/collections/marks.toml``).
MIN_WEIGHT, MAX_WEIGHT = 1, 5
_KINDS = frozenset(kind.value for kind in MarkKind)
_RULE_KEYS = ("thresholds", "minimum_marks", "weights")


@dataclass(frozen=True)
class GradingRules:
    """A school's rules for turning marks into a period grade.

    ``thresholds`` pairs each grade with the weighted average from which it is given,
    highest first; an average below the last threshold gives «2». ``minimum_marks`` is the
    number of numeric marks below which a student is not certified («н/а»); 0 turns the
    check off. ``weights`` are the mark weights the forecast suggests (the school's usual
    answer, test and control-work weights).
    """

    thresholds: tuple[tuple[int, float], ...] = ((5, 4.5), (4, 3.5), (3, 2.5))
    minimum_marks: int = 3
    weights: tuple[int, ...] = (1, 2, 3)

    def __post_init__(self) -> None:
        _check_thresholds(self.thresholds)
        _check_minimum_marks(self.minimum_marks)
        _check_weights(self.weights)

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> GradingRules:
        """The rules of a config section ``[grading]``; missing keys keep their defaults.

        ``thresholds`` is either a table ``{5 = 4.6, 4 = 3.6, 3 = 2.6}`` (TOML makes the
        keys strings) or a list of pairs ``[[5, 4.6], [4, 3.6], [3, 2.6]]``. A wrong value
        raises :class:`ValueError` naming the key, so a typo stops the service at start-up
        instead of silently grading every student by the defaults.
        """
        unknown = sorted(set(data) - set(_RULE_KEYS))
        if unknown:
            raise ValueError(
                f"grading: unknown key(s) {', '.join(unknown)}; expected {', '.join(_RULE_KEYS)}"
            )
        defaults = cls()
        thresholds = (
            _parse_thresholds(data["thresholds"]) if "thresholds" in data else defaults.thresholds
        )
        minimum = data.get("minimum_marks", defaults.minimum_marks)
        if not _is_int(minimum):
            raise ValueError(f"grading.minimum_marks: must be an integer, not {minimum!r}")
        weights = _parse_weights(data["weights"]) if "weights" in data else defaults.weights
        return cls(thresholds=thresholds, minimum_marks=minimum, weights=weights)

    def threshold(self, grade: int) -> float | None:
        """The average from which ``grade`` is given (``None`` for «2», which has none)."""
        for known, average in self.thresholds:
            if known == grade:
                return average
        return None


@dataclass(frozen=True)
class Mark:
    """A current mark as the grading rules need it (a row of the ``marks`` table).

    ``kind`` is a :class:`~mappings.codes.MarkKind` value; only ``numeric`` marks have a
    ``number`` and count toward an average — «зач», «незач», «осв» and «н/а» do not.
    """

    number: int | None
    weight: int
    kind: str
    date: date

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"mark kind {self.kind!r} is not one of {', '.join(sorted(_KINDS))}")
        if self.kind == MarkKind.NUMERIC and (self.number is None or not 1 <= self.number <= 5):
            raise ValueError(f"a numeric mark needs a number from 1 to 5, not {self.number!r}")
        if not MIN_WEIGHT <= self.weight <= MAX_WEIGHT:
            raise ValueError(f"mark weight must be {MIN_WEIGHT}–{MAX_WEIGHT}, not {self.weight}")

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> Mark:
        """A mark from a ``marks`` row (``value_number``, ``weight``, ``value_kind``, ``date``)."""
        number, weight, kind, day = (
            row["value_number"],
            row["weight"],
            row["value_kind"],
            row["date"],
        )
        if number is not None and not _is_int(number):
            raise ValueError(f"marks.value_number must be an integer, not {number!r}")
        if not _is_int(weight):
            raise ValueError(f"marks.weight must be an integer, not {weight!r}")
        if not isinstance(kind, str):
            raise ValueError(f"marks.value_kind must be text, not {kind!r}")
        if not isinstance(day, date):
            raise ValueError(f"marks.date must be a date, not {day!r}")
        return cls(number=number, weight=weight, kind=kind, date=day)

    @property
    def counts(self) -> bool:
        """Whether the mark enters an average (numeric marks only)."""
        return self.kind == MarkKind.NUMERIC and self.number is not None


def numeric_marks(marks: Iterable[Mark]) -> list[Mark]:
    """The marks that count toward an average, in their order."""
    return [mark for mark in marks if mark.counts]


def average(marks: Iterable[Mark]) -> float | None:
    """The plain mean of the numeric marks, ignoring weights (``None`` without any)."""
    numbers = [_number(mark) for mark in marks if mark.counts]
    return sum(numbers) / len(numbers) if numbers else None


def weighted_average(marks: Iterable[Mark]) -> float | None:
    """Σ mark × weight / Σ weight over the numeric marks (``None`` without any).

    Computed as one division of two integers, so the result is the correctly rounded
    value of the exact fraction: 23/5 gives exactly the float the config's ``4.6`` reads
    as, and a «5 from 4.6» rule gives the «5».
    """
    exact = exact_weighted_average(marks)
    return None if exact is None else exact.numerator / exact.denominator


def exact_weighted_average(marks: Iterable[Mark]) -> Fraction | None:
    """The weighted average as an exact fraction, for comparisons that must not round."""
    total = weights = 0
    for mark in marks:
        if mark.counts:
            total += _number(mark) * mark.weight
            weights += mark.weight
    return Fraction(total, weights) if weights else None


def grade_from_average(avg: float, rules: GradingRules) -> int:
    """The period grade an average gives under ``rules``: the first threshold it reaches.

    No rounding before the comparison: 4.49 is not 4.5, whatever a calculator shows.
    """
    for grade, threshold in rules.thresholds:
        if avg >= threshold:
            return grade
    return FAILING_GRADE


# --- results statistics (regulation item 6) ----------------------------------------------


@dataclass(frozen=True)
class ClassStatistics:
    """The results of a class (or group) in a subject for a period, as schools report them.

    ``students`` counts every student, certified or not; a not certified student («н/а»)
    has not succeeded, so the shares are taken of all students, the usual school practice.
    ``success_rate`` is успеваемость — the share without a «2» (or «1»); ``quality_rate``
    is качество знаний — the share with «4» or «5». Shares are fractions of 1 (``None``
    for an empty class); ``average`` is the mean of the grades set (``None`` if none).
    ``distribution`` always has the keys 5, 4, 3, 2 (and 1 when some «1» was given).
    """

    students: int
    certified: int
    not_certified: int
    distribution: dict[int, int] = field(hash=False)
    success_rate: float | None
    quality_rate: float | None
    average: float | None


def class_statistics(grades: Iterable[int | None]) -> ClassStatistics:
    """Статистика по результатам: one period grade per student, ``None`` for «н/а».

    A deferred grade (отсрочка) is not a result yet: leave those students out and report
    them separately, or the class looks worse than it is until the deadline.
    """
    counts: Counter[int] = Counter()
    not_certified = 0
    for grade in grades:
        if grade is None:
            not_certified += 1
            continue
        if isinstance(grade, bool) or not isinstance(grade, int) or not 1 <= grade <= 5:
            raise ValueError(f"a period grade must be 1–5 or None, not {grade!r}")
        counts[grade] += 1
    certified = sum(counts.values())
    students = certified + not_certified
    distribution = {grade: counts[grade] for grade in (5, 4, 3, 2)}
    if counts[1]:
        distribution[1] = counts[1]
    succeeded = counts[5] + counts[4] + counts[3]
    good = counts[5] + counts[4]
    return ClassStatistics(
        students=students,
        certified=certified,
        not_certified=not_certified,
        distribution=distribution,
        success_rate=succeeded / students if students else None,
        quality_rate=good / students if students else None,
        average=sum(g * n for g, n in counts.items()) / certified if certified else None,
    )


# --- lessons against the curriculum (regulation item 6) ----------------------------------


@dataclass(frozen=True)
class PlanRow:
    """One lesson type of a subject's plan: planned, held, held − planned, held / planned %.

    ``percent`` is ``None`` when nothing was planned of that type (a held lesson of an
    unplanned type is a deviation to show, not a division by zero).
    """

    type: str
    planned: int
    held: int
    difference: int
    percent: float | None


def lessons_against_plan(
    planned_by_type: Mapping[str, int], held_by_type: Mapping[str, int]
) -> list[PlanRow]:
    """Выполнение учебного плана by lesson type: the plan's types first, then unplanned ones.

    ``planned_by_type`` is ``curriculum.by_type``; ``held_by_type`` counts the conducted
    lessons (:func:`count_held_by_type`). A type missing on one side counts 0 there.
    """
    rows = []
    types = list(planned_by_type) + [t for t in held_by_type if t not in planned_by_type]
    for lesson_type in types:
        planned = _count(planned_by_type.get(lesson_type, 0), "planned", lesson_type)
        held = _count(held_by_type.get(lesson_type, 0), "held", lesson_type)
        rows.append(_plan_row(lesson_type, planned, held))
    return rows


def plan_total(rows: Iterable[PlanRow], *, label: str = "total") -> PlanRow:
    """The «итого» row of :func:`lessons_against_plan`."""
    planned = held = 0
    for row in rows:
        planned += row.planned
        held += row.held
    return _plan_row(label, planned, held)


def count_held_by_type(lessons: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Held lessons by type from ``(lesson_type, status)`` pairs: only ``conducted`` count.

    A scheduled lesson has not happened and a cancelled one will not, so neither fulfils
    the plan.
    """
    held: Counter[str] = Counter(t for t, status in lessons if status == "conducted")
    return dict(held)


def _plan_row(lesson_type: str, planned: int, held: int) -> PlanRow:
    return PlanRow(
        type=lesson_type,
        planned=planned,
        held=held,
        difference=held - planned,
        percent=held * 100 / planned if planned else None,
    )


def _count(value: object, side: str, lesson_type: str) -> int:
    if not _is_int(value) or value < 0:
        raise ValueError(f"{side} lessons of type {lesson_type!r}: not a count: {value!r}")
    return value


# --- validation -----------------------------------------------------------------------------


def _is_int(value: object) -> TypeGuard[int]:
    """An integer that is not a bool (``True`` is an int to Python, not to a config)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _number(mark: Mark) -> int:
    assert mark.number is not None  # guarded by Mark.counts
    return mark.number


def _check_thresholds(thresholds: Sequence[tuple[int, float]]) -> None:
    grades = [grade for grade, _ in thresholds]
    if tuple(grades) != THRESHOLD_GRADES:
        raise ValueError(
            "grading.thresholds: must give the averages for the grades 5, 4 and 3, "
            f"highest first; got grades {grades}"
        )
    averages = [avg for _, avg in thresholds]
    for avg in averages:
        if isinstance(avg, bool) or not isinstance(avg, int | float) or not 1 <= avg <= 5:
            raise ValueError(f"grading.thresholds: an average must be between 1 and 5, not {avg!r}")
    if any(higher <= lower for higher, lower in pairwise(averages)):
        raise ValueError(
            f"grading.thresholds: averages must strictly decrease from 5 to 3, got {averages}"
        )


def _check_minimum_marks(minimum: int) -> None:
    if not _is_int(minimum) or minimum < 0:
        raise ValueError(f"grading.minimum_marks: must be an integer ≥ 0, not {minimum!r}")


def _check_weights(weights: Sequence[int]) -> None:
    if not weights:
        raise ValueError("grading.weights: name at least one weight")
    for weight in weights:
        if not _is_int(weight) or not MIN_WEIGHT <= weight <= MAX_WEIGHT:
            raise ValueError(
                f"grading.weights: a weight must be an integer {MIN_WEIGHT}–{MAX_WEIGHT}, "
                f"not {weight!r}"
            )
    if list(weights) != sorted(set(weights)):
        raise ValueError(f"grading.weights: must strictly increase, got {list(weights)}")


def _parse_thresholds(value: object) -> tuple[tuple[int, float], ...]:
    pairs: list[tuple[object, object]] = []
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list | tuple):
        for item in value:
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise ValueError(f"grading.thresholds: {item!r} is not a [grade, average] pair")
            pairs.append((item[0], item[1]))
    else:
        raise ValueError(
            "grading.thresholds: must be a table {5 = 4.5, …} or a list of [grade, average], "
            f"not {value!r}"
        )
    parsed: dict[int, float] = {}
    for raw_grade, raw_average in pairs:
        grade = _grade_key(raw_grade)
        if grade in parsed:
            raise ValueError(f"grading.thresholds: grade {grade} is given twice")
        if isinstance(raw_average, bool) or not isinstance(raw_average, int | float):
            raise ValueError(
                f"grading.thresholds: the average for {grade} must be a number, not {raw_average!r}"
            )
        parsed[grade] = float(raw_average)
    # Sorted here so a table's order does not matter; the checks then see 5, 4, 3.
    return tuple(sorted(parsed.items(), reverse=True))


def _grade_key(raw: object) -> int:
    if _is_int(raw):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    raise ValueError(f"grading.thresholds: {raw!r} is not a grade")


def _parse_weights(value: object) -> tuple[int, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"grading.weights: must be a list of integers, not {value!r}")
    for weight in value:
        if not _is_int(weight):
            raise ValueError(f"grading.weights: {weight!r} is not an integer")
    return tuple(value)
