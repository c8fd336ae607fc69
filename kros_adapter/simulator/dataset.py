"""Deterministic generation of one simulated KROS school (CONTRACT.md §4–§6).

:func:`generate` builds everything a school holds at the simulator's start, as the
exact JSON (and XML attribute) shapes of the contract. The same arguments give the
same bytes on any machine: every random choice comes from a :class:`random.Random`
seeded with a string (``"{seed}:{school_index}:{topic}"``, hashed by SHA-512 inside
``random``), nothing depends on ``hash()``, set order or the clock, and each topic
(names, timetable, marks …) has its own stream so that a change in one part of the
generator leaves the others' data as it was.

The school is built in the order a real one is: calendar and subjects, classes and
families, teachers and their load, a weekly timetable, then the journal day by day
(lessons, changes, attendance, marks, homework) up to ``today``, and finally the
documents (quarter grades, exam results). ``docs/simulator-data.md`` describes the
result and its volumes.
"""

from __future__ import annotations

import base64
import bisect
import math
import random
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import ClassVar, TypeVar
from urllib.parse import quote

from kros_adapter.simulator import calendar
from kros_adapter.simulator.model import (
    COLLECTIONS,
    DeliberateError,
    Record,
    SchoolData,
    school_id,
)
from kros_adapter.simulator.names import (
    NamePool,
    Person,
    feminine_surname,
    patronymic,
    pick_pool,
    random_adult,
    transliterate,
)
from kros_adapter.timestamps import REGION_TZ, format_timestamp

T = TypeVar("T")

# --------------------------------------------------------------------------- catalogue


@dataclass(frozen=True, slots=True)
class SubjectSpec:
    """A subject of the federal curriculum as the school teaches it."""

    code: str
    name: str
    short_name: str | None
    level: str
    """The level where the subject starts (НОО, ООО or СОО)."""
    specialty: str
    """Which subject teachers teach it from grade 5 on."""
    pass_fail: bool = False
    """Marked «зач» / «незач» instead of numbers."""
    homework_rate: float = 0.72


SUBJECTS: tuple[SubjectSpec, ...] = (
    SubjectSpec("rus", "Русский язык", "Рус. яз.", "НОО", "russian"),
    SubjectSpec("lit-read", "Литературное чтение", "Лит. чт.", "НОО", "primary"),
    SubjectSpec("math", "Математика", "Матем.", "НОО", "math"),
    SubjectSpec("world", "Окружающий мир", "Окр. мир", "НОО", "primary"),
    SubjectSpec("alg", "Алгебра", None, "ООО", "math"),
    SubjectSpec("geom", "Геометрия", None, "ООО", "math"),
    SubjectSpec("prob", "Вероятность и статистика", "ВиС", "ООО", "math"),
    SubjectSpec("phys", "Физика", None, "ООО", "physics"),
    SubjectSpec("chem", "Химия", None, "ООО", "chemistry"),
    SubjectSpec("bio", "Биология", None, "ООО", "biology"),
    SubjectSpec("hist", "История", None, "ООО", "history"),
    SubjectSpec("soc", "Обществознание", "Общ.", "ООО", "history"),
    SubjectSpec("geo", "География", "Геогр.", "ООО", "geography"),
    SubjectSpec("inf", "Информатика", "Информ.", "ООО", "informatics"),
    SubjectSpec("eng", "Английский язык", "Англ. яз.", "НОО", "english"),
    SubjectSpec("lit", "Литература", "Лит.", "ООО", "russian"),
    SubjectSpec(
        "orkse",
        "Основы религиозных культур и светской этики",
        "ОРКСЭ",
        "НОО",
        "primary",
        pass_fail=True,
        homework_rate=0.2,
    ),
    SubjectSpec("art", "Изобразительное искусство", "ИЗО", "НОО", "art", homework_rate=0.1),
    SubjectSpec("music", "Музыка", None, "НОО", "music", homework_rate=0.1),
    SubjectSpec("tech", "Труд (технология)", "Труд", "НОО", "technology", homework_rate=0.1),
    SubjectSpec("pe", "Физическая культура", "Физ-ра", "НОО", "pe", homework_rate=0.0),
    SubjectSpec(
        "obzr", "Основы безопасности и защиты Родины", "ОБЗР", "ООО", "obzr", homework_rate=0.4
    ),
    SubjectSpec(
        "proj", "Индивидуальный проект", "Инд. проект", "СОО", "history", homework_rate=0.3
    ),
    SubjectSpec("native", "Родной язык (русский)", "Родн. яз.", "ООО", "russian"),
    SubjectSpec(
        "crimea", "Крымоведение", None, "НОО", "history", pass_fail=True, homework_rate=0.2
    ),
)
SUBJECT_BY_CODE: dict[str, SubjectSpec] = {s.code: s for s in SUBJECTS}
PASS_FAIL_SUBJECT_NAMES: frozenset[str] = frozenset(s.name for s in SUBJECTS if s.pass_fail)


def subject_id(code: str) -> str:
    return f"sub-{code}"


# Weekly hours per grade (a five-day week, after the federal basic curricula).
WEEKLY_HOURS: dict[int, tuple[tuple[str, int], ...]] = {
    1: (("rus", 5), ("lit-read", 4), ("math", 4), ("world", 2), ("art", 1), ("music", 1),
        ("tech", 1), ("pe", 3)),
    2: (("rus", 5), ("lit-read", 4), ("eng", 2), ("math", 4), ("world", 2), ("art", 1),
        ("music", 1), ("tech", 1), ("pe", 2), ("crimea", 1)),
    3: (("rus", 5), ("lit-read", 4), ("eng", 2), ("math", 4), ("world", 2), ("art", 1),
        ("music", 1), ("tech", 1), ("pe", 2), ("crimea", 1)),
    4: (("rus", 4), ("lit-read", 3), ("eng", 2), ("math", 4), ("world", 2), ("orkse", 1),
        ("art", 1), ("music", 1), ("tech", 1), ("pe", 2), ("crimea", 1)),
    5: (("rus", 5), ("lit", 3), ("eng", 3), ("math", 5), ("hist", 2), ("geo", 1), ("bio", 1),
        ("art", 1), ("music", 1), ("tech", 2), ("pe", 2), ("native", 1)),
    6: (("rus", 6), ("lit", 3), ("eng", 3), ("math", 5), ("hist", 2), ("soc", 1), ("geo", 1),
        ("bio", 1), ("art", 1), ("music", 1), ("tech", 2), ("pe", 2), ("crimea", 1)),
    7: (("rus", 4), ("lit", 2), ("eng", 3), ("alg", 3), ("geom", 2), ("prob", 1), ("inf", 1),
        ("hist", 2), ("soc", 1), ("geo", 2), ("bio", 1), ("phys", 2), ("art", 1),
        ("music", 1), ("tech", 2), ("pe", 2)),
    8: (("rus", 3), ("lit", 2), ("eng", 3), ("alg", 3), ("geom", 2), ("prob", 1), ("inf", 1),
        ("hist", 2), ("soc", 1), ("geo", 2), ("bio", 2), ("phys", 2), ("chem", 2),
        ("music", 1), ("tech", 1), ("pe", 2), ("obzr", 1)),
    9: (("rus", 3), ("lit", 3), ("eng", 3), ("alg", 3), ("geom", 2), ("prob", 1), ("inf", 1),
        ("hist", 2), ("soc", 1), ("geo", 2), ("bio", 2), ("phys", 3), ("chem", 2), ("pe", 2),
        ("obzr", 1)),
    10: (("rus", 2), ("lit", 3), ("eng", 3), ("alg", 3), ("geom", 2), ("prob", 1), ("inf", 1),
         ("hist", 2), ("soc", 2), ("geo", 1), ("bio", 1), ("phys", 2), ("chem", 1), ("pe", 2),
         ("obzr", 1), ("proj", 1)),
    11: (("rus", 2), ("lit", 3), ("eng", 3), ("alg", 3), ("geom", 2), ("prob", 1), ("inf", 1),
         ("hist", 2), ("soc", 2), ("geo", 1), ("bio", 1), ("phys", 2), ("chem", 1), ("pe", 2),
         ("obzr", 1), ("proj", 1)),
}  # fmt: skip

PRIMARY_TEACHER_SUBJECTS = frozenset({"rus", "lit-read", "math", "world", "art", "tech", "orkse"})
"""What the class's own teacher teaches in grades 1–4 (the rest go to specialists)."""

SPLIT_FROM_GRADE: dict[str, int] = {"eng": 2, "inf": 7}
"""Subjects taught in two halves of a class, from that grade on."""

LESSON_TYPES = ("lesson", "control", "lab", "practical", "test", "excursion")
DIAGNOSTIC_SUBJECTS = frozenset({"rus", "math", "alg"})
"""The September entry test (входная диагностика)."""
TEST_CONTROL_SUBJECTS = frozenset({"eng", "prob", "soc", "world", "lit-read"})
"""Their control works are tests."""
LAB_SUBJECTS = frozenset({"phys", "chem", "bio"})
PRACTICAL_SUBJECTS = frozenset({"geo", "inf", "tech"})
EXCURSION_SUBJECTS = frozenset({"world", "bio", "hist"})
TEST_SUBJECTS = frozenset({"rus", "math", "alg", "geom", "hist", "soc", "geo", "eng"})
CONTROL_SUBJECTS = TEST_SUBJECTS | LAB_SUBJECTS | {"prob", "inf", "lit", "lit-read", "world"}
"""Subjects with control works (the rest are assessed along the way)."""


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """A profile stream: students of every class of a parallel, in slot 7 on two days."""

    subject: str
    title: str
    weekdays: tuple[int, int]
    share: float


STREAM_GRADES = (10, 11)
STREAM_SLOT = 7
STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("alg", "Алгебра (углублённый уровень)", (1, 3), 0.4),
    StreamSpec("bio", "Биология (углублённый уровень)", (0, 2), 0.3),
)
INDIVIDUAL_SLOT = 8

SPECIALTIES: dict[str, tuple[str, float]] = {
    # specialty: (position, share of women)
    "primary": ("Учитель начальных классов", 0.95),
    "russian": ("Учитель русского языка и литературы", 0.92),
    "math": ("Учитель математики", 0.75),
    "english": ("Учитель английского языка", 0.9),
    "informatics": ("Учитель информатики", 0.5),
    "history": ("Учитель истории и обществознания", 0.7),
    "geography": ("Учитель географии", 0.7),
    "biology": ("Учитель биологии", 0.85),
    "chemistry": ("Учитель химии", 0.85),
    "physics": ("Учитель физики", 0.5),
    "music": ("Учитель музыки", 0.8),
    "art": ("Учитель изобразительного искусства", 0.8),
    "technology": ("Учитель труда (технологии)", 0.5),
    "pe": ("Учитель физической культуры", 0.4),
    "obzr": ("Преподаватель-организатор ОБЗР", 0.2),
}
TEACHER_WEEKLY_HOURS = 20
"""Target load: a teacher gets at most about this many hours (a rate is 18)."""
STAFF_POSITIONS = ("Директор", "Заместитель директора по учебно-воспитательной работе")

LETTERS = "АБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЮЯ"
"""Class letters in the order schools use them (no Э: its id would clash with Е)."""

STUDENTS_PER_FULL_CLASS = 27
ILLNESS_PER_MONTH = 0.13
"""Chance that a student falls ill (2–5 school days of «б») in a month of school."""
MARKS_PER_WEEK = 1.0
"""About one mark per student per subject per week."""

WORK_WEIGHTS: dict[str, int] = {
    "answer": 1,
    "homework": 1,
    "other": 1,
    "dictation": 2,
    "test": 2,
    "lab": 2,
    "essay": 3,
    "control": 3,
}
ATTENDANCE_CODES = ("н", "б", "у", "п", "о")
BAD_MARK_VALUES = ("5/4", "н/a", "6")
"""Values outside CONTRACT.md §4: a dual mark, a Latin «a», an impossible number."""
BAD_ATTENDANCE_CODES = ("нб", "д", "ув")
TIMESTAMP_VARIANT_SHARE = 0.02
VARIANT_ZONES = (UTC, timezone(timedelta(hours=5)))

