"""Russian (and Crimean Tatar) name pools for the simulated schools.

Families share a surname and the children's patronymic comes from the father's first
name, so the generator picks names through :class:`Person` helpers rather than strings.
Surnames are stored in their masculine form; :func:`feminine_surname` derives the
feminine one by the usual rules (Иванов → Иванова, Покровский → Покровская, while
Шевченко, Ковальчук and Черных do not change).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

_PATRONYMICS: dict[str, tuple[str, str]] = {
    # first name: (masculine patronymic, feminine patronymic)
    "Александр": ("Александрович", "Александровна"),
    "Алексей": ("Алексеевич", "Алексеевна"),
    "Анатолий": ("Анатольевич", "Анатольевна"),
    "Андрей": ("Андреевич", "Андреевна"),
    "Антон": ("Антонович", "Антоновна"),
    "Артём": ("Артёмович", "Артёмовна"),
    "Борис": ("Борисович", "Борисовна"),
    "Вадим": ("Вадимович", "Вадимовна"),
    "Валерий": ("Валерьевич", "Валерьевна"),
    "Василий": ("Васильевич", "Васильевна"),
    "Виктор": ("Викторович", "Викторовна"),
    "Виталий": ("Витальевич", "Витальевна"),
    "Владимир": ("Владимирович", "Владимировна"),
    "Геннадий": ("Геннадьевич", "Геннадьевна"),
    "Георгий": ("Георгиевич", "Георгиевна"),
    "Глеб": ("Глебович", "Глебовна"),
    "Даниил": ("Даниилович", "Данииловна"),
    "Денис": ("Денисович", "Денисовна"),
    "Дмитрий": ("Дмитриевич", "Дмитриевна"),
    "Евгений": ("Евгеньевич", "Евгеньевна"),
    "Егор": ("Егорович", "Егоровна"),
    "Иван": ("Иванович", "Ивановна"),
    "Игорь": ("Игоревич", "Игоревна"),
    "Илья": ("Ильич", "Ильинична"),
    "Кирилл": ("Кириллович", "Кирилловна"),
    "Константин": ("Константинович", "Константиновна"),
    "Лев": ("Львович", "Львовна"),
    "Максим": ("Максимович", "Максимовна"),
    "Марк": ("Маркович", "Марковна"),
    "Матвей": ("Матвеевич", "Матвеевна"),
    "Михаил": ("Михайлович", "Михайловна"),
    "Никита": ("Никитич", "Никитична"),
    "Николай": ("Николаевич", "Николаевна"),
    "Олег": ("Олегович", "Олеговна"),
    "Павел": ("Павлович", "Павловна"),
    "Пётр": ("Петрович", "Петровна"),
    "Роман": ("Романович", "Романовна"),
    "Руслан": ("Русланович", "Руслановна"),
    "Семён": ("Семёнович", "Семёновна"),
    "Сергей": ("Сергеевич", "Сергеевна"),
    "Степан": ("Степанович", "Степановна"),
    "Тимофей": ("Тимофеевич", "Тимофеевна"),
    "Тимур": ("Тимурович", "Тимуровна"),
    "Фёдор": ("Фёдорович", "Фёдоровна"),
    "Юрий": ("Юрьевич", "Юрьевна"),
    "Ярослав": ("Ярославович", "Ярославовна"),
    # Crimean Tatar names take the Russian suffixes in documents.
    "Айдер": ("Айдерович", "Айдеровна"),
    "Алим": ("Алимович", "Алимовна"),
    "Амет": ("Аметович", "Аметовна"),
    "Арсен": ("Арсенович", "Арсеновна"),
    "Исмаил": ("Исмаилович", "Исмаиловна"),
    "Ленур": ("Ленурович", "Ленуровна"),
    "Решат": ("Решатович", "Решатовна"),
    "Рустем": ("Рустемович", "Рустемовна"),
    "Сейран": ("Сейранович", "Сейрановна"),
    "Эдем": ("Эдемович", "Эдемовна"),
    "Эльдар": ("Эльдарович", "Эльдаровна"),
    "Эмир": ("Эмирович", "Эмировна"),
    "Энвер": ("Энверович", "Энверовна"),
}


@dataclass(frozen=True, slots=True)
class NamePool:
    """The names of one naming tradition, split by generation (parents vs children)."""

    surnames: tuple[str, ...]
    male_adult: tuple[str, ...]
    female_adult: tuple[str, ...]
    male_child: tuple[str, ...]
    female_child: tuple[str, ...]


# fmt: off
SLAVIC = NamePool(
    surnames=(
        "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов",
        "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев",
        "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев", "Орлов",
        "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв", "Борисов",
        "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов",
        "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов",
        "Поляков", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов",
        "Тарасов", "Жуков", "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев",
        "Герасимов", "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов", "Марков",
        "Миронов", "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов",
        "Покровский", "Вишневский", "Ковальский", "Луговской", "Савицкий", "Шевченко",
        "Бондаренко", "Коваленко", "Ткаченко", "Кравченко", "Ковальчук", "Мельничук",
        "Савчук", "Полищук", "Черных", "Белых", "Седых",
    ),
    male_adult=(
        "Александр", "Алексей", "Андрей", "Антон", "Вадим", "Виктор", "Виталий",
        "Владимир", "Денис", "Дмитрий", "Евгений", "Иван", "Игорь", "Константин",
        "Максим", "Михаил", "Николай", "Олег", "Павел", "Роман", "Руслан", "Сергей",
        "Юрий", "Валерий", "Геннадий", "Анатолий", "Василий", "Борис", "Пётр",
    ),
    female_adult=(
        "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана", "Юлия", "Анна",
        "Екатерина", "Марина", "Оксана", "Людмила", "Галина", "Виктория", "Анастасия",
        "Евгения", "Алёна", "Надежда", "Валентина", "Лариса", "Инна", "Мария",
    ),
    male_child=(
        "Александр", "Артём", "Максим", "Михаил", "Даниил", "Иван", "Кирилл", "Матвей",
        "Тимофей", "Егор", "Лев", "Марк", "Глеб", "Ярослав", "Фёдор", "Степан", "Никита",
        "Дмитрий", "Илья", "Роман", "Алексей", "Андрей", "Сергей", "Георгий", "Семён",
        "Тимур", "Владимир", "Денис", "Павел", "Константин",
    ),
    female_child=(
        "Анна", "Мария", "София", "Алиса", "Виктория", "Полина", "Анастасия", "Елизавета",
        "Дарья", "Варвара", "Ксения", "Александра", "Вероника", "Арина", "Ева",
        "Василиса", "Милана", "Екатерина", "Кира", "Ульяна", "Валерия", "Таисия", "Злата",
    ),
)

CRIMEAN_TATAR = NamePool(
    surnames=(
        "Аметов", "Сейтумеров", "Абдуллаев", "Османов", "Умеров", "Халилов", "Джемилев",
        "Мустафаев", "Ибраимов", "Велиев", "Абибуллаев", "Куртсеитов", "Эминов", "Асанов",
    ),
    male_adult=(
        "Рустем", "Эдем", "Ленур", "Эльдар", "Энвер", "Решат", "Айдер", "Исмаил", "Алим",
        "Сейран", "Амет",
    ),
    female_adult=(
        "Эльвира", "Зарема", "Гульнара", "Ленара", "Эльмира", "Эмине", "Фатиме", "Севиля",
    ),
    male_child=("Эмир", "Арсен", "Тимур", "Рустем", "Эдем", "Эльдар", "Алим", "Амет"),
    female_child=(
        "Эльмаз", "Алие", "Зарема", "Мерьем", "Сафие", "Амина", "Эсма", "Эльвина", "Лейля",
        "Диляра",
    ),
)

# fmt: on

POOLS: tuple[tuple[NamePool, float], ...] = ((SLAVIC, 0.87), (CRIMEAN_TATAR, 0.13))
"""Pools with their share of families; Crimea has a sizeable Crimean Tatar community."""


@dataclass(frozen=True, slots=True)
class Person:
    """A full Russian name; ``middle_name`` is the patronymic (``None`` when there is none)."""

    last_name: str
    first_name: str
    middle_name: str | None
    female: bool

    @property
    def full_name(self) -> str:
        """«Иванова Мария Петровна», as documents write it."""
        parts = [self.last_name, self.first_name]
        if self.middle_name:
            parts.append(self.middle_name)
        return " ".join(parts)

    @property
    def short_name(self) -> str:
        """«Иванова М. П.», as a register signs it."""
        initials = f"{self.first_name[0]}."
        if self.middle_name:
            initials += f" {self.middle_name[0]}."
        return f"{self.last_name} {initials}"


def feminine_surname(surname: str) -> str:
    """The feminine form of a masculine surname; indeclinable surnames stay as they are."""
    if surname.endswith(("ский", "цкий")):
        return surname[:-2] + "ая"
    if surname.endswith("ской"):
        return surname[:-2] + "ая"
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname


def surname_for(surname: str, *, female: bool) -> str:
    """The surname in the gender of its bearer."""
    return feminine_surname(surname) if female else surname


def patronymic(father_first_name: str, *, female: bool) -> str:
    """The patronymic derived from the father's first name (Илья → Ильич / Ильинична)."""
    masculine, feminine = _PATRONYMICS[father_first_name]
    return feminine if female else masculine


def pick_pool(rng: random.Random) -> NamePool:
    """A naming tradition, weighted by its share of families in the region."""
    roll = rng.random()
    for pool, share in POOLS:
        if roll < share:
            return pool
        roll -= share
    return POOLS[0][0]


def random_adult(rng: random.Random, *, female: bool, pool: NamePool | None = None) -> Person:
    """An adult (teacher, grandparent) with a patronymic from an older generation's names."""
    pool = pool or pick_pool(rng)
    surname = rng.choice(pool.surnames)
    first = rng.choice(pool.female_adult if female else pool.male_adult)
    father = rng.choice(pool.male_adult)
    return Person(
        last_name=surname_for(surname, female=female),
        first_name=first,
        middle_name=patronymic(father, female=female),
        female=female,
    )


# fmt: off
_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
}
# fmt: on


def transliterate(text: str) -> str:
    """Latin spelling of a Russian word for e-mail addresses (lower case)."""
    return "".join(_TRANSLIT.get(ch, ch) for ch in text.lower())
