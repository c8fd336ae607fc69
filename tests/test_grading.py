"""Averages, period grades, results statistics and lessons against the plan (GRADING.md).

Pure functions: table-driven cases for the rules schools actually use, property tests for
what must hold whatever the marks.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.codes import MarkKind
from publish.grading import (
    ClassStatistics,
    GradingRules,
    Mark,
    PlanRow,
    average,
    class_statistics,
    count_held_by_type,
    exact_weighted_average,
    grade_from_average,
    lessons_against_plan,
    plan_total,
    weighted_average,
)

DAY = date(2025, 10, 20)
DEFAULT = GradingRules()
STRICT = GradingRules(thresholds=((5, 4.6), (4, 3.6), (3, 2.6)))
STRICTER = GradingRules(thresholds=((5, 4.7), (4, 3.6), (3, 2.6)))


def mark(number: int, weight: int = 1) -> Mark:
    return Mark(number=number, weight=weight, kind=MarkKind.NUMERIC, date=DAY)


def verbal(kind: MarkKind) -> Mark:
    return Mark(number=None, weight=1, kind=kind, date=DAY)


numeric = st.builds(
    mark, st.integers(min_value=1, max_value=5), st.integers(min_value=1, max_value=5)
)
any_mark = st.one_of(
    numeric,
    st.sampled_from(list(MarkKind)).filter(lambda kind: kind != MarkKind.NUMERIC).map(verbal),
)


# --- the period grade from the average -----------------------------------------------------

GRADE_CASES = [
    # marks as (number, weight), rules, the weighted average, the grade
    ([(5, 1), (4, 1)], DEFAULT, 4.5, 5),
    ([(5, 1), (4, 1)], STRICT, 4.5, 4),
    ([(5, 1)] * 3 + [(4, 1)] * 2, STRICT, 4.6, 5),
    ([(5, 1)] * 3 + [(4, 1)] * 2, STRICTER, 4.6, 4),
    ([(5, 1), (4, 1), (4, 1), (4, 1)], DEFAULT, 4.25, 4),
    ([(4, 1), (3, 1)], DEFAULT, 3.5, 4),
    ([(4, 1), (3, 1)], STRICT, 3.5, 3),
    ([(3, 1), (2, 1)], DEFAULT, 2.5, 3),
    ([(3, 1), (2, 1)], STRICT, 2.5, 2),
    ([(2, 1), (2, 1), (3, 1)], DEFAULT, 7 / 3, 2),
    ([(1, 1), (2, 1)], DEFAULT, 1.5, 2),
    # a control work (weight 3) outweighs two answers
    ([(5, 3), (3, 1), (3, 1)], DEFAULT, 4.2, 4),
    ([(5, 3), (4, 1)], DEFAULT, 4.75, 5),
    ([(3, 3), (5, 1), (5, 1)], DEFAULT, 3.8, 4),
    # (5·2 + 4 + 5·2) / 5 = 4.8 clears even 4.7; (5+5+4+4+5) / 5 = 4.6 exactly clears 4.6
    ([(5, 2), (4, 1), (5, 2)], STRICTER, 4.8, 5),
    ([(5, 1), (5, 1), (4, 1), (4, 1), (5, 1)], STRICT, 4.6, 5),
]


@pytest.mark.parametrize(("marks", "rules", "avg", "grade"), GRADE_CASES)
def test_the_period_grade_follows_the_schools_thresholds(marks, rules, avg, grade):
    got = weighted_average([mark(n, w) for n, w in marks])
    assert got == pytest.approx(avg)
    assert got is not None
    assert grade_from_average(got, rules) == grade


@pytest.mark.parametrize(
    ("avg", "grade"),
    [(5.0, 5), (4.5, 5), (4.4999, 4), (4.49, 4), (3.5, 4), (3.49, 3), (2.5, 3), (2.49, 2), (1, 2)],
)
def test_no_rounding_before_the_comparison(avg, grade):
    assert grade_from_average(avg, DEFAULT) == grade


def test_only_numeric_marks_count():
    marks = [
        mark(5),
        verbal(MarkKind.PASS),
        verbal(MarkKind.FAIL),
        verbal(MarkKind.RELEASED),
        verbal(MarkKind.NOT_CERTIFIED),
        mark(4),
    ]
    assert weighted_average(marks) == 4.5
    assert average(marks) == 4.5
    assert weighted_average([verbal(MarkKind.PASS)]) is None
    assert average([]) is None
    assert exact_weighted_average([]) is None


def test_the_plain_mean_ignores_weights():
    marks = [mark(5, 3), mark(2, 1)]
    assert average(marks) == 3.5
    assert weighted_average(marks) == 4.25


@given(st.lists(numeric, min_size=1, max_size=30))
def test_the_weighted_average_lies_between_the_lowest_and_highest_mark(marks):
    avg = weighted_average(marks)
    assert avg is not None
    numbers = [m.number for m in marks if m.number is not None]
    assert min(numbers) <= avg <= max(numbers)


@given(st.lists(numeric, min_size=1, max_size=30))
def test_a_mark_of_weight_w_counts_like_w_marks_of_weight_1(marks):
    unrolled = [mark(m.number, 1) for m in marks if m.number is not None for _ in range(m.weight)]
    assert exact_weighted_average(marks) == exact_weighted_average(unrolled)
    assert weighted_average(marks) == weighted_average(unrolled)
    # …and the plain mean of the unrolled marks is the weighted average
    assert average(unrolled) == pytest.approx(weighted_average(marks))


@given(st.lists(any_mark, max_size=30))
def test_non_numeric_marks_never_change_the_average(marks):
    only_numeric = [m for m in marks if m.kind == MarkKind.NUMERIC]
    assert weighted_average(marks) == weighted_average(only_numeric)
    assert average(marks) == average(only_numeric)


@given(st.lists(numeric, min_size=1, max_size=20))
def test_the_float_average_is_the_exact_fraction_correctly_rounded(marks):
    exact = exact_weighted_average(marks)
    assert exact is not None
    assert weighted_average(marks) == float(exact)


@given(
    st.floats(min_value=1, max_value=5),
    st.floats(min_value=1, max_value=5),
)
def test_a_higher_average_never_gives_a_lower_grade(a, b):
    low, high = sorted((a, b))
    for rules in (DEFAULT, STRICT, STRICTER):
        assert grade_from_average(low, rules) <= grade_from_average(high, rules)
        assert grade_from_average(high, rules) in (5, 4, 3, 2)


# --- the rules from the config --------------------------------------------------------------


def test_defaults():
    assert DEFAULT.thresholds == ((5, 4.5), (4, 3.5), (3, 2.5))
    assert DEFAULT.minimum_marks == 3
    assert DEFAULT.weights == (1, 2, 3)
    assert DEFAULT.threshold(5) == 4.5
    assert DEFAULT.threshold(2) is None
    assert GradingRules.from_mapping({}) == DEFAULT


def test_the_config_section_as_toml_writes_it():
    section = tomllib.loads(
        "[grading]\nthresholds = { 3 = 2.6, 5 = 4.6, 4 = 3.6 }\nminimum_marks = 4\n"
        "weights = [1, 2, 3, 5]\n"
    )["grading"]
    rules = GradingRules.from_mapping(section)
    assert rules == GradingRules(
        thresholds=((5, 4.6), (4, 3.6), (3, 2.6)), minimum_marks=4, weights=(1, 2, 3, 5)
    )


def test_thresholds_as_a_list_of_pairs_and_integer_averages():
    rules = GradingRules.from_mapping({"thresholds": [[5, 4.5], [4, 3.5], [3, 3]]})
    assert rules.thresholds == ((5, 4.5), (4, 3.5), (3, 3.0))
    assert rules.minimum_marks == 3


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"thresholds": {"5": 3.0, "4": 3.5, "3": 2.5}}, "grading.thresholds"),
        ({"thresholds": {"5": 4.5, "4": 4.5, "3": 2.5}}, "grading.thresholds"),
        ({"thresholds": {"5": 5.5, "4": 3.5, "3": 2.5}}, "grading.thresholds"),
        ({"thresholds": {"5": 4.5, "4": 3.5, "3": 0.5}}, "grading.thresholds"),
        ({"thresholds": {"5": 4.5, "4": 3.5}}, "grading.thresholds"),
        ({"thresholds": {"5": 4.5, "4": 3.5, "3": 2.5, "2": 1.5}}, "grading.thresholds"),
        ({"thresholds": [[5, 4.5], [5, 4.6], [3, 2.5]]}, "grading.thresholds"),
        ({"thresholds": [[5, 4.5], [4], [3, 2.5]]}, "grading.thresholds"),
        ({"thresholds": {"five": 4.5, "4": 3.5, "3": 2.5}}, "grading.thresholds"),
        ({"thresholds": {"5": "4.5", "4": 3.5, "3": 2.5}}, "grading.thresholds"),
        ({"thresholds": {"5": True, "4": 3.5, "3": 2.5}}, "grading.thresholds"),
        ({"thresholds": 4.5}, "grading.thresholds"),
        ({"minimum_marks": -1}, "grading.minimum_marks"),
        ({"minimum_marks": "3"}, "grading.minimum_marks"),
        ({"minimum_marks": True}, "grading.minimum_marks"),
        ({"minimum_marks": 2.5}, "grading.minimum_marks"),
        ({"weights": []}, "grading.weights"),
        ({"weights": [0, 1]}, "grading.weights"),
        ({"weights": [1, 6]}, "grading.weights"),
        ({"weights": [2, 1]}, "grading.weights"),
        ({"weights": [1, 1]}, "grading.weights"),
        ({"weights": ["1"]}, "grading.weights"),
        ({"weights": 1}, "grading.weights"),
        ({"treshold": {}}, "treshold"),
    ],
)
def test_a_wrong_config_names_its_key(data, key):
    with pytest.raises(ValueError, match=re.escape(key)):
        GradingRules.from_mapping(data)


def test_direct_construction_is_checked_too():
    with pytest.raises(ValueError, match=re.escape("grading.thresholds")):
        GradingRules(thresholds=((4, 3.5), (5, 4.5), (3, 2.5)))
    with pytest.raises(ValueError, match=re.escape("grading.minimum_marks")):
        GradingRules(minimum_marks=-2)


# --- marks ----------------------------------------------------------------------------------


def test_a_mark_from_a_store_row():
    row = {"value_number": 4, "weight": 2, "value_kind": "numeric", "date": DAY, "x": 1}
    assert Mark.from_row(row) == mark(4, 2)
    row = {"value_number": None, "weight": 1, "value_kind": "released", "date": DAY}
    assert Mark.from_row(row) == verbal(MarkKind.RELEASED)


@pytest.mark.parametrize(
    "row",
    [
        {"value_number": "4", "weight": 1, "value_kind": "numeric", "date": DAY},
        {"value_number": 4, "weight": 1.0, "value_kind": "numeric", "date": DAY},
        {"value_number": 4, "weight": 1, "value_kind": None, "date": DAY},
        {"value_number": 4, "weight": 1, "value_kind": "numeric", "date": "2025-10-20"},
    ],
)
def test_a_malformed_row_is_refused(row):
    with pytest.raises(ValueError, match=re.escape("marks.")):
        Mark.from_row(row)


@pytest.mark.parametrize(
    ("number", "weight", "kind"),
    [(None, 1, "numeric"), (6, 1, "numeric"), (0, 1, "numeric"), (4, 0, "numeric"),
     (4, 6, "numeric"), (None, 1, "dual")],
)  # fmt: skip
def test_an_impossible_mark_is_refused(number, weight, kind):
    with pytest.raises(ValueError):
        Mark(number=number, weight=weight, kind=kind, date=DAY)


# --- results statistics ---------------------------------------------------------------------


def test_class_statistics_of_a_class():
    stats = class_statistics([5, 5, 4, 3, 2, None])
    assert stats == ClassStatistics(
        students=6,
        certified=5,
        not_certified=1,
        distribution={5: 2, 4: 1, 3: 1, 2: 1},
        success_rate=pytest.approx(4 / 6),
        quality_rate=pytest.approx(3 / 6),
        average=pytest.approx(19 / 5),
    )


def test_everyone_succeeds_with_fours_and_fives():
    stats = class_statistics([5, 4, 4])
    assert (stats.success_rate, stats.quality_rate) == (1.0, 1.0)
    assert stats.distribution == {5: 1, 4: 2, 3: 0, 2: 0}


def test_an_empty_class_has_no_shares():
    stats = class_statistics([])
    assert (stats.students, stats.success_rate, stats.quality_rate, stats.average) == (
        0,
        None,
        None,
        None,
    )
    only_na = class_statistics([None, None])
    assert (only_na.success_rate, only_na.quality_rate, only_na.average) == (0.0, 0.0, None)


def test_a_one_is_a_failure_shown_in_the_distribution():
    stats = class_statistics([1, 5])
    assert stats.distribution == {5: 1, 4: 0, 3: 0, 2: 0, 1: 1}
    assert stats.success_rate == 0.5


@pytest.mark.parametrize("grade", [0, 6, True, 4.5, "5"])
def test_a_grade_that_is_not_one_is_refused(grade):
    with pytest.raises(ValueError):
        class_statistics([5, grade])


@given(st.lists(st.one_of(st.none(), st.integers(min_value=1, max_value=5)), max_size=40))
def test_class_statistics_add_up(grades):
    stats = class_statistics(grades)
    assert stats.students == len(grades)
    assert sum(stats.distribution.values()) + stats.not_certified == stats.students
    if grades:
        assert stats.success_rate is not None and stats.quality_rate is not None
        assert 0 <= stats.quality_rate <= stats.success_rate <= 1
    if stats.average is not None:
        assert 1 <= stats.average <= 5


# --- lessons against the curriculum ---------------------------------------------------------


def test_lessons_against_the_plan_by_type():
    rows = lessons_against_plan(
        {"lesson": 30, "control": 2, "lab": 4},
        {"lesson": 27, "control": 2, "excursion": 1},
    )
    assert rows == [
        PlanRow("lesson", 30, 27, -3, 90.0),
        PlanRow("control", 2, 2, 0, 100.0),
        PlanRow("lab", 4, 0, -4, 0.0),
        PlanRow("excursion", 0, 1, 1, None),
    ]
    assert plan_total(rows) == PlanRow("total", 36, 30, -6, pytest.approx(30 * 100 / 36))
    assert plan_total([], label="итого") == PlanRow("итого", 0, 0, 0, None)


@pytest.mark.parametrize(
    ("planned", "held"), [({"lesson": -1}, {}), ({}, {"lesson": 1.5}), ({"lesson": True}, {})]
)
def test_a_count_that_is_not_one_is_refused(planned, held):
    with pytest.raises(ValueError, match="lesson"):
        lessons_against_plan(planned, held)


def test_only_conducted_lessons_are_held():
    lessons = [
        ("lesson", "conducted"),
        ("lesson", "conducted"),
        ("lesson", "cancelled"),
        ("control", "scheduled"),
        ("control", "conducted"),
    ]
    assert count_held_by_type(lessons) == {"lesson": 2, "control": 1}


@given(
    st.dictionaries(st.sampled_from(["lesson", "control", "lab"]), st.integers(0, 50)),
    st.dictionaries(st.sampled_from(["lesson", "control", "test"]), st.integers(0, 50)),
)
def test_every_type_appears_once_and_the_total_adds_up(planned, held):
    rows = lessons_against_plan(planned, held)
    assert sorted(row.type for row in rows) == sorted(planned.keys() | held.keys())
    total = plan_total(rows)
    assert total.planned == sum(planned.values())
    assert total.held == sum(held.values())
    for row in rows:
        assert row.difference == row.held - row.planned
        if row.percent is not None:
            assert Fraction(row.percent).limit_denominator(10_000) == Fraction(
                row.held * 100, row.planned
            )