SCHOOL_PLACES: tuple[tuple[str, str, str, str], ...] = (
    # (school adjective, district, settlement, postcode)
    ("Красногвардейская", "Красногвардейский р-н", "пгт Красногвардейское", "297000"),
    ("Джанкойская", "г. Джанкой", "г. Джанкой", "296100"),
    ("Сакская", "г. Саки", "г. Саки", "296500"),
    ("Белогорская", "Белогорский р-н", "г. Белогорск", "297600"),
    ("Нижнегорская", "Нижнегорский р-н", "пгт Нижнегорский", "297100"),
    ("Кировская", "Кировский р-н", "пгт Кировское", "297300"),
    ("Советская", "Советский р-н", "пгт Советский", "297200"),
    ("Раздольненская", "Раздольненский р-н", "пгт Раздольное", "296200"),
)
STREETS = ("ул. Ленина", "ул. Энгельса", "ул. Школьная", "ул. Гагарина", "ул. Мира", "ул. Победы")


def school_letters(scale: float) -> str:
    """The class letters of one grade: ``max(1, round(3 * scale))`` parallels."""
    parallels = max(1, round(3 * scale))
    if parallels > len(LETTERS):
        raise ValueError(f"scale {scale} needs {parallels} parallels; at most {len(LETTERS)}")
    return LETTERS[:parallels]


def students_per_class(scale: float) -> int:
    """27 from scale 1/3 on; smaller schools get smaller classes (at least 4)."""
    if scale >= 1 / 3:
        return STUDENTS_PER_FULL_CLASS
    return max(4, round(81 * scale))


def attachment_path(school: str, attachment_id: str, name: str) -> str:
    """The path of a homework attachment below the API root (the server adds the host)."""
    return f"/ej/v1/schools/{school}/attachments/{attachment_id}/{quote(name)}"


def attachment_bytes(attachment_id: str, name: str) -> bytes:
    """The content of a generated attachment: a small valid PDF or PNG, stable per id."""
    if name.lower().endswith(".png"):
        return _tiny_png(attachment_id)
    return _tiny_pdf(f"KROS attachment {attachment_id}")


