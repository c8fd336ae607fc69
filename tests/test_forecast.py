"""The period-grade forecast (regulation item 5): what it predicts, what it suggests, what it says.

The suggestions are checked against the grading rules themselves: adding the suggested
marks must reach the grade, one mark fewer must not, and nothing suggested may need more
lessons than are left.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.codes import MarkKind
from publish.forecast import (
    FORECAST_LABEL,
    SUGGESTED_VALUES,
    Option,
    count_lessons_left,
    forecast,
    lessons_phrase,
    marks_phrase,
    options_to_reach,
    plural,
)
from publish.grading import (
    GradingRules,
    Mark,
    exact_weighted_average,
    grade_from_average,
    weighted_average,
)

DAY = date(2025, 10, 20)
DEFAULT = GradingRules()
STRICT = GradingRules(thresholds=((5, 4.6), (4, 3.6), (3, 2.6)))


def mark(number: int, weight: int = 1) -> Mark:
    return Mark(number=number, weight=weight, kind=MarkKind.NUMERIC, date=DAY)


def verbal(kind: MarkKind) -> Mark:
    return Mark(number=None, weight=1, kind=kind, date=DAY)


def fours(n: int) -> list[Mark]:
    return [mark(4) for _ in range(n)]


# --- pluralization --------------------------------------------------------------------------

# The form of «урок» after n, by Russian grammar: 1 урок, 2 урока, 5 уроков, 11 уроков, 21 урок.
LESSON_FORMS = {
    0: "уроков", 1: "урок", 2: "урока", 3: "урока", 4: "урока", 5: "уроков", 6: "уроков",
    7: "уроков", 8: "уроков", 9: "уроков", 10: "уроков", 11: "уроков", 12: "уроков",
    13: "уроков", 14: "уроков", 15: "уроков", 16: "уроков", 17: "уроков", 18: "уроков",
    19: "уроков", 20: "уроков", 21: "урок", 22: "урока", 23: "урока", 24: "урока",
    25: "уроков", 26: "уроков", 27: "уроков", 28: "уроков", 29: "уроков", 30: "уроков",
    101: "урок", 111: "уроков", 112: "уроков", 114: "уроков", 121: "урок", 122: "урока",
}  # fmt: skip


@pytest.mark.parametrize(("n", "form"), sorted(LESSON_FORMS.items()))
def test_plural_follows_russian_grammar(n, form):
    assert plural(n, "урок", "урока", "уроков") == form
    assert lessons_phrase(n) == f"{n} {form}"


def test_plural_of_a_negative_count_follows_its_magnitude():
    assert plural(-21, "урок", "урока", "уроков") == "урок"


@pytest.mark.parametrize(
    ("count", "value", "phrase"),
    [
        (1, 5, "одна пятёрка"),
        (2, 5, "две пятёрки"),
        (3, 5, "три пятёрки"),
        (4, 4, "четыре четвёрки"),
        (5, 5, "пять пятёрок"),
        (10, 4, "десять четвёрок"),
        (11, 5, "11 пятёрок"),
        (21, 5, "21 пятёрка"),
        (22, 4, "22 четвёрки"),
        (2, 3, "две тройки"),
    ],
)
def test_marks_are_counted_in_words_with_the_right_form(count, value, phrase):
    assert marks_phrase(count, value) == phrase


def test_an_option_reads_as_a_phrase():
    assert Option(value=5, weight=2, count=1).text == "одна пятёрка весом 2"


# --- the forecast: what the cabinet says ----------------------------------------------------


def test_two_fives_or_one_heavy_five():
    result = forecast([mark(5), *fours(3)], rules=DEFAULT, lessons_left=10)
    assert result.current_average == 4.25
    assert (result.predicted_grade, result.next_grade) == (4, 5)
    assert result.to_reach_next == (
        Option(value=5, weight=1, count=2),
        Option(value=5, weight=2, count=1),
        Option(value=5, weight=3, count=1),
    )
    assert result.reachable
    assert not result.risk
    assert result.explanation == (
        "Чтобы получить «5», нужны ещё две пятёрки весом 1 или одна пятёрка весом 2"
    )
    assert result.label == FORECAST_LABEL


def test_one_five_is_enough():
    result = forecast([mark(5), mark(4), mark(4)], rules=DEFAULT, lessons_left=5)
    assert result.explanation == "Чтобы получить «5», нужна ещё одна пятёрка весом 1"


def test_five_fives_take_the_plural_of_many():
    result = forecast(fours(10), rules=DEFAULT, lessons_left=30, period_kind="half_year")
    assert result.explanation == (
        "Чтобы получить «5», нужно ещё десять пятёрок весом 1 или четыре пятёрки весом 3"
    )


def test_the_next_grade_out_of_reach():
    # ten fours: a «5» needs 10, 5 or 4 more fives of weight 1, 2 or 3
    result = forecast(fours(10), rules=DEFAULT, lessons_left=3)
    assert (result.predicted_grade, result.next_grade) == (4, 5)
    assert result.to_reach_next == ()
    assert not result.reachable
    assert not result.risk
    assert result.explanation == "До конца четверти осталось 3 урока: «5» уже недостижима"


@pytest.mark.parametrize(
    ("left", "period", "text"),
    [
        (1, "quarter", "До конца четверти остался 1 урок"),
        (4, "half_year", "До конца полугодия осталось 4 урока"),
        (0, "trimester", "До конца триместра уроков не осталось"),
        (3, "year", "До конца года осталось 3 урока"),
        (2, "other", "До конца периода осталось 2 урока"),
    ],
)
def test_the_lessons_left_are_said_right(left, period, text):
    # twenty fours: a «5» needs 20, 10 or 7 more fives of weight 1, 2 or 3
    result = forecast(fours(20), rules=DEFAULT, lessons_left=left, period_kind=period)
    assert result.explanation == f"{text}: «5» уже недостижима"


def test_too_few_marks():
    result = forecast([mark(5)], rules=DEFAULT, lessons_left=8)
    assert (result.predicted_grade, result.next_grade) == (5, None)
    assert not result.enough_marks
    assert result.marks_counted == 1
    assert result.risk
    assert result.explanation == "Мало отметок: нужно не меньше 3, сейчас 1. Прогноз — «5»"


def test_no_marks_yet():
    result = forecast([], rules=DEFAULT, lessons_left=8)
    assert (result.current_average, result.predicted_grade, result.next_grade) == (None,) * 3
    assert result.risk
    assert result.explanation == "Мало отметок: нужно не меньше 3, сейчас 0"
    relaxed = forecast([], rules=GradingRules(minimum_marks=0), lessons_left=8)
    assert not relaxed.risk
    assert relaxed.explanation == "Пока нет отметок"


def test_a_failing_average_is_a_risk_and_says_what_lifts_it():
    result = forecast([mark(2), mark(2), mark(3)], rules=DEFAULT, lessons_left=5)
    assert (result.predicted_grade, result.next_grade) == (2, 3)
    assert result.enough_marks
    assert result.risk
    # (7 + n·v·w) / (3 + n·w) ≥ 2.5 with a single mark of any suggested value and weight
    assert {(o.value, o.weight, o.count) for o in result.to_reach_next} == {
        (v, w, 1) for v in (5, 4) for w in (1, 2, 3)
    }
    assert result.explanation == (
        "Чтобы получить «3», нужна ещё одна пятёрка весом 1 или одна четвёрка весом 1"
    )


def test_the_top_grade_has_nothing_next():
    result = forecast([mark(5), mark(5), mark(4)], rules=DEFAULT, lessons_left=5)
    assert (result.predicted_grade, result.next_grade, result.to_reach_next) == (5, None, ())
    assert not result.reachable
    assert not result.risk
    assert result.explanation == "Прогноз — «5»"


def test_the_threshold_rule_changes_the_forecast():
    marks = [mark(5), mark(4)]
    assert forecast(marks, rules=DEFAULT, lessons_left=3).predicted_grade == 5
    strict = forecast(marks, rules=STRICT, lessons_left=3)
    assert (strict.predicted_grade, strict.next_grade) == (4, 5)
    # (9 + 5n) / (2 + n) ≥ 4.6 from n = 1: 14 / 3 = 4.67
    assert strict.to_reach_next[0] == Option(value=5, weight=1, count=1)


def test_released_from_the_subject():
    result = forecast([verbal(MarkKind.RELEASED)] * 2, rules=DEFAULT, lessons_left=5)
    assert result.released
    assert (result.predicted_grade, result.next_grade, result.risk) == (None, None, False)
    assert "«осв»" in result.explanation


def test_a_pass_fail_subject_has_no_average_but_a_minimum():
    marks = [verbal(MarkKind.PASS), verbal(MarkKind.FAIL)]
    result = forecast(marks, rules=DEFAULT, lessons_left=5)
    assert result.pass_fail
    assert (result.predicted_grade, result.marks_counted, result.enough_marks) == (None, 2, False)
    assert result.risk
    assert result.explanation == (
        "Мало отметок: нужно не меньше 3, сейчас 2. "
        "Предмет оценивается «зач»/«незач»: средний балл не считается"
    )


def test_a_threshold_of_five_is_reached_only_by_a_perfect_record():
    rules = GradingRules(thresholds=((5, 5.0), (4, 3.5), (3, 2.5)))
    result = forecast([mark(5), mark(5), mark(4)], rules=rules, lessons_left=30)
    assert (result.predicted_grade, result.next_grade, result.reachable) == (4, 5, False)


def test_lessons_left_cannot_be_negative():
    with pytest.raises(ValueError, match="lessons_left"):
        forecast([], rules=DEFAULT, lessons_left=-1)


def test_the_lessons_left_are_the_scheduled_ones_from_today():
    today = date(2025, 10, 20)
    lessons = [
        (date(2025, 10, 17), "conducted"),
        (date(2025, 10, 20), "conducted"),
        (date(2025, 10, 20), "scheduled"),
        (date(2025, 10, 22), "scheduled"),
        (date(2025, 10, 24), "cancelled"),
        (date(2025, 10, 27), "scheduled"),
    ]
    assert count_lessons_left(lessons, today=today) == 3


# --- properties -----------------------------------------------------------------------------

numeric = st.builds(
    mark, st.integers(min_value=1, max_value=5), st.integers(min_value=1, max_value=5)
)
any_mark = st.one_of(
    numeric,
    st.sampled_from([MarkKind.PASS, MarkKind.FAIL, MarkKind.NOT_CERTIFIED]).map(verbal),
)


@st.composite
def rules(draw: st.DrawFn) -> GradingRules:
    """Thresholds in hundredths (4.55, 3.6 …), as a config writes them."""
    hundredths = draw(
        st.lists(st.integers(min_value=100, max_value=500), min_size=3, max_size=3, unique=True)
    )
    t5, t4, t3 = sorted(hundredths, reverse=True)
    weights = draw(st.lists(st.integers(1, 5), min_size=1, max_size=4, unique=True))
    return GradingRules(
        thresholds=((5, t5 / 100), (4, t4 / 100), (3, t3 / 100)),
        minimum_marks=draw(st.integers(0, 5)),
        weights=tuple(sorted(weights)),
    )


def reaches(marks: list[Mark], grade: int, rules: GradingRules) -> bool:
    avg = weighted_average(marks)
    return avg is not None and grade_from_average(avg, rules) >= grade


def reaches_exactly(marks: list[Mark], grade: int, rules: GradingRules) -> bool:
    threshold = rules.threshold(grade)
    assert threshold is not None
    avg = exact_weighted_average(marks)
    return avg is not None and avg >= Fraction(repr(threshold))


@given(
    st.lists(any_mark, max_size=25),
    rules(),
    st.integers(min_value=0, max_value=40),
)
def test_the_suggestions_are_right_minimal_and_complete(marks, rules, lessons_left):
    result = forecast(marks, rules=rules, lessons_left=lessons_left)
    assert result.reachable == bool(result.to_reach_next)
    if result.next_grade is None:
        assert result.to_reach_next == ()
        return
    grade = result.next_grade
    assert result.predicted_grade is not None and grade > result.predicted_grade
    offered = {(o.value, o.weight): o.count for o in result.to_reach_next}
    for option in result.to_reach_next:
        # never more marks than lessons left, one mark a lesson
        assert 1 <= option.count <= lessons_left
        # adding the suggested marks really reaches the grade…
        more = [mark(option.value, option.weight)] * option.count
        assert reaches(marks + more, grade, rules)
        # …and one mark fewer does not
        assert not reaches_exactly(marks + more[1:], grade, rules)
    for value in SUGGESTED_VALUES:
        for weight in rules.weights:
            if (value, weight) not in offered:
                # not offered: even a mark at every lesson left does not get there
                assert not reaches_exactly(
                    marks + [mark(value, weight)] * lessons_left, grade, rules
                )


@given(st.lists(any_mark, max_size=25), rules(), st.integers(min_value=0, max_value=40))
def test_the_forecast_agrees_with_the_grading_rules(marks, rules, lessons_left):
    result = forecast(marks, rules=rules, lessons_left=lessons_left)
    counted = [m for m in marks if m.kind == MarkKind.NUMERIC]
    assert result.current_average == weighted_average(marks)
    assert result.marks_counted == len(counted) or result.pass_fail
    assert result.enough_marks == (result.marks_counted >= rules.minimum_marks)
    if counted:
        assert result.current_average is not None
        assert result.predicted_grade == grade_from_average(result.current_average, rules)
    else:
        assert result.predicted_grade is None
    assert result.risk == (result.predicted_grade == 2 or not result.enough_marks)
    assert result.explanation
    assert result.label == FORECAST_LABEL


@given(st.lists(numeric, min_size=1, max_size=25), st.integers(min_value=0, max_value=40))
def test_options_to_reach_never_suggest_more_marks_than_lessons_left(marks, lessons_left):
    for grade in (5, 4, 3):
        options = options_to_reach(marks, grade=grade, rules=DEFAULT, lessons_left=lessons_left)
        assert all(1 <= o.count <= lessons_left for o in options)
        assert all(o.value in SUGGESTED_VALUES and o.weight in DEFAULT.weights for o in options)
