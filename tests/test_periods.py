"""Roadmap terms: the seeds' deadlines read into dates, refusals, and format → parse round trip."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.periods import Term, TermError, format_term, parse_term

D = dt.date

# Deadlines as the seeds write them (seed 002 roadmap table, lines 1–73), with the spans a reader of the seed means.
SEED_TERMS = [
    ("Декабрь 2021 г.", [(D(2021, 12, 1), D(2021, 12, 31))]),
    ("Декабрь 2021 г., Март 2022 г.", [(D(2021, 12, 1), D(2021, 12, 31)), (D(2022, 3, 1), D(2022, 3, 31))]),
    ("Декабрь 2021 г. Февраль 2022 г.", [(D(2021, 12, 1), D(2021, 12, 31)), (D(2022, 2, 1), D(2022, 2, 28))]),
    ("Декабрь 2021 г. Январь 2022г", [(D(2021, 12, 1), D(2021, 12, 31)), (D(2022, 1, 1), D(2022, 1, 31))]),
    ("Апрель 2022 года", [(D(2022, 4, 1), D(2022, 4, 30))]),
    ("Март - апрель 2022 г.", [(D(2022, 3, 1), D(2022, 4, 30))]),
    ("Ноябрь-декабрь 2021 г.", [(D(2021, 11, 1), D(2021, 12, 31))]),
    ("Май-декабрь 2022", [(D(2022, 5, 1), D(2022, 12, 31))]),
    ("Январь 2022 г", [(D(2022, 1, 1), D(2022, 1, 31))]),
    ("В течение 2022 г.", [(D(2022, 1, 1), D(2022, 12, 31))]),
    ("В течение 2022г.", [(D(2022, 1, 1), D(2022, 12, 31))]),
    ("В течение 2022 года", [(D(2022, 1, 1), D(2022, 12, 31))]),
    ("В течение 2021-2022 учебного года", [(D(2021, 9, 1), D(2022, 5, 31))]),
    ("В течение 2021-2022", [(D(2021, 9, 1), D(2022, 5, 31))]),
    ("Согласно плану-графику КГИРО на 2022 г.", [(D(2022, 1, 1), D(2022, 12, 31))]),
]

OTHER_TERMS = [
    ("15.03.2022", [(D(2022, 3, 15), D(2022, 3, 15))]),
    ("до 15.03.22", [(D(2022, 3, 15), D(2022, 3, 15))]),
    ("не позднее 15 марта 2022 г.", [(D(2022, 3, 15), D(2022, 3, 15))]),
    ("в марте 2022 года", [(D(2022, 3, 1), D(2022, 3, 31))]),
    ("2021/2022 учебный год", [(D(2021, 9, 1), D(2022, 5, 31))]),
    ("2021/22 уч. г.", [(D(2021, 9, 1), D(2022, 5, 31))]),
    ("учебный год 2021-2022", [(D(2021, 9, 1), D(2022, 5, 31))]),
    ("2021–2023 гг.", [(D(2021, 1, 1), D(2023, 12, 31))]),
    ("2021–2022 гг.", [(D(2021, 1, 1), D(2022, 12, 31))]),
    ("I полугодие 2022 г.", [(D(2022, 1, 1), D(2022, 6, 30))]),
    ("второе полугодие 2022 года", [(D(2022, 7, 1), D(2022, 12, 31))]),
    ("IV квартал 2021 г.", [(D(2021, 10, 1), D(2021, 12, 31))]),
    ("3 квартал 2022", [(D(2022, 7, 1), D(2022, 9, 30))]),
    ("I полугодие 2021/2022 учебного года", [(D(2021, 9, 1), D(2021, 12, 31))]),
    ("II полугодие 2021/22 уч. г.", [(D(2022, 1, 1), D(2022, 5, 31))]),
    ("сентябрь 2021 г. – май 2022 г.", [(D(2021, 9, 1), D(2022, 5, 31))]),
    ("с сентября 2021 по май 2022", [(D(2021, 9, 1), D(2022, 5, 31))]),
    ("Декабрь 2021 г. и апрель 2022 г.", [(D(2021, 12, 1), D(2021, 12, 31)), (D(2022, 4, 1), D(2022, 4, 30))]),
]


@pytest.mark.parametrize("text, parts", SEED_TERMS + OTHER_TERMS)
def test_term_reads_to_the_spans_meant(text, parts):
    term = parse_term(text)
    assert list(term.parts) == parts
    assert (term.start, term.end) == (parts[0][0], parts[-1][1])


def test_a_term_without_a_year_takes_the_year_given():
    assert parse_term("Январь-март", year=2022).parts == ((D(2022, 1, 1), D(2022, 3, 31)),)
    with pytest.raises(TermError, match="не указан год"):
        parse_term("Январь-март")


def test_dates_are_terms_of_one_day():
    assert parse_term(D(2022, 3, 15)).parts == ((D(2022, 3, 15), D(2022, 3, 15)),)
    assert parse_term(dt.datetime(2022, 3, 15, 10, 30)).end == D(2022, 3, 15)


def test_school_year_end_is_a_parameter():
    assert parse_term("2021/2022 учебный год", school_year_end_month=6).end == D(2022, 6, 30)


@pytest.mark.parametrize("text, why", [
    ("постоянно", "не удалось прочитать срок"), ("по мере необходимости", "не удалось прочитать срок"),
    ("ежегодно", "не удалось прочитать срок"), ("31.02.2022", "такой даты нет"), ("", "срок не указан"),
    ("2021/2023 учебный год", "двумя соседними годами"), ("декабрь-январь 2022", "через Новый год"),
    ("май 2022 – март 2022", "раньше начала"), ("V квартал 2022", "не удалось прочитать срок"),
    ("декабрь 2021 г., когда-нибудь", "не удалось прочитать срок"),
])
def test_text_naming_no_period_is_refused_in_russian_quoting_it(text, why):
    with pytest.raises(TermError) as err:
        parse_term(text)
    assert f"«{text}»" in str(err.value) and why in str(err.value)
    assert "в течение 2027 г." in str(err.value)   # the forms that are read are listed


def test_canonical_text_of_common_terms():
    assert format_term(parse_term("В течение 2022 года")) == "2022 г."
    assert format_term(parse_term("Ноябрь-декабрь 2021 г.")) == "ноябрь–декабрь 2021 г."
    assert format_term(parse_term("Декабрь 2021 г. Январь 2022г")) == "декабрь 2021 г., январь 2022 г."
    assert format_term(parse_term("В течение 2021-2022")) == "2021/2022 учебный год"
    assert str(parse_term("15 марта 2022 г.")) == "15.03.2022"


def _month_end(y, m):
    return (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1))


@st.composite
def spans(draw):
    """Spans of the shapes roadmaps use: a day, whole months (one or a range, across years), a whole year."""
    kind = draw(st.sampled_from(["day", "months", "years", "days"]))
    y = draw(st.integers(2015, 2035))
    if kind == "day":
        d = draw(st.dates(D(2015, 1, 1), D(2035, 12, 31)))
        return d, d
    if kind == "days":
        a = draw(st.dates(D(2015, 1, 1), D(2035, 12, 31)))
        return a, a + dt.timedelta(days=draw(st.integers(1, 800)))
    if kind == "years":
        return D(y, 1, 1), D(y + draw(st.integers(0, 3)), 12, 31)
    m1 = draw(st.integers(1, 12))
    n = draw(st.integers(0, 20))
    m2, y2 = (m1 - 1 + n) % 12 + 1, y + (m1 - 1 + n) // 12
    return D(y, m1, 1), _month_end(y2, m2)


@given(st.lists(spans(), min_size=1, max_size=3))
def test_format_then_parse_gives_the_same_term(parts):
    term = Term(tuple(parts))
    assert parse_term(format_term(term)) == term