def _tiny_pdf(text: str) -> bytes:
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _tiny_png(seed_text: str) -> bytes:
    shade = random.Random(seed_text).randrange(256)
    width = height = 8
    raw = b"".join(b"\x00" + bytes([shade, 255 - shade, 128]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- texts

TOPICS: dict[str, tuple[str, ...]] = {
    "rus": ("Повторение изученного", "Орфограммы в корне слова", "Имя существительное",
            "Имя прилагательное", "Глагол", "Правописание приставок", "Синтаксис и пунктуация",
            "Развитие речи. Изложение"),
    "lit-read": ("Устное народное творчество", "Сказки народов России", "Басни И. А. Крылова",
                 "Стихи о природе", "Рассказы о детях", "Произведения А. С. Пушкина"),
    "math": ("Нумерация чисел", "Сложение и вычитание", "Умножение и деление", "Дроби",
             "Задачи на движение", "Периметр и площадь", "Уравнения"),
    "world": ("Природа родного края", "Растения и животные", "Человек и природа",
              "Наша Родина — Россия", "Правила безопасного поведения"),
    "alg": ("Линейные уравнения", "Функции и графики", "Степень с натуральным показателем",
            "Многочлены", "Квадратные уравнения", "Неравенства", "Системы уравнений"),
    "geom": ("Треугольники", "Параллельные прямые", "Четырёхугольники", "Подобие треугольников",
             "Окружность", "Векторы"),
    "prob": ("Представление данных", "Описательная статистика", "Случайные события",
             "Вероятность события", "Комбинаторика"),
    "phys": ("Механическое движение", "Взаимодействие тел", "Давление", "Работа и мощность",
             "Тепловые явления", "Электрические явления"),
    "chem": ("Первоначальные химические понятия", "Кислород. Водород", "Вода. Растворы",
             "Основные классы неорганических соединений", "Периодический закон"),
    "bio": ("Клетка — основа жизни", "Многообразие организмов", "Растительный организм",
            "Животные", "Человек и его здоровье"),
    "hist": ("История Древнего мира", "Русь в IX — начале XII века", "Россия в XVI веке",
             "Эпоха Петра I", "Российская империя в XIX веке", "Великая Отечественная война"),
    "soc": ("Человек и общество", "Социальные нормы", "Экономика", "Политика и право",
            "Гражданин и государство"),
    "geo": ("Земля во Вселенной", "Литосфера", "Гидросфера", "Атмосфера", "Природа России",
            "Население мира"),
    "inf": ("Информация и информационные процессы", "Кодирование информации", "Алгоритмы",
            "Программирование на Python", "Электронные таблицы"),
    "eng": ("My family", "School life", "Hobbies", "Travelling", "The Present Simple Tense",
            "The Past Simple Tense", "Environment"),
    "lit": ("Древнерусская литература", "Поэзия А. С. Пушкина", "Проза Н. В. Гоголя",
            "Лирика М. Ю. Лермонтова", "Рассказы А. П. Чехова", "Литература XX века"),
    "orkse": ("Культура и религия", "Добро и зло", "Долг и совесть", "Семья и семейные ценности"),
    "art": ("Рисунок с натуры", "Декоративно-прикладное искусство", "Пейзаж", "Портрет"),
    "music": ("Музыка народов России", "Русская классическая музыка", "Музыкальный театр",
              "Песни о Родине"),
    "tech": ("Технологии обработки материалов", "Работа с бумагой", "Основы черчения",
             "Робототехника"),
    "pe": ("Лёгкая атлетика", "Гимнастика", "Спортивные игры: волейбол",
           "Спортивные игры: баскетбол", "Подготовка к сдаче норм ГТО"),
    "obzr": ("Безопасность в быту", "Первая помощь", "Основы обороны государства",
             "Безопасность на дорогах"),
    "proj": ("Выбор темы проекта", "Постановка цели и задач", "Работа с источниками",
             "Оформление проекта"),
    "native": ("Язык и культура", "Культура речи", "Текст и его строение"),
    "crimea": ("Природа Крыма", "История Крыма", "Народы Крыма", "Города Крыма"),
}  # fmt: skip

HOMEWORK_TEXTS: dict[str, tuple[str, ...]] = {
    "rus": ("Упр. {n}, выучить правило на с. {p}", "§ {s}, упр. {n}", "Словарные слова, упр. {n}"),
    "lit-read": ("Прочитать с. {p}–{p2}, ответить на вопросы", "Выучить стихотворение наизусть"),
    "math": ("№ {n}, {n2}", "С. {p}, № {n}", "Решить задачи № {n}–{n2}"),
    "world": ("С. {p}–{p2}, ответить на вопросы", "Рабочая тетрадь, с. {p}"),
    "alg": ("§ {s}, № {n}, {n2}", "№ {n}–{n2}", "Повторить § {s}, решить № {n}"),
    "geom": ("П. {s}, задачи № {n}, {n2}", "Выучить теорему, № {n}"),
    "prob": ("§ {s}, задачи {n}, {n2}",),
    "phys": ("§ {s}, упр. {s2}", "§ {s}, задачи № {n}, {n2}", "Оформить лабораторную работу"),
    "chem": ("§ {s}, вопросы {s2}–{s3}", "§ {s}, решить задачу {s2}"),
    "bio": ("§ {s}, вопросы в конце параграфа", "§ {s}, заполнить таблицу"),
    "hist": ("§ {s}, вопросы {s2}–{s3}", "§ {s}, составить план ответа", "Читать § {s}"),
    "soc": ("§ {s}, задания в рубрике «В классе и дома»", "§ {s}, эссе"),
    "geo": ("§ {s}, контурная карта", "§ {s}, вопросы {s2}–{s3}"),
    "inf": ("§ {s}, вопросы {s2}–{s3}", "Написать программу к задаче {n}"),
    "eng": ("Ex. {s2}, p. {p}", "Learn the words, p. {p}", "WB p. {p}, ex. {s2}"),
    "lit": ("Прочитать главы {s}–{s2}", "Выучить стихотворение наизусть", "Ответить на вопросы"),
    "native": ("Упр. {n}",),
    "crimea": ("Подготовить сообщение",),
    "orkse": ("Подготовить сообщение",),
    "proj": ("Подобрать источники по теме проекта",),
    "obzr": ("§ {s}, вопросы {s2}–{s3}",),
}  # fmt: skip
HOMEWORK_FALLBACK = ("Повторить пройденное",)
ATTACHMENT_NAMES = ("Задание.pdf", "Карточка.pdf", "Тест.pdf", "Схема.png")

RECOMMENDATION_TEXTS = (
    "Повторить правила по теме последних уроков",
    "Рекомендуется дополнительно решить задачи из сборника",
    "Больше читать вслух, следить за выразительностью",
    "Обратить внимание на аккуратность оформления работ",
    "Подготовиться к пересдаче контрольной работы",
    "Отличная работа на уроках, рекомендую участие в олимпиаде",
    "Регулярно выполнять домашние задания",
)
GENERAL_RECOMMENDATION_TEXTS = (
    "Пропуски уроков без уважительной причины: прошу родителей связаться с классным руководителем",
    "Активное участие в жизни класса, так держать",
)
SUBSTITUTION_REASONS = ("Болезнь учителя", "Курсы повышения квалификации", "Командировка")
MOVE_REASONS = ("Изменение расписания", "Проведение школьного мероприятия")
CANCEL_REASONS = ("Отключение электроэнергии", "Карантин в классе", "Погодные условия")

# --------------------------------------------------------------------------- internals


@dataclass(slots=True, eq=False)
class Student:
    id: str
    person: Person
    class_id: str
    grade: int
    birth: date
    enrolled_on: date
    left_on: date | None
    individual: bool
    ability: float
    released_pe: bool
    ill_days: set[date] = field(default_factory=set)

    def present_on(self, day: date) -> bool:
        """Whether the student belongs to the school (and the class) on ``day``."""
        return self.enrolled_on <= day and (self.left_on is None or day < self.left_on)


@dataclass(slots=True, eq=False)
class SchoolClass:
    id: str
    grade: int
    letter: str
    students: list[Student] = field(default_factory=list)
    homeroom: Teacher | None = None
    grid: list[list[Item]] = field(default_factory=list)
    """The weekly timetable: ``grid[weekday][slot - 1]``."""

    @property
    def name(self) -> str:
        return f"{self.grade}{self.letter}"

    @property
    def level(self) -> str:
        return level_of(self.grade)


@dataclass(slots=True, eq=False)
class Group:
    id: str
    name: str
    kind: str
    subject: str
    classes: list[SchoolClass]
    students: list[Student]
    teacher: Teacher | None = None


@dataclass(slots=True, eq=False)
class Teacher:
    id: str
    person: Person
    specialty: str | None
    position: str
    room: str | None
    subjects: set[str] = field(default_factory=set)
    load: int = 0


@dataclass(slots=True, eq=False)
class Section:
    """One lesson given in a timetable cell: a whole class, or one group of it."""

    teacher: Teacher
    group: Group | None


@dataclass(slots=True, eq=False)
class Item:
    """A subject of a class's weekly timetable with its hours and its teacher(s)."""

    subject: str
    hours: int
    sections: tuple[Section, ...]

    def teachers(self) -> Iterator[Teacher]:
        return (section.teacher for section in self.sections)


@dataclass(slots=True, eq=False)
class Course:
    """A class or a group studying one subject with one teacher: the unit of lessons."""

    key: str
    school_class: SchoolClass
    """The class (for a stream: its first class), which fixes grade and day length."""
    group: Group | None
    subject: str
    teacher: Teacher
    room: str | None
    students: list[Student]
    weekly: list[tuple[int, int]] = field(default_factory=list)
    """(weekday, slot) cells of the timetable."""
    occurrences: list[tuple[date, int]] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    """lessonType of each occurrence."""
    control_kinds: dict[int, str] = field(default_factory=dict)
    """Occurrence index → control-work kind."""

    @property
    def grade(self) -> int:
        return self.school_class.grade

    @property
    def spec(self) -> SubjectSpec:
        return SUBJECT_BY_CODE[self.subject]

    @property
    def marked(self) -> bool:
        """Grade 1 is not marked in Russian schools."""
        return self.grade >= 2


@dataclass(slots=True, eq=False)
class Lesson:
    course: Course
    day: date
    slot: int
    index: int
    """Position of this lesson in its course's occurrences."""
    id: str = ""
    teacher: Teacher | None = None
    """Who gives it (the substitute, if any)."""
    start: datetime = datetime.min
    end: datetime = datetime.min
    status: str = "scheduled"


def level_of(grade: int) -> str:
    if grade <= 4:
        return "НОО"
    return "ООО" if grade <= 9 else "СОО"


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A local instant of ``day``."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=REGION_TZ)


def round_half_up(total: int, weight: int) -> int:
    """``total / weight`` rounded to the nearest integer, halves up, in exact arithmetic."""
    return (2 * total + weight) // (2 * weight)


def numeric_mark(value: str) -> int | None:
    """The number a mark value counts for (signs dropped), or ``None`` if it has none."""
    text = value.strip()
    if text[-1:] in "+-" and len(text) > 1:
        text = text[:-1]
    if len(text) == 1 and text in "12345":
        return int(text)
    return None


# --------------------------------------------------------------------------- the builder


class _SchoolBuilder:
    """Builds one school; each ``_build_*`` method fills one part, in dependency order."""

    def __init__(self, school_index: int, seed: int, scale: float, today: datetime) -> None:
        if today.tzinfo is None:
            raise ValueError("today must be an aware datetime")
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.index = school_index
        self.seed = seed
        self.scale = scale
        self.today = today.astimezone(REGION_TZ)
        self.today_date = self.today.date()
        self.school_id = school_id(school_index)
        self.horizon = min(self.today_date + timedelta(days=14), calendar.STUDY_END)
        self._variant_rng = self.rng("timestamps")
        self.collections: dict[str, list[Record]] = {}
        self.errors: list[DeliberateError] = []
        self.classes: list[SchoolClass] = []
        self.students: list[Student] = []
        self.groups: list[Group] = []
        self.teachers: list[Teacher] = []
        self.courses: list[Course] = []
        self.lessons: list[Lesson] = []
        self.busy: dict[tuple[str, int, int], int] = {}
        """(teacher id, weekday, slot) → lessons the teacher has in that cell."""
        self.secretary = random_adult(self.rng("secretary"), female=True)
        self.guardian_people: dict[str, Person] = {}
        self.applications: dict[str, Record] = {}
        self.assignment: dict[tuple[str, str, int], Teacher] = {}
        """(class id, specialty, half) → the teacher; half 0 is the whole class."""
        self.extra_cells: dict[str, list[tuple[int, int]]] = {}
        """Group id → timetable cells of streams and individual plans."""
        self._section_cache: dict[tuple[str, str], tuple[Section, ...]] = {}
        self._classes_by_id: dict[str, SchoolClass] = {}

    def rng(self, topic: str) -> random.Random:
        """An independent random stream for one part of the school."""
        return random.Random(f"{self.seed}:{self.index}:{topic}")

    def stamp(self, moment: datetime) -> str:
        """An ``updated_at`` value: never after today; about 2% in another offset."""
        moment = min(moment, self.today)
        if self._variant_rng.random() >= TIMESTAMP_VARIANT_SHARE:
            return format_timestamp(moment)
        zone = self._variant_rng.choice(VARIANT_ZONES)
        text = format_timestamp(moment, zone)
        if zone is UTC and self._variant_rng.random() < 0.5:
            text = text[:-6] + "Z"
        return text

    def past(self, moment: datetime, rng: random.Random, *, floor: datetime) -> datetime:
        """``moment`` if it is not after today, otherwise a random instant in (floor, today]."""
        if moment <= self.today:
            return moment
        span = max(1, int((self.today - floor).total_seconds()))
        return self.today - timedelta(seconds=rng.randrange(min(span, 3600)))

    # ---------------------------------------------------------------- top level

    def build(self) -> SchoolData:
        school = self._build_school()
        self._build_calendar()
        self._build_subjects()
        self._build_classes_and_families()
        self._build_groups()
        self._build_teachers()
        self._build_timetable()
        self._build_courses()
        self._build_curriculum_and_control_works()
        self._build_lessons()
        self._finish_lessons(self._build_lesson_changes())
        self._build_attendance_and_marks()
        self._build_homework()
        self._build_recommendations()
        self._build_consents()
        self._inject_deliberate_errors()
        final_grades = self._build_final_grades()
        exam_results = self._build_exam_results()
        self._build_reference_records()
        ordered = {name: self.collections.get(name, []) for name in COLLECTIONS}
        return SchoolData(
            school=school,
            collections=ordered,
            final_grades=final_grades,
            exam_results=exam_results,
            deliberate_errors=self.errors,
        )

    # ---------------------------------------------------------------- school, calendar

    def _build_school(self) -> Record:
        rng = self.rng("school")
        place = SCHOOL_PLACES[(self.index - 1) % len(SCHOOL_PLACES)]
        number = (self.index - 1) // len(SCHOOL_PLACES) + 1
        adjective, district, settlement, postcode = place
        short = f"{adjective} школа №{number}"
        address = (
            f"{postcode}, Республика Крым, {district}, {settlement}, "
            f"{rng.choice(STREETS)}, д. {rng.randint(1, 60)}"
        )
        return {
            "id": self.school_id,
            "name": f"МБОУ «{short}»",
            "shortName": short,
            "inn": _inn(rng),
            "address": address,
            "timezone": "Europe/Simferopol",
            "updated_at": self.stamp(at(date(2026, 8, 20), 11, rng.randrange(60))),
        }

    def _build_calendar(self) -> None:
        years, periods, holidays = [], [], []
        for year in calendar.ACADEMIC_YEARS:
            approved = at(date(year.starts_on.year, 6, 15), 12)
            years.append(
                {
                    "id": year.id,
                    "title": year.title,
                    "startsOn": year.starts_on.isoformat(),
                    "endsOn": year.ends_on.isoformat(),
                    "updated_at": self.stamp(approved),
                }
            )
        for period in calendar.PERIODS:
            approved = at(date(int(period.year_id[2:]), 6, 15), 12, 5)
            periods.append(
                {
                    "id": period.id,
                    "yearId": period.year_id,
                    "kind": period.kind,
                    "number": period.number,
                    "title": period.title,
                    "startsOn": period.starts_on.isoformat(),
                    "endsOn": period.ends_on.isoformat(),
                    "updated_at": self.stamp(approved),
                }
            )
        for holiday in calendar.HOLIDAYS:
            approved = at(date(int(holiday.year_id[2:]), 6, 15), 12, 10)
            holidays.append(
                {
                    "id": holiday.id,
                    "yearId": holiday.year_id,
                    "title": holiday.title,
                    "kind": holiday.kind,
                    "startsOn": holiday.starts_on.isoformat(),
                    "endsOn": holiday.ends_on.isoformat(),
                    "grades": list(holiday.grades) if holiday.grades else None,
                    "updated_at": self.stamp(approved),
                }
            )
        self.collections["academic-years"] = years
        self.collections["periods"] = periods
        self.collections["holidays"] = holidays

    def _build_subjects(self) -> None:
        self.collections["subjects"] = [
            {
                "id": subject_id(spec.code),
                "name": spec.name,
                "shortName": spec.short_name,
                "level": spec.level,
                "updated_at": self.stamp(at(date(2026, 8, 20), 12, n)),
            }
            for n, spec in enumerate(SUBJECTS)
        ]

    # ---------------------------------------------------------------- people

    def _build_classes_and_families(self) -> None:
        letters = school_letters(self.scale)
        size = students_per_class(self.scale)
        for grade in range(1, 12):
            for letter in letters:
                class_id = f"c-{grade}{_letter_id(letter)}"
                self.classes.append(SchoolClass(class_id, grade, letter))
        families = FamilyBuilder(self, size)
        families.build()
        # Students are numbered class by class, alphabetically inside a class, as in
        # the class journal.
        number = 0
        for school_class in self.classes:
            school_class.students.sort(key=lambda s: (s.person.last_name, s.person.first_name))
            for student in school_class.students:
                number += 1
                student.id = f"st-{number:04d}"
                self.students.append(student)
        families.link_children()

    def _build_groups(self) -> None:
        rng = self.rng("groups")
        number = 0

        def next_id() -> str:
            nonlocal number
            number += 1
            return f"gr-{number:03d}"

        for school_class in self.classes:
            for code, first_grade in SPLIT_FROM_GRADE.items():
                if school_class.grade < first_grade:
                    continue
                half = (len(school_class.students) + 1) // 2
                for part, members in (
                    (1, school_class.students[:half]),
                    (2, school_class.students[half:]),
                ):
                    name = f"{school_class.name}, {SUBJECT_BY_CODE[code].name}, {part} группа"
                    self.groups.append(
                        Group(next_id(), name, "group", code, [school_class], list(members))
                    )
        for grade in STREAM_GRADES:
            parallel = [c for c in self.classes if c.grade == grade]
            for stream in STREAMS:
                members = [s for c in parallel for s in c.students if rng.random() < stream.share]
                if not members:
                    members = [parallel[0].students[0]]
                name = f"{grade} параллель, {stream.title}"
                self.groups.append(
                    Group(next_id(), name, "stream", stream.subject, parallel, members)
                )
        for student in self.students:
            if not student.individual:
                continue
            school_class = self.class_by_id(student.class_id)
            code = _individual_subject(student.grade, rng)
            name = (
                f"ИУП: {student.person.last_name} {student.person.first_name[0]}., "
                f"{SUBJECT_BY_CODE[code].name}"
            )
            self.groups.append(
                Group(next_id(), name, "individual", code, [school_class], [student])
            )

    def class_by_id(self, class_id: str) -> SchoolClass:
        if not self._classes_by_id:
            self._classes_by_id = {c.id: c for c in self.classes}
        return self._classes_by_id[class_id]

    # ---------------------------------------------------------------- teachers

    def _build_teachers(self) -> None:
        rng = self.rng("teachers")
        demands = self._teaching_demands()
        totals: dict[str, int] = {}
        for (_, specialty, _), hours in demands.items():
            totals[specialty] = totals.get(specialty, 0) + hours
        for stream_group in self.groups:
            if stream_group.kind == "stream":
                spec = SUBJECT_BY_CODE[stream_group.subject].specialty
                totals[spec] = totals.get(spec, 0) + len(_stream_weekdays(stream_group))
        by_specialty: dict[str, list[Teacher]] = {}
        primary_rooms = 100
        subject_rooms = 200
        for specialty, (position, female_share) in SPECIALTIES.items():
            if specialty not in totals:
                continue
            if specialty == "primary":
                count = sum(1 for c in self.classes if c.grade <= 4)
            else:
                minimum = 2 if specialty in ("english", "informatics") else 1
                count = max(minimum, math.ceil(totals[specialty] / TEACHER_WEEKLY_HOURS))
            staff = []
            for _ in range(count):
                person = random_adult(rng, female=rng.random() < female_share)
                if specialty == "pe":
                    room: str | None = "Спортзал"
                elif specialty == "primary":
                    primary_rooms += 1
                    room = str(primary_rooms)
                else:
                    subject_rooms += 1
                    if subject_rooms % 100 > 20:
                        subject_rooms += 80
                    room = str(subject_rooms)
                staff.append(Teacher("", person, specialty, position, room))
            by_specialty[specialty] = staff
        for position in STAFF_POSITIONS:
            person = random_adult(rng, female=rng.random() < 0.7)
            by_specialty.setdefault("", []).append(Teacher("", person, None, position, None))
        number = 0
        for staff in by_specialty.values():
            for teacher in staff:
                number += 1
                teacher.id = f"t-{number:02d}"
                self.teachers.append(teacher)
        self._assign_teachers(demands, by_specialty)
        self._assign_homerooms(rng)

    def _teaching_demands(self) -> dict[tuple[str, str, int], int]:
        """(class id, specialty, half: 0 whole class / 1 / 2) → weekly hours."""
        demands: dict[tuple[str, str, int], int] = {}
        for school_class in self.classes:
            for code, hours in WEEKLY_HOURS[school_class.grade]:
                specialty = _specialty_for(school_class.grade, code)
                halves = (1, 2) if _is_split(code, school_class.grade) else (0,)
                for half in halves:
                    key = (school_class.id, specialty, half)
                    demands[key] = demands.get(key, 0) + hours
        return demands

    def _assign_teachers(
        self,
        demands: dict[tuple[str, str, int], int],
        by_specialty: dict[str, list[Teacher]],
    ) -> None:
        """Give each class its teachers: one per specialty (two for split subjects)."""
        primary = iter(by_specialty.get("primary", []))
        for school_class in self.classes:
            if school_class.grade <= 4:
                teacher = next(primary)
                self.assignment[(school_class.id, "primary", 0)] = teacher
                teacher.load += demands[(school_class.id, "primary", 0)]
        ordered = sorted(
            ((key, hours) for key, hours in demands.items() if key[1] != "primary"),
            key=lambda item: (-item[1], item[0]),
        )
        for key, hours in ordered:
            class_id, specialty, half = key
            other = self.assignment.get((class_id, specialty, 3 - half)) if half else None
            candidates = [t for t in by_specialty[specialty] if t is not other]
            teacher = min(candidates, key=lambda t: (t.load, t.id))
            teacher.load += hours
            self.assignment[key] = teacher
        for school_class in self.classes:
            for code, _ in WEEKLY_HOURS[school_class.grade]:
                for section in self._sections(school_class, code):
                    section.teacher.subjects.add(code)
        stream_cells: dict[tuple[str, int], bool] = {}
        for group in self.groups:
            specialty = _specialty_for(group.classes[0].grade, group.subject)
            if group.kind == "stream":
                # A teacher takes at most one stream on a given day, so that streams
                # never share a teacher's cell (grade 11 meets a day after grade 10).
                weekdays = _stream_weekdays(group)
                staff = by_specialty[specialty]
                free = [t for t in staff if not any(stream_cells.get((t.id, d)) for d in weekdays)]
                teacher = min(free or staff, key=lambda t: (t.load, t.id))
                teacher.load += len(weekdays)
                for day in weekdays:
                    stream_cells[(teacher.id, day)] = True
                group.teacher = teacher
            elif group.kind == "individual":
                group.teacher = self.assignment[(group.classes[0].id, specialty, 0)]
            assert group.teacher is not None or group.kind == "group"
            if group.teacher is not None:
                group.teacher.subjects.add(group.subject)

    def _sections(self, school_class: SchoolClass, code: str) -> tuple[Section, ...]:
        """Who teaches ``code`` to the class: one section, or one per half of the class."""
        key = (school_class.id, code)
        cached = self._section_cache.get(key)
        if cached is not None:
            return cached
        specialty = _specialty_for(school_class.grade, code)
        if _is_split(code, school_class.grade):
            halves = [
                g
                for g in self.groups
                if g.kind == "group" and g.subject == code and g.classes[0] is school_class
            ]
            sections = tuple(
                Section(self.assignment[(school_class.id, specialty, part)], group)
                for part, group in enumerate(halves, start=1)
            )
        else:
            sections = (Section(self.assignment[(school_class.id, specialty, 0)], None),)
        self._section_cache[key] = sections
        return sections

    def _teacher_of(self, school_class: SchoolClass, code: str, student: Student) -> Teacher:
        """The teacher who teaches ``code`` to this student (their half of the class)."""
        sections = self._sections(school_class, code)
        for section in sections:
            if section.group is not None and any(s is student for s in section.group.students):
                return section.teacher
        return sections[0].teacher

    def _assign_homerooms(self, rng: random.Random) -> None:
        taken: set[str] = set()
        for school_class in self.classes:
            if school_class.grade <= 4:
                school_class.homeroom = self.assignment[(school_class.id, "primary", 0)]
                taken.add(school_class.homeroom.id)
        for school_class in self.classes:
            if school_class.grade <= 4:
                continue
            hours: dict[str, int] = {}
            mine: list[Teacher] = []
            for code, weekly in WEEKLY_HOURS[school_class.grade]:
                for section in self._sections(school_class, code):
                    teacher = section.teacher
                    if teacher.id not in hours:
                        mine.append(teacher)
                    hours[teacher.id] = hours.get(teacher.id, 0) + weekly
            free = [t for t in mine if t.id not in taken and t.specialty != "pe"]
            if not free:
                free = [t for t in self.teachers if t.id not in taken and t.specialty]
            if not free:
                continue
            best = max(hours.get(t.id, 0) for t in free)
            choice = rng.choice([t for t in free if hours.get(t.id, 0) == best])
            school_class.homeroom = choice
            taken.add(choice.id)

    # ---------------------------------------------------------------- timetable

    def _build_timetable(self) -> None:
        rng = self.rng("timetable")
        self._reserve_streams_and_individuals(rng)
        # Senior classes first: they depend on the most shared specialists.
        for school_class in sorted(self.classes, key=lambda c: (-c.grade, c.id)):
            items = [
                Item(code, hours, self._sections(school_class, code))
                for code, hours in WEEKLY_HOURS[school_class.grade]
            ]
            school_class.grid = TimetablePlanner(self.busy, rng).plan(items)

    def _reserve_streams_and_individuals(self, rng: random.Random) -> None:
        for group in self.groups:
            assert group.teacher is not None or group.kind == "group"
            if group.kind == "stream" and group.teacher is not None:
                cells = [(day, STREAM_SLOT) for day in _stream_weekdays(group)]
            elif group.kind == "individual" and group.teacher is not None:
                days = [
                    d for d in range(5) if (group.teacher.id, d, INDIVIDUAL_SLOT) not in self.busy
                ]
                cells = [(rng.choice(days or [0]), INDIVIDUAL_SLOT)]
            else:
                continue
            for day, slot in cells:
                key = (group.teacher.id, day, slot)
                self.busy[key] = self.busy.get(key, 0) + 1
            self.extra_cells[group.id] = cells

    # ---------------------------------------------------------------- courses, plans

    def _build_courses(self) -> None:
        """Turn the timetable into courses and list each course's lessons for the year."""
        by_key: dict[str, Course] = {}
        for school_class in self.classes:
            for day, cells in enumerate(school_class.grid):
                for slot, item in enumerate(cells, start=1):
                    for section in item.sections:
                        course = self._course_for(by_key, school_class, item.subject, section)
                        course.weekly.append((day, slot))
        for group in self.groups:
            if group.id not in self.extra_cells or group.teacher is None:
                continue
            section = Section(group.teacher, group)
            course = self._course_for(by_key, group.classes[0], group.subject, section)
            course.weekly.extend(self.extra_cells[group.id])
        self.courses = list(by_key.values())
        for course in self.courses:
            course.weekly.sort()
        # Every school day of the year, once per grade, gives each course its lessons.
        days_by_grade = {
            grade: calendar.school_days(calendar.STUDY_START, calendar.STUDY_END, grade)
            for grade in range(1, 12)
        }
        for course in self.courses:
            weekday_slots: dict[int, list[int]] = {}
            for day, slot in course.weekly:
                weekday_slots.setdefault(day, []).append(slot)
            course.occurrences = [
                (day, slot)
                for day in days_by_grade[course.grade]
                for slot in weekday_slots.get(day.weekday(), ())
            ]

    def _course_for(
        self, by_key: dict[str, Course], school_class: SchoolClass, code: str, section: Section
    ) -> Course:
        unit = section.group.id if section.group else school_class.id
        key = f"{unit}:{code}"
        course = by_key.get(key)
        if course is None:
            students = section.group.students if section.group else school_class.students
            # Lessons are in the teacher's room (a primary teacher's room is the class's).
            room = section.teacher.room
            course = Course(key, school_class, section.group, code, section.teacher, room, students)
            by_key[key] = course
        return course

    def _build_curriculum_and_control_works(self) -> None:
        rng = self.rng("plans")
        curriculum: list[Record] = []
        works: list[Record] = []
        planned_at = at(date(2026, 8, 29), 13)
        for course in self.courses:
            course.types = ["lesson"] * len(course.occurrences)
            for period in calendar.attestation_periods(course.grade):
                indices = [
                    i for i, (day, _) in enumerate(course.occurrences) if period.contains(day)
                ]
                self._plan_period(course, period, indices, rng)
                counts = {kind: 0 for kind in LESSON_TYPES}
                for i in indices:
                    counts[course.types[i]] += 1
                curriculum.append(
                    {
                        "id": f"cu-{len(curriculum) + 1:05d}",
                        "yearId": calendar.CURRENT_YEAR_ID,
                        "classId": None if course.group else course.school_class.id,
                        "groupId": course.group.id if course.group else None,
                        "subjectId": subject_id(course.subject),
                        "periodId": period.id,
                        "plannedLessons": len(indices),
                        "byType": counts,
                        "updated_at": self.stamp(planned_at + timedelta(seconds=len(curriculum))),
                    }
                )
                if period.starts_on > self.today_date:
                    continue  # the schedule of a period is published when it starts
                published = at(period.starts_on - timedelta(days=4), 15, rng.randrange(60))
                for i in indices:
                    kind = course.control_kinds.get(i)
                    if kind is None:
                        continue
                    works.append(self._control_work(course, i, kind, len(works) + 1, published))
        self.collections["curriculum"] = curriculum
        self.collections["control-works"] = works

    def _plan_period(
        self, course: Course, period: calendar.Period, indices: list[int], rng: random.Random
    ) -> None:
        """Choose the lesson types of one course in one period (control works included)."""
        if not indices:
            return
        code = course.subject
        wanted = 0
        if course.marked and code in CONTROL_SUBJECTS and len(indices) >= 4:
            per_week = len(course.weekly)
            wanted = 2 if per_week >= 3 else 1
            if period.kind == "half_year":
                wanted += 1
        for n in range(wanted):
            # One control work in each equal slice of the period, late in the slice.
            lo = len(indices) * n // wanted
            hi = len(indices) * (n + 1) // wanted
            middle = lo + (hi - lo) // 2
            position = rng.randrange(middle, max(middle + 1, hi - 1))
            i = indices[position]
            if n == 0 and period.number == 1 and code in DIAGNOSTIC_SUBJECTS:
                i = indices[min(3, len(indices) - 1)]  # входная диагностика in September
                kind = "diagnostic"
            else:
                kind = "test" if code in TEST_CONTROL_SUBJECTS else "control"
            course.control_kinds[i] = kind
            course.types[i] = "test" if kind == "test" else "control"
        for k, i in enumerate(indices):
            if i in course.control_kinds:
                continue
            if code in LAB_SUBJECTS and k % 5 == 3:
                course.types[i] = "lab"
            elif code in PRACTICAL_SUBJECTS and k % 6 == 4:
                course.types[i] = "practical"
            elif code in EXCURSION_SUBJECTS and k % 16 == 9:
                course.types[i] = "excursion"
            elif course.marked and code in TEST_SUBJECTS and k % 12 == 7:
                course.types[i] = "test"

    def _control_work(
        self, course: Course, index: int, kind: str, number: int, published: datetime
    ) -> Record:
        day, _ = course.occurrences[index]
        topic = _content_topic(course, index)
        if kind == "diagnostic":
            title = "Входная диагностическая работа"
        elif kind == "test":
            title = f"Тест по теме «{topic}»"
        elif course.subject == "rus":
            title = "Контрольный диктант"
        else:
            title = f"Контрольная работа по теме «{topic}»"
        return {
            "id": f"cw-{number:04d}",
            "date": day.isoformat(),
            "classId": None if course.group else course.school_class.id,
            "groupId": course.group.id if course.group else None,
            "subjectId": subject_id(course.subject),
            "kind": kind,
            "title": title,
            "updated_at": self.stamp(published + timedelta(seconds=number)),
        }

    # ---------------------------------------------------------------- lessons

    def _build_lessons(self) -> None:
        class_order = {c.id: n for n, c in enumerate(self.classes)}
        drafts: list[tuple[date, int, int, str, Lesson]] = []
        for course in self.courses:
            for index, (day, slot) in enumerate(course.occurrences):
                if day > self.horizon:
                    break
                lesson = Lesson(course, day, slot, index, teacher=course.teacher)
                order = class_order[course.school_class.id]
                drafts.append((day, slot, order, course.key, lesson))
        drafts.sort(key=lambda d: d[:4])
        # Ids follow (date, slot): the simulator's mutations rely on lesson ids sorting
        # in the order of their start.
        for number, (_, _, _, _, lesson) in enumerate(drafts, start=1):
            lesson.id = f"ls-{number:06d}"
            lesson.start, lesson.end = calendar.lesson_bounds(
                lesson.day, lesson.slot, lesson.course.grade
            )
            self.lessons.append(lesson)

    def _build_lesson_changes(self) -> ChangePlanner:
        planner = ChangePlanner(self)
        self.collections["lesson-changes"] = planner.plan()
        return planner

    def _finish_lessons(self, changes: ChangePlanner) -> None:
        """Statuses and records of the lessons, once their changes are known."""
        rng = self.rng("lessons")
        published = at(date(2026, 8, 31), 15)
        records = []
        for lesson in self.lessons:
            course = lesson.course
            change = changes.by_lesson.get(lesson.id)
            start, end = changes.effective_bounds(lesson)
            if change is not None and change["kind"] == "cancel":
                lesson.status = "cancelled"
            elif end <= self.today:
                lesson.status = "conducted"
            if change is not None and change["kind"] == "substitution":
                lesson.teacher = changes.teachers[change["teacherId"]]
            lesson.start, lesson.end = start, end
            updated = published
            if change is not None and change["kind"] != "substitution":
                updated = changes.announced[lesson.id]
            if lesson.status == "conducted":
                updated = self.past(
                    end + timedelta(minutes=rng.randrange(-30, 240)), rng, floor=start
                )
            topic: str | None = _topic(course, lesson.index)
            if lesson.status == "scheduled" and rng.random() < 0.03:
                topic = None  # not planned yet
            room = course.room if rng.random() > 0.01 else None
            bounds = calendar.lesson_bounds(lesson.day, lesson.slot, course.grade)
            record = {
                "id": lesson.id,
                "date": lesson.day.isoformat(),
                "slot": lesson.slot,
                "startsAt": format_timestamp(bounds[0]),
                "endsAt": format_timestamp(bounds[1]),
                "classId": None if course.group else course.school_class.id,
                "groupId": course.group.id if course.group else None,
                "subjectId": subject_id(course.subject),
                "teacherId": course.teacher.id,
                "room": room,
                "topic": topic,
                "lessonType": course.types[lesson.index],
                "status": lesson.status,
                "periodId": _period_id(lesson.day, course.grade),
                "updated_at": self.stamp(max(updated, published)),
            }
            records.append(record)
        self.collections["lessons"] = records

    # ---------------------------------------------------------------- journal

    def _build_attendance_and_marks(self) -> None:
        self._plan_illnesses()
        JournalWriter(self).write()

    def _plan_illnesses(self) -> None:
        """Illness episodes of 2–5 school days: whole days of «б» in the journal."""
        rng = self.rng("illness")
        days_by_grade = {
            grade: calendar.school_days(calendar.STUDY_START, self.today_date, grade)
            for grade in range(1, 12)
        }
        for student in self.students:
            days = days_by_grade[student.grade]
            if not days:
                continue
            # Illness comes at a steady rate per month of school: about once a year.
            months = len(days) / 21
            episodes = sum(1 for _ in range(int(months)) if rng.random() < ILLNESS_PER_MONTH)
            if rng.random() < ILLNESS_PER_MONTH * (months - int(months)):
                episodes += 1
            for _ in range(episodes):
                first = rng.randrange(len(days))
                student.ill_days.update(days[first : first + rng.randint(2, 5)])

    def _build_homework(self) -> None:
        rng = self.rng("homework")
        records: list[Record] = []
        for lesson in self.lessons:
            course = lesson.course
            if lesson.status != "conducted" or not course.marked:
                continue
            if rng.random() >= course.spec.homework_rate:
                continue
            number = len(records) + 1
            assigned = lesson.start.date()
            due = _next_occurrence(course, assigned) or assigned + timedelta(days=7)
            attachments = []
            if rng.random() < 0.1:
                for k in range(1 if rng.random() < 0.85 else 2):
                    name = ATTACHMENT_NAMES[(number + k) % len(ATTACHMENT_NAMES)]
                    attachment_id = f"att-{number:06d}-{k + 1}"
                    url = attachment_path(self.school_id, attachment_id, name)
                    attachments.append({"name": name, "url": url})
            if rng.random() < 0.7:
                entered = lesson.start + timedelta(minutes=rng.randint(20, 45))
            else:
                entered = at(assigned, rng.randint(16, 21), rng.randrange(60))
            records.append(
                {
                    "id": f"hw-{number:06d}",
                    "lessonId": lesson.id,
                    "subjectId": subject_id(course.subject),
                    "classId": None if course.group else course.school_class.id,
                    "groupId": course.group.id if course.group else None,
                    "assignedOn": assigned.isoformat(),
                    "dueOn": due.isoformat(),
                    "text": homework_text(course.subject, rng),
                    "attachments": attachments,
                    "updated_at": self.stamp(self.past(entered, rng, floor=lesson.start)),
                }
            )
        self.collections["homework"] = records

    def _build_recommendations(self) -> None:
        rng = self.rng("recommendations")
        records: list[Record] = []
        month = date(2026, 9, 1)
        while month <= self.today_date:
            month_end = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
            last = min(month_end - timedelta(days=1), self.today_date - timedelta(days=1))
            for school_class in self.classes:
                days = calendar.school_days(month, last, school_class.grade)
                present = [s for s in school_class.students if s.present_on(last)]
                if not days or not present:
                    continue
                for _ in range(rng.randint(1, 4)):
                    records.append(self._recommendation(school_class, days, present, rng, records))
            month = month_end
        self.collections["recommendations"] = records

    def _recommendation(
        self,
        school_class: SchoolClass,
        days: list[date],
        present: list[Student],
        rng: random.Random,
        records: list[Record],
    ) -> Record:
        student = rng.choice(present)
        day = rng.choice(days)
        homeroom = school_class.homeroom
        if rng.random() < 0.85 or homeroom is None:
            code, _ = rng.choice(WEEKLY_HOURS[school_class.grade])
            teacher = self._teacher_of(school_class, code, student)
            subject: str | None = subject_id(code)
            text = rng.choice(RECOMMENDATION_TEXTS)
        else:
            teacher, subject = homeroom, None
            text = rng.choice(GENERAL_RECOMMENDATION_TEXTS)
        written = at(day, rng.randint(13, 19), rng.randrange(60))
        return {
            "id": f"rc-{len(records) + 1:05d}",
            "studentId": student.id,
            "subjectId": subject,
            "teacherId": teacher.id,
            "date": day.isoformat(),
            "text": text,
            "updated_at": self.stamp(written),
        }

    # ---------------------------------------------------------------- consents

    def _build_consents(self) -> None:
        ConsentWriter(self).write()

    # ---------------------------------------------------------------- documents

    def _build_final_grades(self) -> list[Record]:
        return FinalGradeWriter(self).write()

    def _build_exam_results(self) -> list[Record]:
        return ExamWriter(self).write()

    # ---------------------------------------------------------------- reference records

    def _build_reference_records(self) -> None:
        """Teachers, classes, groups and students, once everything about them is known."""
        rng = self.rng("reference")
        self.collections["teachers"] = [
            {
                "id": t.id,
                "lastName": t.person.last_name,
                "firstName": t.person.first_name,
                "middleName": t.person.middle_name,
                "position": t.position,
                "subjectIds": [subject_id(s.code) for s in SUBJECTS if s.code in t.subjects],
                "updated_at": self.stamp(at(date(2026, 8, 28), 10, rng.randrange(60))),
            }
            for t in self.teachers
        ]
        self.collections["classes"] = [
            {
                "id": c.id,
                "yearId": calendar.CURRENT_YEAR_ID,
                "name": c.name,
                "grade": c.grade,
                "letter": c.letter,
                "level": c.level,
                "homeroomTeacherId": c.homeroom.id if c.homeroom else None,
                "updated_at": self.stamp(at(date(2026, 8, 31), 10, rng.randrange(60))),
            }
            for c in self.classes
        ]
        self.collections["groups"] = [self._group_record(g, rng) for g in self.groups]
        self.collections["students"] = [self._student_record(s, rng) for s in self.students]

    def _group_record(self, group: Group, rng: random.Random) -> Record:
        if group.kind == "group":
            teachers = sorted({c.teacher.id for c in self.courses if c.group is group})
        else:
            teachers = [group.teacher.id] if group.teacher else []
        formed = at(date(2026, 9, 2), 12, rng.randrange(60))
        if group.kind == "individual":
            formed = at(date(2026, 9, 7), 11, rng.randrange(60))
        return {
            "id": group.id,
            "yearId": calendar.CURRENT_YEAR_ID,
            "name": group.name,
            "kind": group.kind,
            "subjectId": subject_id(group.subject),
            "classIds": [c.id for c in group.classes],
            "studentIds": [s.id for s in group.students],
            "teacherIds": teachers,
            "updated_at": self.stamp(formed),
        }

    def _student_record(self, student: Student, rng: random.Random) -> Record:
        changed = at(date(2026, 8, 30), 9, rng.randrange(60))
        if student.enrolled_on > date(2026, 8, 30):
            changed = at(student.enrolled_on, 9, rng.randrange(60))
        if student.left_on is not None:
            changed = at(student.left_on, 11, rng.randrange(60))
        return {
            "id": student.id,
            "lastName": student.person.last_name,
            "firstName": student.person.first_name,
            "middleName": student.person.middle_name,
            "birthDate": student.birth.isoformat(),
            "classId": student.class_id,
            "individualPlan": student.individual,
            "status": "left" if student.left_on is not None else "active",
            "enrolledOn": student.enrolled_on.isoformat(),
            "leftOn": student.left_on.isoformat() if student.left_on else None,
            "updated_at": self.stamp(changed),
        }

    # ---------------------------------------------------------------- deliberate errors

    def _inject_deliberate_errors(self) -> None:
        """Spoil a few records on purpose so that the adapter's quarantine is exercised.

        At least one of each kind at any scale (once the journal has a few days of
        records): unknown mark values (one of each of :data:`BAD_MARK_VALUES`), unknown
        attendance codes, marks of a student who does not exist, homework of a lesson
        that does not exist.
        """
        rng = self.rng("errors")
        marks = self.collections["marks"]
        attendance = self.collections["attendance"]
        homework = self.collections["homework"]

        def spoil(records: list[Record], count: int) -> list[Record]:
            # Distinct records; fewer when the collection is that small (say, on 1 September).
            return [records[n] for n in rng.sample(range(len(records)), min(count, len(records)))]

        bad_values = max(len(BAD_MARK_VALUES), round(len(marks) * 0.001))
        unknown_students = max(1, round(3 * self.scale))
        chosen = spoil(marks, bad_values + unknown_students)
        for k, mark in enumerate(chosen[:bad_values]):
            mark["value"] = BAD_MARK_VALUES[k % len(BAD_MARK_VALUES)]
            self._error("marks", mark, f"mark value {mark['value']!r} is not in CONTRACT §4")
        for k, mark in enumerate(chosen[bad_values:]):
            mark["studentId"] = f"st-{len(self.students) + 501 + k:04d}"
            self._error("marks", mark, f"studentId {mark['studentId']} does not exist")
        for k, record in enumerate(spoil(attendance, max(1, round(len(attendance) * 0.001)))):
            record["code"] = BAD_ATTENDANCE_CODES[k % len(BAD_ATTENDANCE_CODES)]
            self._error("attendance", record, f"attendance code {record['code']!r} is unknown")
        for k, record in enumerate(spoil(homework, max(1, round(2 * self.scale)))):
            record["lessonId"] = f"ls-{len(self.lessons) + 1001 + k:06d}"
            self._error("homework", record, f"lessonId {record['lessonId']} does not exist")

    def _error(self, collection: str, record: Record, reason: str) -> None:
        self.errors.append(DeliberateError(collection, record["id"], reason))


# --------------------------------------------------------------------------- families


class FamilyBuilder:
    """Students grouped into families, so that siblings share surname and guardians."""

    SIBLINGS = ((1, 0.87), (2, 0.11), (3, 0.02))

    def __init__(self, school: _SchoolBuilder, class_size: int) -> None:
        self.school = school
        self.class_size = class_size
        self.rng = school.rng("families")
        self.guardians: list[Record] = []
        self.guardian_people: dict[str, Person] = {}
        self.applications: dict[str, Record] = {}
        """Guardian id → the basis of the guardian's application (paper or e-signed)."""
        self.children: dict[str, list[Student]] = {}
        """Guardian id → children; ids are known only once classes are numbered."""

    def build(self) -> None:
        rng = self.rng
        seats = [c for c in self.school.classes for _ in range(self.class_size)]
        rng.shuffle(seats)
        families: list[list[SchoolClass]] = []
        while seats:
            first = seats.pop()
            members = [first]
            wanted = _weighted(rng, self.SIBLINGS)
            for _ in range(wanted - 1):
                grades = {c.grade for c in members}
                for n in range(len(seats) - 1, -1, -1):
                    grade = seats[n].grade
                    if all(1 <= abs(grade - g) <= 7 for g in grades):
                        members.append(seats.pop(n))
                        break
            families.append(members)
        for members in families:
            self._family(members)

    def link_children(self) -> None:
        """Fill the guardians' ``studentIds`` once the students have their ids."""
        for record in self.guardians:
            record["studentIds"] = sorted(child.id for child in self.children[record["id"]])
        self.school.collections["guardians"] = self.guardians
        self.school.guardian_people = self.guardian_people
        self.school.applications = self.applications

    def _family(self, members: list[SchoolClass]) -> None:
        rng = self.rng
        pool = pick_pool(rng)
        surname = rng.choice(pool.surnames)
        father_name = rng.choice(pool.male_adult)
        children: list[Student] = []
        for school_class in members:
            taken = {child.person.first_name for child in children}
            children.append(self._child(school_class, pool, surname, father_name, taken))
        self._guardians_for(children, pool, surname, father_name)

    def _child(
        self,
        school_class: SchoolClass,
        pool: NamePool,
        surname: str,
        father: str,
        siblings_names: set[str],
    ) -> Student:
        rng = self.rng
        female = rng.random() < 0.49
        names = pool.female_child if female else pool.male_child
        first = rng.choice([name for name in names if name not in siblings_names])
        middle: str | None = patronymic(father, female=female)
        if rng.random() < 0.01:
            middle = None
        person = Person(feminine_surname(surname) if female else surname, first, middle, female)
        grade = school_class.grade
        birth = _birth_date(grade, rng)
        enrolled = date(2026 - grade + 1, 9, 1)
        if rng.random() < 0.08:
            enrolled = self._transfer_date(grade, rng)
        left = None
        if rng.random() < 0.02:
            left = self._leave_date(enrolled, rng)
        student = Student(
            id="",
            person=person,
            class_id=school_class.id,
            grade=grade,
            birth=birth,
            enrolled_on=enrolled,
            left_on=left,
            individual=rng.random() < 0.01,
            ability=min(4.9, max(2.6, rng.gauss(3.95, 0.5))),
            released_pe=grade >= 2 and rng.random() < 0.015,
        )
        school_class.students.append(student)
        return student

    def _transfer_date(self, grade: int, rng: random.Random) -> date:
        """Students who came from another school: some this term, most earlier."""
        today = self.school.today_date
        if rng.random() < 0.4 and today > calendar.STUDY_START:
            span = (today - calendar.STUDY_START).days
            return calendar.STUDY_START + timedelta(days=rng.randrange(span))
        first = date(2026 - grade + 1, 9, 1)
        span = (calendar.STUDY_START - first).days
        if span <= 0:
            return first
        return first + timedelta(days=rng.randrange(span))

    def _leave_date(self, enrolled: date, rng: random.Random) -> date | None:
        first = max(enrolled, calendar.STUDY_START) + timedelta(days=1)
        span = (self.school.today_date - first).days
        if span <= 0:
            return None
        return first + timedelta(days=rng.randrange(span))

    def _guardians_for(
        self, children: list[Student], pool: NamePool, surname: str, father_name: str
    ) -> None:
        rng = self.rng
        people: list[tuple[Person, str]] = []
        if rng.random() < 0.04:
            minors = any(child.grade < 8 for child in children)
            relation = "guardian" if minors else "trustee"
            for _ in range(1 if rng.random() < 0.7 else 2):
                female = rng.random() < 0.8
                people.append((random_adult(rng, female=female, pool=pool), relation))
        else:
            mother = rng.random() < 0.96
            father = rng.random() < 0.82 or not mother
            if mother:
                mother_surname = surname if rng.random() < 0.88 else rng.choice(pool.surnames)
                person = Person(
                    feminine_surname(mother_surname),
                    rng.choice(pool.female_adult),
                    patronymic(rng.choice(pool.male_adult), female=True),
                    True,
                )
                people.append((person, "mother"))
            if father:
                person = Person(
                    surname,
                    father_name,
                    patronymic(rng.choice(pool.male_adult), female=False),
                    False,
                )
                people.append((person, "father"))
        for person, relation in people:
            self._guardian(person, relation, children)

    def _guardian(self, person: Person, relation: str, children: list[Student]) -> None:
        rng = self.rng
        guardian_id = f"g-{len(self.guardians) + 1:04d}"
        application = self._application(person, children, rng)
        contacts = []
        if rng.random() < 0.85:
            if rng.random() < 0.92:
                phone = _phone(rng)
                contacts.append({"kind": "phone", "value": phone, "basis": dict(application)})
            if rng.random() < 0.6:
                email = _email(person, rng)
                contacts.append({"kind": "email", "value": email, "basis": dict(application)})
            if rng.random() < 0.2:
                handle = f"@{transliterate(person.first_name)}_{transliterate(person.last_name)}"
                contacts.append({"kind": "messenger", "value": handle, "basis": dict(application)})
        record: Record = {
            "id": guardian_id,
            "lastName": person.last_name,
            "firstName": person.first_name,
            "middleName": person.middle_name,
            "relation": relation,
            "studentIds": [],
            "contacts": contacts,
            "updated_at": "",
        }
        self.guardians.append(record)
        self.children[guardian_id] = children
        self.guardian_people[guardian_id] = person
        self.applications[guardian_id] = application

    def _application(self, person: Person, children: list[Student], rng: random.Random) -> Record:
        """The guardian's written application: the basis of contacts and consents."""
        # Applications come at the start of the year, or when a child joins later.
        start = max(max(c.enrolled_on for c in children), date(2026, 8, 25))
        day = min(start + timedelta(days=rng.randrange(18)), self.school.today_date)
        number = len(self.applications) + 1
        if rng.random() < 0.7:
            return {
                "kind": "paper",
                "documentNo": f"{number}/2026",
                "documentDate": day.isoformat(),
                "registeredBy": f"Секретарь {self.school.secretary.short_name}",
            }
        return {
            "kind": "esign",
            "documentNo": f"ЭД-{number:05d}",
            "documentDate": day.isoformat(),
            "signature": base64.b64encode(rng.randbytes(128)).decode("ascii"),
            "signer": person.full_name,
        }


# --------------------------------------------------------------------------- timetable


class TimetablePlanner:
    """Greedy weekly timetable of one class, avoiding teachers' double bookings.

    Cells are filled day by day, slot by slot, with the subject that most needs a
    place (remaining hours per remaining day) and whose teachers are free; a subject
    appears at most once a day unless its hours force a second lesson. A cell no
    subject fits is filled anyway and then repaired by swapping with another cell of
    the same class.
    """

    def __init__(self, busy: dict[tuple[str, int, int], int], rng: random.Random) -> None:
        self.busy = busy
        self.rng = rng

    def plan(self, items: list[Item]) -> list[list[Item]]:
        total = sum(item.hours for item in items)
        base, extra = divmod(total, 5)
        per_day = [base] * 5
        for day in (1, 2, 3, 0, 4)[:extra]:
            per_day[day] += 1
        remaining = {item: item.hours for item in items}
        grid: list[list[Item]] = [[] for _ in range(5)]
        for day in range(5):
            days_left = 5 - day
            for slot in range(1, per_day[day] + 1):
                item = self._choose(items, remaining, grid[day], day, slot, days_left)
                grid[day].append(item)
                remaining[item] -= 1
                self._book(item, day, slot, +1)
        self._repair(grid)
        return grid

    def _free(self, item: Item, day: int, slot: int) -> bool:
        return all((t.id, day, slot) not in self.busy for t in item.teachers())

    def _choose(
        self,
        items: list[Item],
        remaining: dict[Item, int],
        today: list[Item],
        day: int,
        slot: int,
        days_left: int,
    ) -> Item:
        open_items = [i for i in items if remaining[i] > 0]
        self.rng.shuffle(open_items)
        open_items.sort(key=lambda i: -remaining[i] / days_left)
        for item in open_items:
            again = item in today and remaining[item] < days_left + 1
            if not again and self._free(item, day, slot):
                return item
        for item in open_items:
            if self._free(item, day, slot):
                return item
        return open_items[0]

    def _book(self, item: Item, day: int, slot: int, delta: int) -> None:
        for teacher in item.teachers():
            key = (teacher.id, day, slot)
            count = self.busy.get(key, 0) + delta
            if count:
                self.busy[key] = count
            else:
                del self.busy[key]

    def _clash(self, item: Item, day: int, slot: int) -> bool:
        return any(self.busy.get((t.id, day, slot), 0) > 1 for t in item.teachers())

    def _repair(self, grid: list[list[Item]]) -> None:
        cells = [(d, s) for d in range(5) for s in range(1, len(grid[d]) + 1)]
        for day, slot in cells:
            item = grid[day][slot - 1]
            if not self._clash(item, day, slot):
                continue
            for other_day, other_slot in cells:
                other = grid[other_day][other_slot - 1]
                if other is item:
                    continue
                self._book(item, day, slot, -1)
                self._book(other, other_day, other_slot, -1)
                if self._free(item, other_day, other_slot) and self._free(other, day, slot):
                    grid[day][slot - 1], grid[other_day][other_slot - 1] = other, item
                    self._book(other, day, slot, +1)
                    self._book(item, other_day, other_slot, +1)
                    break
                self._book(item, day, slot, +1)
                self._book(other, other_day, other_slot, +1)


# --------------------------------------------------------------------------- lesson changes


class ChangePlanner:
    """About 3% of lessons are substituted, moved or cancelled, announced before they happen.

    Every school day from today to the end of today's week gets at least one
    substitution: the cabinet shows "today's substitutions".
    """

    SHARE = 0.03
    KINDS = (("substitution", 0.6), ("move", 0.2), ("cancel", 0.2))
    ANNOUNCED_AHEAD = timedelta(days=7)
    """Changes further ahead than this are not known yet at the start."""

    def __init__(self, school: _SchoolBuilder) -> None:
        self.school = school
        self.rng = school.rng("changes")
        self.by_lesson: dict[str, Record] = {}
        self.announced: dict[str, datetime] = {}
        self.teachers = {t.id: t for t in school.teachers}
        self.moved: dict[str, tuple[date, int]] = {}

    def plan(self) -> list[Record]:
        rng = self.rng
        school = self.school
        last_known = school.today_date + self.ANNOUNCED_AHEAD
        for lesson in school.lessons:
            if lesson.day > last_known or rng.random() >= self.SHARE:
                continue
            self._change(lesson, _weighted(rng, self.KINDS))
        self._ensure_substitutions_this_week()
        ordered = sorted(self.by_lesson.values(), key=lambda r: r["lessonId"])
        for number, record in enumerate(ordered, start=1):
            record["id"] = f"lc-{number:05d}"
        return ordered

    def _ensure_substitutions_this_week(self) -> None:
        today = self.school.today_date
        friday = today + timedelta(days=4 - today.weekday())
        by_day: dict[date, list[Lesson]] = {}
        for lesson in self.school.lessons:
            if today <= lesson.day <= friday:
                by_day.setdefault(lesson.day, []).append(lesson)
        for _, lessons in sorted(by_day.items()):
            minimum = max(1, round(3 * self.school.scale))
            done = sum(
                1
                for lesson in lessons
                if self.by_lesson.get(lesson.id, {}).get("kind") == "substitution"
            )
            candidates = [lesson for lesson in lessons if lesson.id not in self.by_lesson]
            self.rng.shuffle(candidates)
            for lesson in candidates[: max(0, minimum - done)]:
                self._change(lesson, "substitution")

    def _change(self, lesson: Lesson, kind: str) -> None:
        rng = self.rng
        record: Record = {
            "id": "",
            "lessonId": lesson.id,
            "kind": kind,
            "teacherId": None,
            "newDate": None,
            "newSlot": None,
            "newRoom": None,
            "reason": None,
            "announcedAt": "",
            "updated_at": "",
        }
        if kind == "move":
            target = self._move_target(lesson)
            if target is None:
                kind = record["kind"] = "substitution"
            else:
                new_day, new_slot = target
                self.moved[lesson.id] = target
                record["newDate"] = new_day.isoformat()
                record["newSlot"] = new_slot
                if rng.random() < 0.4:
                    record["newRoom"] = str(rng.choice((105, 112, 214, 216, 310)))
                record["reason"] = rng.choice(MOVE_REASONS)
        if kind == "substitution":
            substitute = self._substitute(lesson)
            if substitute is None:
                return
            record["teacherId"] = substitute.id
            record["reason"] = rng.choice(SUBSTITUTION_REASONS)
        elif kind == "cancel":
            record["reason"] = rng.choice(CANCEL_REASONS) if rng.random() < 0.8 else None
        announced = self._announcement(lesson)
        self.announced[lesson.id] = announced
        record["announcedAt"] = format_timestamp(announced)
        record["updated_at"] = self.school.stamp(announced)
        self.by_lesson[lesson.id] = record

    def _announcement(self, lesson: Lesson) -> datetime:
        rng = self.rng
        start, _ = calendar.lesson_bounds(lesson.day, lesson.slot, lesson.course.grade)
        if rng.random() < 0.6:
            moment = at(lesson.day, 6, 30) + timedelta(minutes=rng.randrange(85))
        else:
            moment = at(lesson.day - timedelta(days=1), rng.randint(14, 20), rng.randrange(60))
        moment = min(moment, start - timedelta(minutes=10))
        today = self.school.today
        if moment > today:
            moment = today - timedelta(minutes=rng.randint(5, 600))
        return moment

    def _substitute(self, lesson: Lesson) -> Teacher | None:
        weekday = lesson.day.weekday()
        teacher = lesson.course.teacher
        busy = self.school.busy
        free = [
            t
            for t in self.school.teachers
            if t is not teacher and (t.id, weekday, lesson.slot) not in busy
        ]
        same = [t for t in free if t.specialty == teacher.specialty]
        close = [t for t in free if lesson.course.subject in t.subjects]
        options = same or close or [t for t in free if t.specialty] or free
        return self.rng.choice(options) if options else None

    def _move_target(self, lesson: Lesson) -> tuple[date, int] | None:
        """A later slot of the same day or of one of the next three school days."""
        course = lesson.course
        grade = course.grade
        period = calendar.attestation_period(lesson.day, grade)
        day = lesson.day
        for _ in range(4):
            slots_that_day = len(course.school_class.grid[day.weekday()])
            slot = max(slots_that_day, lesson.slot) + 1
            free = (course.teacher.id, day.weekday(), slot) not in self.school.busy
            if slot <= 8 and free and (day, slot) != (lesson.day, lesson.slot):
                return day, slot
            day = _next_school_day(day, grade)
            if period is None or not period.contains(day):
                return None
        return None

    def effective_bounds(self, lesson: Lesson) -> tuple[datetime, datetime]:
        """When the lesson really takes place, after a move."""
        day, slot = self.moved.get(lesson.id, (lesson.day, lesson.slot))
        return calendar.lesson_bounds(day, slot, lesson.course.grade)


# --------------------------------------------------------------------------- journal


class JournalWriter:
    """Attendance and marks, lesson by lesson, as teachers fill the journal in."""

    ABSENCE_SHARE = 0.02
    """Single-lesson absences and lates on top of illness days."""
    RANDOM_CODES = (("н", 0.35), ("о", 0.35), ("у", 0.2), ("п", 0.1))
    SIGNS: ClassVar[dict[str, tuple[str, ...]]] = {
        "5": ("5-",),
        "4": ("4+", "4-"),
        "3": ("3+", "3-"),
    }
    COMMENTS_FOR_TWO = ("Не выполнено домашнее задание", "Не готов к уроку", "Много ошибок")
    COMMENTS = ("Отличный ответ у доски", "Работа на уроке", "Творческая работа", "Доклад")

    def __init__(self, school: _SchoolBuilder) -> None:
        self.school = school
        self.rng = school.rng("journal")
        self.marks: list[Record] = []
        self.attendance: list[Record] = []

    def write(self) -> None:
        for lesson in self.school.lessons:
            if lesson.status == "conducted":
                self._lesson(lesson)
        self.school.collections["marks"] = self.marks
        self.school.collections["attendance"] = self.attendance

    def _lesson(self, lesson: Lesson) -> None:
        rng = self.rng
        course = lesson.course
        entry = _JournalEntry(lesson)
        kind = course.types[lesson.index]
        chance = MARKS_PER_WEEK / max(1, len(course.weekly))
        if kind in ("control", "test"):
            chance = 0.92  # nearly everyone present writes the control work
        elif course.spec.pass_fail:
            chance *= 0.5
        marked = course.marked
        for student in course.students:
            if not student.present_on(entry.day):
                continue
            code = self._attendance_code(student, entry.day)
            if code is not None:
                self._attendance(entry, student, code)
                if code != "о":
                    continue  # absent: no mark (a late student still can get one)
            if marked and rng.random() < chance:
                self._mark(entry, student, kind)

    def _attendance_code(self, student: Student, day: date) -> str | None:
        if day in student.ill_days:
            return "б"
        if self.rng.random() < self.ABSENCE_SHARE:
            return _weighted(self.rng, self.RANDOM_CODES)
        return None

    def _attendance(self, entry: _JournalEntry, student: Student, code: str) -> None:
        rng = self.rng
        record: Record = {
            "id": f"at-{len(self.attendance) + 1:06d}",
            "studentId": student.id,
            "lessonId": entry.lesson_id,
            "date": entry.date,
            "code": code,
        }
        if code in ("б", "у") and rng.random() < 0.15:
            record["comment"] = "Справка" if code == "б" else "Заявление родителей"
        noted = entry.start + timedelta(minutes=_pick_int(rng, 2, 15))
        record["updated_at"] = self.school.stamp(noted)
        self.attendance.append(record)

    def _mark(self, entry: _JournalEntry, student: Student, kind: str) -> None:
        rng = self.rng
        work = self._work_kind(entry.course.subject, kind)
        value = self._value(entry.course, student)
        record: Record = {
            "id": f"mk-{len(self.marks) + 1:06d}",
            "studentId": student.id,
            "lessonId": entry.lesson_id if rng.random() > 0.03 else None,
            "subjectId": entry.subject_id,
            "teacherId": entry.teacher_id,
            "date": entry.date,
            "value": value,
            "weight": WORK_WEIGHTS[work],
            "workKind": work,
        }
        comment = self._comment(value, rng)
        if comment is not None:
            record["comment"] = comment
        record["updated_at"] = self.school.stamp(self._entered(entry))
        self.marks.append(record)

    def _work_kind(self, code: str, lesson_type: str) -> str:
        rng = self.rng
        if lesson_type in ("control", "test", "lab"):
            return lesson_type
        if lesson_type in ("practical", "excursion"):
            return "other"
        roll = rng.random()
        if roll < 0.3:
            return "homework"
        if code == "rus" and roll > 0.85:
            return "dictation"
        if code == "lit" and roll > 0.9:
            return "essay"
        return "answer"

    def _value(self, course: Course, student: Student) -> str:
        rng = self.rng
        if course.subject == "pe" and student.released_pe:
            return "осв"
        if course.spec.pass_fail:
            value = "зач" if rng.random() < 0.97 else "незач"
        elif rng.random() < 0.0005:
            value = "н/а"
        elif rng.random() < 0.002:
            value = "1"
        else:
            number = round(rng.gauss(student.ability, 0.8))
            value = str(min(5, max(2, number)))
            if value in self.SIGNS and rng.random() < 0.05:
                value = rng.choice(self.SIGNS[value])
        if rng.random() < 0.03:
            value = _spelling_variant(value, rng)
        return value

    def _comment(self, value: str, rng: random.Random) -> str | None:
        if value.strip() == "2" and rng.random() < 0.3:
            return rng.choice(self.COMMENTS_FOR_TWO)
        if rng.random() < 0.02:
            return rng.choice(self.COMMENTS)
        return None

    def _entered(self, entry: _JournalEntry) -> datetime:
        """Marks go in during the lesson, in the evening, or a few days later."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.65:
            moment = entry.start + timedelta(minutes=_pick_int(rng, 5, 45))
        elif roll < 0.92:
            moment = at(entry.day, _pick_int(rng, 15, 21), _pick_int(rng, 0, 59))
        else:
            later = entry.day + timedelta(days=_pick_int(rng, 1, 3))
            moment = at(later, _pick_int(rng, 8, 21), _pick_int(rng, 0, 59))
        return self.school.past(moment, rng, floor=entry.start)


class _JournalEntry:
    """What every mark and attendance record of one lesson shares, computed once."""

    __slots__ = ("course", "date", "day", "lesson_id", "start", "subject_id", "teacher_id")

    def __init__(self, lesson: Lesson) -> None:
        self.course = lesson.course
        self.start = lesson.start
        self.day = lesson.start.date()
        self.date = self.day.isoformat()
        self.lesson_id = lesson.id
        self.subject_id = subject_id(lesson.course.subject)
        # A substitute puts the marks in.
        self.teacher_id = (lesson.teacher or lesson.course.teacher).id


# --------------------------------------------------------------------------- consents


class ConsentWriter:
    """One or two consent records per (guardian, student) pair (CONTRACT.md §6)."""

    DECISIONS = (("given", 0.85), ("refused", 0.07), ("revoked", 0.03), ("none", 0.05))

    def __init__(self, school: _SchoolBuilder) -> None:
        self.school = school
        self.rng = school.rng("consents")
        self.records: list[Record] = []

    def write(self) -> None:
        rng = self.rng
        school = self.school
        for guardian in school.collections["guardians"]:
            application = school.applications[guardian["id"]]
            person = school.guardian_people[guardian["id"]]
            latest = date.fromisoformat(application["documentDate"])
            for student_id in guardian["studentIds"]:
                decision = _weighted(rng, self.DECISIONS)
                if decision == "none":
                    continue
                decided = at(
                    date.fromisoformat(application["documentDate"]),
                    rng.randint(8, 16),
                    rng.randrange(60),
                )
                first = "refused" if decision == "refused" else "given"
                self._record(guardian["id"], student_id, first, decided, application)
                if decision == "revoked":
                    revoked = self._revocation_time(decided)
                    if revoked is not None:
                        basis = self._revocation_basis(person, revoked.date())
                        self._record(guardian["id"], student_id, "revoked", revoked, basis)
                        latest = max(latest, revoked.date())
            guardian["updated_at"] = school.stamp(at(latest, 17, rng.randrange(60)))
        self.school.collections["consents"] = self.records

    def _revocation_time(self, given: datetime) -> datetime | None:
        first = given.date() + timedelta(days=14)
        span = (self.school.today_date - first).days
        if span <= 0:
            return None
        return at(first + timedelta(days=self.rng.randrange(span)), self.rng.randint(9, 16))

    def _revocation_basis(self, person: Person, day: date) -> Record:
        number = len(self.records) + 1
        return {
            "kind": "paper",
            "documentNo": f"{number}-О/2026",
            "documentDate": day.isoformat(),
            "registeredBy": f"Секретарь {self.school.secretary.short_name}",
        }

    def _record(
        self, guardian_id: str, student_id: str, decision: str, decided: datetime, basis: Record
    ) -> None:
        rng = self.rng
        if decision == "given":
            channels = ["cabinet"]
            if rng.random() < 0.6:
                channels.append("email")
            if rng.random() < 0.3:
                channels.append("sms")
            if rng.random() < 0.1:
                channels.append("messenger")
        else:
            channels = ["paper"]
        registered = decided
        if basis["kind"] == "paper" and rng.random() < 0.3:
            # A paper application is often typed in by the secretary the next day.
            registered = at(
                decided.date() + timedelta(days=1), rng.randint(9, 16), rng.randrange(60)
            )
        self.records.append(
            {
                "id": f"cn-{len(self.records) + 1:05d}",
                "guardianId": guardian_id,
                "studentId": student_id,
                "decision": decision,
                "channels": channels,
                "decidedAt": format_timestamp(min(decided, self.school.today)),
                "basis": dict(basis),
                "updated_at": self.school.stamp(registered),
            }
        )


# --------------------------------------------------------------------------- documents


class FinalGradeWriter:
    """Period grades (<Grade> of the сводная ведомость) for periods that ended before today.

    Grades 2–9 get quarter grades and 10–11 half-year grades, each the weighted average
    of the student's numeric marks of the period rounded at .5; about 1% are deferred
    (отсрочка) for illness.
    """

    def __init__(self, school: _SchoolBuilder) -> None:
        self.school = school
        self.rng = school.rng("final-grades")

    def write(self) -> list[Record]:
        school = self.school
        sums = self._tallies()
        records: list[Record] = []
        for school_class in school.classes:
            if school_class.grade < 2:
                continue
            for period in calendar.attestation_periods(school_class.grade):
                if _last_school_day(period, school_class.grade) >= school.today_date:
                    continue  # not over yet: its grades are not set
                for student in school_class.students:
                    if not student.present_on(period.ends_on):
                        continue
                    for code, _ in WEEKLY_HOURS[school_class.grade]:
                        tally = sums.get((student.id, subject_id(code), period.id))
                        records.append(
                            self._grade(school_class, student, code, period, tally, len(records))
                        )
        return records

    def _tallies(self) -> dict[tuple[str, str, str], list[int]]:
        """(student id, subject id, period id) → the tally of the marks (see :func:`_tally`)."""
        sums: dict[tuple[str, str, str], list[int]] = {}
        grades = {s.id: s.grade for s in self.school.students}
        for mark in self.school.collections["marks"]:
            grade = grades.get(mark["studentId"])
            if grade is None:
                continue  # a deliberately dangling mark
            period_id = _period_id(date.fromisoformat(mark["date"]), grade)
            if period_id is None:
                continue
            key = (mark["studentId"], mark["subjectId"], period_id)
            _tally(sums.setdefault(key, [0, 0, 0, 0, 0]), mark["value"], mark["weight"])
        return sums

    def _grade(
        self,
        school_class: SchoolClass,
        student: Student,
        code: str,
        period: calendar.Period,
        tally: list[int] | None,
        count: int,
    ) -> Record:
        rng = self.rng
        school = self.school
        teacher = school._teacher_of(school_class, code, student)
        days = calendar.school_days(
            period.ends_on - timedelta(days=6), period.ends_on, school_class.grade
        )
        set_on = rng.choice(days[-3:]) if days else period.ends_on
        updated = at(set_on, rng.randint(13, 18), rng.randrange(60))
        record: Record = {
            "id": f"fg-{count + 1:06d}",
            "subjectId": subject_id(code),
            "kind": period.kind,
        }
        if rng.random() < 0.01:
            until = school.today_date + timedelta(days=rng.randint(7, 45))
            record.update(
                {
                    "value": "",
                    "deferred": "true",
                    "deferReason": "illness",
                    "deferredUntil": until.isoformat(),
                }
            )
        else:
            record["value"] = _final_value(SUBJECT_BY_CODE[code], tally)
            record["setOn"] = set_on.isoformat()
        record["teacherId"] = teacher.id
        record["updated"] = school.stamp(updated)
        record.update(
            {
                "periodId": period.id,
                "classId": school_class.id,
                "className": school_class.name,
                "studentId": student.id,
            }
        )
        return record


class ExamWriter:
    """Exam results known by today: the grade-11 final essay and a mock ОГЭ in grade 9."""

    ESSAY_DAY = date(2026, 12, 3)
    MOCK_OGE = (
        # (subject, day, max score, lowest score of «3», «4», «5»)
        ("math", date(2026, 11, 18), 31, (8, 15, 22)),
        ("rus", date(2026, 11, 20), 37, (15, 23, 32)),
    )

    def __init__(self, school: _SchoolBuilder) -> None:
        self.school = school
        self.rng = school.rng("exams")
        self.records: list[Record] = []

    def write(self) -> list[Record]:
        self._essay()
        self._mock_oge()
        return self.records

    def _sitters(self, grade: int, day: date) -> Iterator[Student]:
        for student in self.school.students:
            if student.grade == grade and student.present_on(day) and day not in student.ill_days:
                yield student

    def _essay(self) -> None:
        rng = self.rng
        result_at = at(self.ESSAY_DAY + timedelta(days=1), 8) + timedelta(minutes=rng.randrange(90))
        if result_at > self.school.today:
            return
        for student in self._sitters(11, self.ESSAY_DAY):
            score = min(5, max(0, round(rng.gauss(student.ability, 0.7))))
            self._result(
                student,
                "rus",
                "Итоговое сочинение",
                self.ESSAY_DAY,
                score,
                5,
                "зач" if score >= 3 else "незач",
                result_at,
            )

    def _mock_oge(self) -> None:
        rng = self.rng
        for code, day, maximum, thresholds in self.MOCK_OGE:
            result_at = at(day + timedelta(days=rng.randint(3, 5)), 16, rng.randrange(60))
            if result_at > self.school.today:
                continue
            for student in self._sitters(9, day):
                share = min(1.0, max(0.0, rng.gauss((student.ability - 2.2) / 3.0, 0.12)))
                score = round(share * maximum)
                mark = 2 + sum(1 for low in thresholds if score >= low)
                self._result(
                    student, code, "ОГЭ (пробный)", day, score, maximum, str(mark), result_at
                )

    def _result(
        self,
        student: Student,
        code: str,
        exam: str,
        day: date,
        score: int,
        maximum: int,
        mark: str,
        result_at: datetime,
    ) -> None:
        self.records.append(
            {
                "id": f"ex-{len(self.records) + 1:04d}",
                "studentId": student.id,
                "subjectId": subject_id(code),
                "exam": exam,
                "heldOn": day.isoformat(),
                "score": str(score),
                "maxScore": str(maximum),
                "mark": mark,
                "resultAt": format_timestamp(result_at),
                "updated": self.school.stamp(result_at),
                "yearId": calendar.CURRENT_YEAR_ID,
            }
        )


# --------------------------------------------------------------------------- small helpers


def _letter_id(letter: str) -> str:
    """Latin spelling of a class letter for ids: 5А → c-5a, 5Б → c-5b, 5В → c-5v."""
    return transliterate(letter)


def _specialty_for(grade: int, code: str) -> str:
    if grade <= 4 and code in PRIMARY_TEACHER_SUBJECTS:
        return "primary"
    if grade <= 4 and code == "crimea":
        return "primary"
    return SUBJECT_BY_CODE[code].specialty


def _is_split(code: str, grade: int) -> bool:
    first = SPLIT_FROM_GRADE.get(code)
    return first is not None and grade >= first


def _stream_weekdays(group: Group) -> tuple[int, ...]:
    """The stream's days; grade 11 a day later than grade 10, so one teacher can take both."""
    spec = next(spec for spec in STREAMS if spec.subject == group.subject)
    shift = group.classes[0].grade - STREAM_GRADES[0]
    return tuple((day + shift) % 5 for day in spec.weekdays)


def _individual_subject(grade: int, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "rus"
    return "math" if grade <= 6 else "alg"


def _weighted(rng: random.Random, options: Sequence[tuple[T, float]]) -> T:
    """One of ``options`` (value, share), the shares summing to 1."""
    roll = rng.random()
    for value, share in options:
        if roll < share:
            return value
        roll -= share
    return options[-1][0]


def _pick_int(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high]; cheaper than ``randint`` in the hot loops."""
    return low + int(rng.random() * (high - low + 1))


def _birth_date(grade: int, rng: random.Random) -> date:
    """Most children start school at 7: born September … August, a few younger or older."""
    start = date(2026 - grade - 6, 9, 1)
    offset = rng.randrange(365)
    roll = rng.random()
    if roll < 0.08:
        offset += 150  # started at six and a half
    elif roll < 0.12:
        offset -= 200  # started at eight
    return start + timedelta(days=offset)


def _phone(rng: random.Random) -> str:
    """A Crimean mobile number (operator code 978)."""
    return f"+7 978 {rng.randrange(1000):03d}-{rng.randrange(100):02d}-{rng.randrange(100):02d}"


def _email(person: Person, rng: random.Random) -> str:
    domain = rng.choice(("mail.ru", "yandex.ru", "gmail.com", "list.ru"))
    first = transliterate(person.first_name)[0]
    return f"{first}.{transliterate(person.last_name)}{rng.randint(1, 99)}@{domain}"


def _inn(rng: random.Random) -> str:
    """A 10-digit INN of a legal entity in Crimea (tax code 91) with a valid check digit."""
    digits = [9, 1, 0, 2] + [rng.randrange(10) for _ in range(5)]
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11 % 10
    return "".join(map(str, digits)) + str(check)


def _topic(course: Course, index: int) -> str:
    kind = course.types[index] if course.types else "lesson"
    if kind == "control":
        return "Контрольная работа"
    if kind == "lab":
        return f"Лабораторная работа № {index // 5 + 1}"
    return _content_topic(course, index)


def _content_topic(course: Course, index: int) -> str:
    """The topic of the course's ``index``-th lesson: three lessons per topic, in a cycle."""
    topics = TOPICS[course.subject]
    return topics[(index // 3) % len(topics)]


def homework_text(code: str, rng: random.Random) -> str:
    """A homework text in the journal's usual abbreviations."""
    template = rng.choice(HOMEWORK_TEXTS.get(code, HOMEWORK_FALLBACK))
    n = rng.randint(10, 480)
    p = rng.randint(5, 180)
    s = rng.randint(1, 40)
    return template.format(
        n=n,
        n2=n + rng.randint(1, 6),
        p=p,
        p2=p + rng.randint(2, 8),
        s=s,
        s2=rng.randint(1, 8),
        s3=rng.randint(9, 14),
    )


def _period_id(day: date, grade: int) -> str | None:
    period = calendar.attestation_period(day, grade)
    return period.id if period else None


def _next_occurrence(course: Course, day: date) -> date | None:
    position = bisect.bisect_right(course.occurrences, (day, 99))
    if position < len(course.occurrences):
        return course.occurrences[position][0]
    return None


def _next_school_day(day: date, grade: int) -> date:
    day += timedelta(days=1)
    while not calendar.is_school_day(day, grade) and day <= calendar.STUDY_END:
        day += timedelta(days=1)
    return day


def _last_school_day(period: calendar.Period, grade: int) -> date:
    days = calendar.school_days(period.ends_on - timedelta(days=10), period.ends_on, grade)
    return days[-1] if days else period.ends_on


def _spelling_variant(value: str, rng: random.Random) -> str:
    """How values look when typed by hand: « 5 », «Зач», «ЗАЧ»."""
    roll = rng.random()
    if value[0].isdigit():
        return f" {value} " if roll < 0.5 else f"{value} "
    if roll < 0.4:
        return f" {value.capitalize()} "
    if roll < 0.7:
        return value.upper()
    return value.capitalize()


def _tally(tally: list[int], value: str, weight: int) -> None:
    """Add one mark to [Σ mark×weight, Σ weight, passes, fails, released]."""
    number = numeric_mark(value)
    if number is not None:
        tally[0] += number * weight
        tally[1] += weight
        return
    word = value.strip().lower()
    if word == "зач":
        tally[2] += 1
    elif word == "незач":
        tally[3] += 1
    elif word == "осв":
        tally[4] += 1


def _final_value(spec: SubjectSpec, tally: list[int] | None) -> str:
    if tally is None:
        return "н/а"
    if tally[4]:
        return "осв"
    if spec.pass_fail:
        if tally[2] + tally[3] == 0:
            return "н/а"
        return "зач" if tally[2] >= tally[3] else "незач"
    if tally[1] == 0:
        return "н/а"
    return str(min(5, max(2, round_half_up(tally[0], tally[1]))))


def generate(school_index: int, *, seed: int, scale: float, today: datetime) -> SchoolData:
    """Everything the ``school_index``-th simulated school holds at ``today``.

    Deterministic: the same arguments give the same data, byte for byte.
    """
    return _SchoolBuilder(school_index, seed, scale, today).build()
