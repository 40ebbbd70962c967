"""Data contracts: one pandera model per input table of DOMAIN §3.

Every table is keyed by string ids (school logins and municipality codes keep leading zeros) and by
``year``, the calendar year of the spring assessment. Shares are fractions in [0, 1], never percent.
Values are parsed to their types before validation (see ``workbench.parsing``), so these models check
rules, not spelling. ``TABLES`` lists the tables with their Russian title, key and real-life source;
``data_dictionary()`` renders ``data/README.md`` from it.

Example
-------
>>> import pandas as pd
>>> from workbench.data.schemas import TABLES
>>> TABLES["schools"].key
('school_id',)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from workbench import vocab

ID_PATTERN = r"^[0-9A-Za-zА-Яа-яЁё_\-]{1,32}$"
MUNICIPALITY_PATTERN = r"^[0-9A-Za-zА-Яа-яЁё_\-]{1,16}$"

Int = pd.Int64Dtype
Float = pd.Float64Dtype
Bool = pd.BooleanDtype


def _id(title: str, description: str, **kw) -> pa.Field:
    return pa.Field(str_matches=ID_PATTERN, title=title, description=description, **kw)


def _share(title: str, description: str) -> pa.Field:
    return pa.Field(ge=0, le=1, nullable=True, title=title, description=description)


def _year() -> pa.Field:
    return pa.Field(ge=2000, le=2100, title="Год", description="календарный год весенней оценочной процедуры")


def _municipality() -> pa.Field:
    return pa.Field(str_matches=MUNICIPALITY_PATTERN, title="Код муниципалитета",
                    description="строковый код муниципального образования (ведущие нули значимы)")


def _school() -> pa.Field:
    return _id("Код ОО", "логин ОО в ФИС ОКО (eduNNNNNN) или муниципальный код школы, строка")


class _Base(pa.DataFrameModel):
    class Config:
        strict = "filter"  # unknown columns were already reported by the importer
        coerce = False


class Schools(_Base):
    school_id: Series[str] = _school()
    municipality: Series[str] = _municipality()
    name: Series[str] = pa.Field(str_length={"min_value": 1}, title="Наименование ОО", description="краткое наименование")
    school_type: Series[str] = pa.Field(isin=list(vocab.SCHOOL_TYPES), title="Тип ОО",
                                        description="СОШ, ООШ, НОШ, СОШ с УИОП, гимназия, лицей")
    settlement: Series[str] = pa.Field(isin=list(vocab.SETTLEMENTS), title="Местность", description="город или село")
    enrolment: Series[Int] = pa.Field(ge=0, le=10000, title="Численность обучающихся", description="контингент на начало года")
    distance_km: Series[Float] = pa.Field(ge=0, le=2000, nullable=True, title="Удалённость, км",
                                          description="расстояние до муниципального центра")
    small_class: Series[Bool] = pa.Field(title="Малокомплектная", description="признак малокомплектной школы")


class Vpr(_Base):
    """One row per participant and work (ВПР). Task scores sit in slots task_01..task_40."""

    year: Series[Int] = _year()
    municipality: Series[str] = _municipality()
    school_id: Series[str] = _school()
    subject: Series[str] = pa.Field(isin=list(vocab.SUBJECTS), title="Предмет", description="код предмета (rus, math, ...)")
    grade: Series[Int] = pa.Field(isin=list(vocab.VPR_GRADES), title="Класс (параллель)", description="4–8, 10, 11")
    class_label: Series[str] = pa.Field(nullable=True, title="Класс", description="буква/литер класса, например 5Б")
    participant: Series[str] = pa.Field(str_matches=r"^\d{1,10}$", title="Код участника",
                                        description="код участника ВПР (обычно 5 цифр), строка")
    variant: Series[Int] = pa.Field(ge=1, le=99, nullable=True, title="Вариант", description="пусто у отсутствовавших")
    absent: Series[Bool] = pa.Field(title="Отсутствовал", description="участник не писал работу; баллов нет, а не нули")
    sex: Series[str] = pa.Field(isin=list(vocab.SEXES), nullable=True, title="Пол", description="М / Ж")
    journal_mark: Series[Int] = pa.Field(isin=list(vocab.MARKS), nullable=True, title="Отметка по журналу",
                                         description="отметка за предыдущий период (четверть/триместр/полугодие/год)")
    primary_score: Series[Int] = pa.Field(ge=0, le=200, nullable=True, title="Первичный балл",
                                          description="пересчитан по баллам за задания")
    mark: Series[Int] = pa.Field(isin=list(vocab.MARKS), nullable=True, title="Отметка за ВПР",
                                 description="пересчитана по первичному баллу и шкале перевода")
    primary_score_reported: Series[Int] = pa.Field(ge=0, le=200, nullable=True, title="Первичный балл (в файле)",
                                                   description="как указан в выгрузке")
    mark_reported: Series[Int] = pa.Field(isin=list(vocab.MARKS), nullable=True, title="Отметка (в файле)",
                                          description="как указана в выгрузке")
    task_: Series[Int] = pa.Field(alias=r"^task_\d{2}$", regex=True, ge=0, le=20, nullable=True,
                                  title="Балл за задание", description="слот задания; пусто — задание не выполнялось (X) или слота нет")


class VprTasks(_Base):
    year: Series[Int] = _year()
    subject: Series[str] = pa.Field(isin=list(vocab.SUBJECTS), title="Предмет", description="код предмета")
    grade: Series[Int] = pa.Field(isin=list(vocab.VPR_GRADES), title="Класс (параллель)", description="4–8, 10, 11")
    position: Series[Int] = pa.Field(ge=1, le=vocab.MAX_TASK_SLOTS, title="Позиция", description="номер слота task_NN")
    task: Series[str] = pa.Field(str_length={"min_value": 1}, title="Задание", description="метка задания: 1, 9.1, 11.3 K1")
    max_score: Series[Int] = pa.Field(ge=1, le=20, title="Максимальный балл", description="из заголовка «1 (2б)»")
    level: Series[str] = pa.Field(isin=list(vocab.TASK_LEVELS), nullable=True, title="Уровень",
                                  description="Б базовый, П повышенный, В высокий")
    skill: Series[str] = pa.Field(nullable=True, title="Проверяемое умение", description="по кодификатору")


class MarkScales(_Base):
    year: Series[Int] = _year()
    subject: Series[str] = pa.Field(isin=list(vocab.SUBJECTS), title="Предмет", description="код предмета")
    grade: Series[Int] = pa.Field(isin=list(vocab.VPR_GRADES), title="Класс (параллель)", description="4–8, 10, 11")
    max_score: Series[Int] = pa.Field(ge=1, le=200, title="Максимальный первичный балл", description="сумма максимумов заданий")
    min3: Series[Int] = pa.Field(ge=1, title="Минимум на «3»", description="наименьший балл для отметки 3")
    min4: Series[Int] = pa.Field(ge=1, title="Минимум на «4»", description="наименьший балл для отметки 4")
    min5: Series[Int] = pa.Field(ge=1, title="Минимум на «5»", description="наименьший балл для отметки 5")
    source: Series[str] = pa.Field(str_length={"min_value": 1}, title="Источник", description="документ, откуда взята шкала")

    @pa.dataframe_check(error="min3 < min4 < min5 <= max_score")
    def ordered(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["min3"] < df["min4"]) & (df["min4"] < df["min5"]) & (df["min5"] <= df["max_score"])


class Exams(_Base):
    year: Series[Int] = _year()
    municipality: Series[str] = _municipality()
    school_id: Series[str] = _school()
    exam: Series[str] = pa.Field(isin=list(vocab.EXAMS), title="Экзамен", description="ОГЭ или ЕГЭ")
    subject: Series[str] = pa.Field(title="Предмет", description="код предмета или «sum3» — сумма трёх предметов ЕГЭ")
    participants: Series[Int] = pa.Field(ge=0, le=5000, title="Участников", description="число сдававших")
    mean_score: Series[Float] = pa.Field(ge=0, le=400, nullable=True, title="Средний балл", description="средний балл")
    n_below_min: Series[Int] = pa.Field(ge=0, nullable=True, title="Не преодолели минимум", description="число участников")
    n_good: Series[Int] = pa.Field(ge=0, nullable=True, title="Хороший результат",
                                   description="число с «4» и «5» (ОГЭ) или с баллом не ниже good_threshold (ЕГЭ)")
    n_high: Series[Int] = pa.Field(ge=0, nullable=True, title="Высокий результат",
                                   description="число с «5» (ОГЭ) или с баллом выше high_threshold (ЕГЭ)")
    good_threshold: Series[Float] = pa.Field(ge=0, nullable=True, title="Порог «хорошего»", description="балл, от которого считается n_good")
    high_threshold: Series[Float] = pa.Field(ge=0, nullable=True, title="Порог «высокого»", description="балл, выше которого считается n_high")

    @pa.dataframe_check(error="n_high <= n_good <= participants и n_below_min <= participants")
    def counts_nested(cls, df: pd.DataFrame) -> Series[bool]:
        p = df["participants"]
        ok = (df["n_good"].isna() | (df["n_good"] <= p)) & (df["n_below_min"].isna() | (df["n_below_min"] <= p))
        ok &= df["n_high"].isna() | df["n_good"].isna() | (df["n_high"] <= df["n_good"])
        ok &= df["n_high"].isna() | (df["n_high"] <= p)
        return ok.fillna(False).astype(bool)


EXAM_SUBJECTS: tuple[str, ...] = (*vocab.SUBJECTS, "math_base")
"""Subjects of pupil exam results: the ВПР codes plus ``math_base`` (ЕГЭ по математике базового уровня, marked
2–5); ``math`` is ОГЭ mathematics and ЕГЭ mathematics of the profile level."""


class ExamResults(_Base):
    """One row per pupil and exam (ОГЭ/ЕГЭ protocol of a regional processing centre); no personal data."""

    year: Series[Int] = _year()
    municipality: Series[str] = _municipality()
    school_id: Series[str] = _school()
    exam: Series[str] = pa.Field(isin=list(vocab.EXAMS), title="Экзамен", description="ОГЭ или ЕГЭ")
    subject: Series[str] = pa.Field(isin=list(EXAM_SUBJECTS), title="Предмет",
                                    description="код предмета; math_base — ЕГЭ по математике базового уровня")
    exam_date: Series[pd.Timestamp] = pa.Field(nullable=True, title="Дата экзамена", description="из заголовка блока протокола")
    class_label: Series[str] = pa.Field(nullable=True, title="Класс", description="например 9А, 11Б")
    ppe: Series[str] = pa.Field(nullable=True, title="Код ППЭ", description="пункт проведения экзамена, строка")
    auditorium: Series[str] = pa.Field(nullable=True, title="Аудитория", description="номер аудитории ППЭ, строка")
    variant: Series[Int] = pa.Field(ge=1, le=9999, nullable=True, title="Вариант", description="номер варианта КИМ, если указан")
    primary_score: Series[Int] = pa.Field(ge=0, le=200, title="Первичный балл", description="как указан в протоколе")
    mark: Series[Int] = pa.Field(isin=list(vocab.MARKS), nullable=True, title="Отметка",
                                 description="2–5: ОГЭ и ЕГЭ по математике базового уровня")
    test_score: Series[Int] = pa.Field(ge=0, le=100, nullable=True, title="Тестовый балл", description="0–100: ЕГЭ")
    short_answers: Series[str] = pa.Field(str_matches=r"^[+\-0-9]*$", nullable=True, title="Задания с кратким ответом",
                                          description="по символу на задание: «+» решено, «-» нет, цифра — баллы")
    n_short_correct: Series[Int] = pa.Field(ge=0, nullable=True, title="Решено заданий с кратким ответом",
                                            description="заданий с ненулевым баллом")
    short_score: Series[Int] = pa.Field(ge=0, nullable=True, title="Балл за краткий ответ", description="сумма баллов")
    long_answers: Series[str] = pa.Field(str_matches=r"^(?:(?:\d{1,2}|[XxХх\-–—])\(\d{1,2}\))*$", nullable=True,
                                         title="Задания с развёрнутым ответом", description="балл(максимум) по заданиям: 1(2)2(3)0(2)")
    long_score: Series[Int] = pa.Field(ge=0, nullable=True, title="Балл за развёрнутый ответ", description="сумма баллов")
    long_max: Series[Int] = pa.Field(ge=0, nullable=True, title="Максимум за развёрнутый ответ", description="сумма максимумов")

    @pa.dataframe_check(error="ОГЭ и ЕГЭ базового уровня — с отметкой, ЕГЭ — с тестовым баллом; long_score <= long_max")
    def result_present(cls, df: pd.DataFrame) -> Series[bool]:
        marked = (df["exam"] == "ОГЭ") | (df["subject"] == "math_base")
        ok = (marked & df["mark"].notna()) | (~marked & df["test_score"].notna())
        ok &= df["long_score"].isna() | df["long_max"].isna() | (df["long_score"] <= df["long_max"])
        return ok.fillna(False).astype(bool)


class Context(_Base):
    year: Series[Int] = _year()
    municipality: Series[str] = _municipality()
    school_id: Series[str] = _school()
    share_parents_higher_ed: Series[Float] = _share("Оба родителя с высшим образованием", "доля обучающихся (+ к благополучию)")
    share_single_parent: Series[Float] = _share("Неполные семьи", "доля обучающихся (− к благополучию)")
    share_unemployed_parent: Series[Float] = _share("Безработный родитель", "доля обучающихся (−)")
    share_low_income: Series[Float] = _share("Малообеспеченные семьи", "доля обучающихся (−)")
    share_registered: Series[Float] = _share("На учёте", "доля состоящих на учёте (КДН, ПДН, внутришкольный) (−)")
    share_non_native: Series[Float] = _share("Неродной русский язык", "доля обучающихся, для которых русский не родной (−)")
    share_ovz: Series[Float] = _share("ОВЗ", "доля обучающихся с ОВЗ (−)")
    share_low_motivation: Series[Float] = _share("Низкая учебная мотивация", "доля по данным анкетирования (−)")


class Staff(_Base):
    year: Series[Int] = _year()
    municipality: Series[str] = _municipality()
    school_id: Series[str] = _school()
    teachers: Series[Int] = pa.Field(ge=0, le=1000, title="Учителей", description="число педагогических работников")
    vacancies: Series[Int] = pa.Field(ge=0, le=1000, nullable=True, title="Вакансий", description="число вакантных ставок")
    share_category: Series[Float] = _share("С первой/высшей категорией", "доля учителей")
    share_category_3y: Series[Float] = _share("Подтвердили/повысили категорию за 3 года", "доля учителей")
    share_overload: Series[Float] = _share("Нагрузка ≥ 1,5 ставки", "доля учителей")
    share_outside_diploma: Series[Float] = _share("Преподают не по диплому", "доля учителей")
    share_age60: Series[Float] = _share("Учителя 60+", "доля учителей")
    share_contests: Series[Float] = _share("Участники профессиональных конкурсов за 3 года", "доля учителей")
    has_psychologist: Series[Bool] = pa.Field(nullable=True, title="Есть психолог", description="в штате")
    has_speech_therapist: Series[Bool] = pa.Field(nullable=True, title="Есть логопед/дефектолог", description="в штате")
    has_social_pedagogue: Series[Bool] = pa.Field(nullable=True, title="Есть социальный педагог", description="в штате")


class Resources(_Base):
    year: Series[Int] = _year()
    municipality: Series[str] = _municipality()
    school_id: Series[str] = _school()
    share_new_textbooks: Series[Float] = _share("Учебники не старше 3 лет", "доля учебников")
    pcs_per_pupil: Series[Float] = pa.Field(ge=0, le=5, nullable=True, title="Компьютеров на обучающегося", description="шт.")
    internet_mbps: Series[Float] = pa.Field(ge=0, le=10000, nullable=True, title="Скорость интернета, Мбит/с", description="по договору")
    share_labs_equipped: Series[Float] = _share("Оснащённость лабораторий", "доля кабинетов с современным оборудованием")


class Outcomes(_Base):
    year: Series[Int] = _year()
    municipality: Series[str] = _municipality()
    school_id: Series[str] = _school()
    grade9_graduates: Series[Int] = pa.Field(ge=0, nullable=True, title="Выпускников 9 класса", description="человек")
    continued_grade10: Series[Int] = pa.Field(ge=0, nullable=True, title="Продолжили обучение в 10 классе", description="человек")
    olympiad_participants: Series[Int] = pa.Field(ge=0, nullable=True, title="Участники олимпиад",
                                                  description="регионального и всероссийского уровня, человек")
    noko_satisfaction: Series[Float] = _share("Удовлетворённость (НОКО)", "доля удовлетворённых по независимой оценке качества")

    @pa.dataframe_check(error="continued_grade10 <= grade9_graduates")
    def continued_le_graduates(cls, df: pd.DataFrame) -> Series[bool]:
        ok = df["continued_grade10"].isna() | df["grade9_graduates"].isna() | (df["continued_grade10"] <= df["grade9_graduates"])
        return ok.fillna(False).astype(bool)


class Surveys(_Base):
    year: Series[Int] = _year()
    municipality: Series[str] = _municipality()
    school_id: Series[str] = _school()
    respondent: Series[str] = pa.Field(isin=list(vocab.RESPONDENTS), title="Респондент", description="директор, учитель, ученик, родитель")
    indicator: Series[str] = pa.Field(str_matches=r"^[a-z0-9_]{1,64}$", title="Показатель", description="код показателя анкеты")
    value: Series[Float] = pa.Field(ge=0, le=1, title="Значение", description="доля ответов или нормированный балл 0–1")
    respondents: Series[Int] = pa.Field(ge=0, nullable=True, title="Число респондентов", description="ответивших")


class Measures(_Base):
    measure_id: Series[str] = _id("Код мероприятия", "уникальный код пункта дорожной карты")
    municipality: Series[str] = _municipality()
    school_id: Series[str] = pa.Field(str_matches=ID_PATTERN, nullable=True, title="Код ОО", description="пусто — для всех школ")
    direction: Series[str] = pa.Field(isin=list(vocab.ROADMAP_DIRECTIONS), title="Направление", description="раздел дорожной карты")
    measure: Series[str] = pa.Field(str_length={"min_value": 3}, title="Мероприятие", description="содержание")
    start: Series[pd.Timestamp] = pa.Field(nullable=True, title="Начало", description="дата или период (первый день)",
                                           metadata={"period": "start"})
    deadline: Series[pd.Timestamp] = pa.Field(title="Срок", description="дата или период: «декабрь 2026 г.», «в течение 2027 г.» (последний день)",
                                              metadata={"period": "end"})
    responsible: Series[str] = pa.Field(str_length={"min_value": 2}, title="Ответственный", description="исполнитель")
    status: Series[str] = pa.Field(isin=list(vocab.MEASURE_STATUSES), title="Статус", description="запланировано, выполняется, выполнено, отменено")
    expected_result: Series[str] = pa.Field(nullable=True, title="Ожидаемый результат", description="текст")
    indicator: Series[str] = pa.Field(isin=list(vocab.MONITORING_INDICATORS), nullable=True, title="Код показателя мониторинга",
                                      description="показатель seed 004, к которому относится мероприятие")
    catalogue_id: Series[str] = pa.Field(str_matches=r"^M[0-9]{3}$", nullable=True, title="Код в каталоге",
                                         description="мероприятие каталога params/measures.yaml")
    basis: Series[str] = pa.Field(nullable=True, title="Основание", description="почему мероприятие в плане")
    comment: Series[str] = pa.Field(nullable=True, title="Комментарий", description="отметка исполнителя")

    @pa.dataframe_check(error="«Начало» не позже «Срока» (start <= deadline)")
    def start_before_deadline(cls, df: pd.DataFrame) -> Series[bool]:
        # a deadline that did not parse is reported on its own cell, not again here
        return (df["start"].isna() | df["deadline"].isna() | (df["start"] <= df["deadline"])).astype(bool)


class Partnerships(_Base):
    municipality: Series[str] = _municipality()
    school_id: Series[str] = _id("Код ОО", "школа, получающая поддержку")
    partner_id: Series[str] = _id("Код школы-партнёра", "школа-лидер")
    start: Series[pd.Timestamp] = pa.Field(title="Дата договора", description="начало партнёрства")
    end: Series[pd.Timestamp] = pa.Field(nullable=True, title="Окончание", description="пусто — действует")
    kind: Series[str] = pa.Field(str_length={"min_value": 2}, title="Форма", description="сетевая пара, договор, наставничество")

    @pa.dataframe_check(error="school_id != partner_id")
    def not_self(cls, df: pd.DataFrame) -> Series[bool]:
        return df["school_id"] != df["partner_id"]


class Deficits(_Base):
    municipality: Series[str] = _municipality()
    school_id: Series[str] = _school()
    date: Series[pd.Timestamp] = pa.Field(title="Дата диагностики", description="дата")
    subject: Series[str] = pa.Field(nullable=True, title="Предмет", description="код предмета или пусто")
    teachers_tested: Series[Int] = pa.Field(ge=0, title="Прошли диагностику", description="учителей")
    teachers_with_deficits: Series[Int] = pa.Field(ge=0, title="Выявлены дефициты", description="учителей")

    @pa.dataframe_check(error="teachers_with_deficits <= teachers_tested")
    def nested(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["teachers_with_deficits"] <= df["teachers_tested"]).fillna(False).astype(bool)


class Courses(_Base):
    municipality: Series[str] = _municipality()
    school_id: Series[str] = _school()
    date: Series[pd.Timestamp] = pa.Field(title="Дата", description="дата окончания курса или мероприятия")
    course: Series[str] = pa.Field(str_length={"min_value": 2}, title="Курс / мероприятие", description="название")
    kind: Series[str] = pa.Field(str_length={"min_value": 2}, title="Вид", description="КПК, семинар, круглый стол, консультация")
    teachers: Series[Int] = pa.Field(ge=0, title="Учителей", description="участников из школы")


@dataclass(frozen=True)
class TableSpec:
    name: str
    model: type[_Base]
    title: str
    key: tuple[str, ...]
    source: str
    # Read-only columns and helper sheets the workbench's own editable workbooks add (roadmap): skipped on
    # import without a warning (a header is also matched without its note in parentheses).
    derived_headers: tuple[str, ...] = ()
    helper_sheets: tuple[str, ...] = ()


TABLES: dict[str, TableSpec] = {s.name: s for s in [
    TableSpec("schools", Schools, "Реестр общеобразовательных организаций", ("school_id",), "муниципальный реестр ОО"),
    TableSpec("vpr", Vpr, "Результаты ВПР участников",
              ("year", "school_id", "subject", "grade", "class_label", "participant"),
              "ФИС ОКО: форма сбора результатов, выгрузка «Ф1 Индивидуальные результаты», региональный протокол"),
    TableSpec("vpr_tasks", VprTasks, "Задания ВПР", ("year", "subject", "grade", "position"), "ФИС ОКО: описание работы"),
    TableSpec("mark_scales", MarkScales, "Шкалы перевода баллов ВПР в отметки", ("year", "subject", "grade"),
              "рекомендации ФИОКО по переводу баллов, ежегодно"),
    TableSpec("exams", Exams, "Результаты ОГЭ и ЕГЭ по школам", ("year", "school_id", "exam", "subject"),
              "региональная информационная система ГИА; открытые данные"),
    TableSpec("exam_results", ExamResults, "Результаты ОГЭ и ЕГЭ участников",
              ("year", "exam", "subject", "exam_date", "school_id", "source_file", "source_sheet", "source_row"),
              "протоколы проверки результатов РЦОИ; персональные данные не загружаются"),
    TableSpec("context", Context, "Контекстные данные школ", ("year", "school_id"), "контекстные данные ФИС ОКО, социальный паспорт школы"),
    TableSpec("staff", Staff, "Кадровые условия", ("year", "school_id"), "муниципальные кадровые данные"),
    TableSpec("resources", Resources, "Ресурсное обеспечение", ("year", "school_id"), "отчёты школ"),
    TableSpec("outcomes", Outcomes, "Дальнейшее обучение, олимпиады, НОКО", ("year", "school_id"), "муниципальные данные"),
    TableSpec("surveys", Surveys, "Анкетирование (500+)", ("year", "school_id", "respondent", "indicator"), "анкеты ФИОКО «500+»"),
    TableSpec("measures", Measures, "Дорожная карта: мероприятия", ("measure_id",), "дорожная карта муниципалитета",
              derived_headers=("№", "Школа", "Показатель мониторинга", "Состояние"), helper_sheets=("Списки",)),
    TableSpec("partnerships", Partnerships, "Сетевые пары и партнёрства", ("school_id", "partner_id", "start"), "муниципальные приказы, договоры"),
    TableSpec("deficits", Deficits, "Диагностика профессиональных дефицитов", ("school_id", "date", "subject"), "данные ЦНППМ / ИМЦ"),
    TableSpec("courses", Courses, "Курсы и методические мероприятия", ("school_id", "date", "course"), "муниципальные записи"),
]}


@lru_cache(maxsize=None)
def columns_of(table: str) -> dict[str, dict]:
    """Column name -> {dtype, nullable, title, description, checks} for a table (task slots expanded)."""
    schema = TABLES[table].model.to_schema()
    out: dict[str, dict] = {}
    for name, col in schema.columns.items():
        names = vocab.TASK_COLUMNS if col.regex else (name,)
        for n in names:
            out[n] = {
                "dtype": str(col.dtype),
                "nullable": col.nullable,
                "title": col.title or "",
                "description": col.description or "",
                "checks": [c.error or c.name for c in col.checks],
                "period": (col.metadata or {}).get("period"),
            }
    return out


def describe_check(check: str) -> str:
    """A pandera check's repr in Russian, e.g. ``isin([2, 3])`` → ``одно из: 2, 3``.

    >>> describe_check("greater_than_or_equal_to(0)")
    '≥ 0'
    """
    m = re.fullmatch(r"(\w+)\((.*)\)", check)
    if not m:
        return check
    name, arg = m.groups()
    if name == "isin":
        return "одно из: " + arg.strip("[]").replace("'", "")
    if name == "str_matches":
        return "по шаблону " + arg
    if name == "str_length":
        return "непустая строка"
    signs = {"greater_than_or_equal_to": "≥", "less_than_or_equal_to": "≤", "greater_than": ">", "less_than": "<"}
    if name in signs:
        return f"{signs[name]} {arg}"
    return check


def data_dictionary() -> str:
    """The data dictionary (Markdown) of every input table: column, type, allowed values, meaning, source.

    ``data/README.md`` is this text; a test keeps them equal (regenerate with
    ``python -c "from workbench.data.schemas import data_dictionary; print(data_dictionary(), end='')" > data/README.md``).
    """
    lines = [
        "# Данные: словарь входных таблиц",
        "",
        "Сгенерировано из `workbench/data/schemas.py` (pandera-модели — единственный источник); не править вручную.",
        "Все коды и идентификаторы — строки (ведущие нули значимы); доли — дроби от 0 до 1; год — календарный год",
        "весенней процедуры. Заголовки файла распознаются по имени столбца, по русскому названию из этой таблицы",
        "или по сопоставлению столбцов муниципалитета (`params/municipalities/*.yaml`, ключ `columns`).",
        "",
        "Реальные данные в репозиторий не попадают. Демо-регион генерируется командой `workbench demo` в `data/demo/`",
        "(`raw/` — сырые выгрузки, `truth/` — эталон заложенных эффектов), хранилище — `data/store/`.",
        "",
    ]
    type_ru = {"str": "строка", "string[pyarrow]": "строка", "Int64": "целое", "Float64": "число", "boolean": "да/нет", "datetime64[ns]": "дата"}
    for spec in TABLES.values():
        lines += [f"## `{spec.name}` — {spec.title}", "",
                  f"Ключ: {', '.join(spec.key)}. Источник в жизни: {spec.source}.", "",
                  "| столбец | название | тип | обязательный | допустимые значения | смысл |",
                  "|---|---|---|---|---|---|"]
        cols = columns_of(spec.name)
        shown = [c for c in cols if not c.startswith("task_") or c in ("task_01", "task_40")]
        for c in shown:
            m = cols[c]
            name = "task_01 … task_40" if c == "task_01" else c
            if c == "task_40":
                continue
            checks = "; ".join(describe_check(c) for c in m["checks"]).replace("|", "\\|")
            lines.append(f"| `{name}` | {m['title']} | {type_ru.get(m['dtype'], m['dtype'])} | "
                         f"{'нет' if m['nullable'] else 'да'} | {checks} | {m['description']} |")
        row_checks = [c.error for c in spec.model.to_schema().checks if c.error]
        if row_checks:
            lines += ["", "Правила строки: " + "; ".join(f"`{c}`" for c in row_checks) + "."]
        lines.append("")
    return "\n".join(lines)
