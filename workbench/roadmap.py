"""Roadmaps («дорожные карты», DOMAIN §9): the measures catalogue, a draft plan per municipality and per
identified school, the state of each item at a report date, and the editable Excel workbook.

The catalogue (``params/measures.yaml``) holds the measures of the seeds' roadmaps, each with its direction,
the risk factors it addresses (none = a base measure every listed school gets), its typical timing as
[year offset, month] from the identification year Y (ВПР in spring, identification in autumn of Y), the
responsible body, the expected result and the monitoring indicator it feeds. A school's draft follows from its
risk profile (:func:`workbench.risks.factors_to_address`) and its leader-school partner
(:func:`workbench.partners.match`); the municipality's from the factors at work in its listed schools.

The workbook (:func:`write_workbook`) is read back by the ordinary importer (``workbench import``, table
``measures``): every cell is checked again, deadlines may be typed as periods («в течение 2027 г.»), problems
are reported cell by cell, rejected rows are quarantined, and the same file imported twice changes nothing.
«Просрочено» and «срок подходит» are computed at a report date by :func:`deadline_state`, never typed.

Example
-------
>>> cat = load_catalogue()
>>> plan = load_plan_params()
>>> todo = pd.DataFrame({"school_id": ["edu001003"], "factor": ["parent_involvement"], "title": ["Вовлечённость"],
...                      "level": ["высокий"], "rank": [1], "explain": [""]})
>>> rows = school_roadmap("001", "edu001003", 2026, todo, None, cat, plan)
>>> bool((rows["direction"] == "работа с родителями").any()), rows["deadline"].min() >= pd.Timestamp("2026-09-01")
(True, True)
"""
from __future__ import annotations

import calendar
import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import Field, StrictStr, model_validator

from workbench import vocab
from workbench.config import Tag, Tagged, _Strict, load_yaml_model

Direction = Literal[tuple(vocab.ROADMAP_DIRECTIONS)]  # type: ignore[valid-type]
IndicatorCode = Literal[tuple(vocab.MONITORING_INDICATORS)]  # type: ignore[valid-type]
Level = Literal["высокий", "средний", "низкий"]
FACTOR_CODES = ("equipment", "staff_shortage", "teacher_competence", "ovz", "language_barriers", "motivation",
                "wellbeing", "discipline", "academic_failure", "parent_involvement")
Factor = Literal[FACTOR_CODES]  # type: ignore[valid-type]
Month = tuple[Annotated[int, Field(ge=0, le=3)], Annotated[int, Field(ge=1, le=12)]]

STATES: tuple[str, ...] = ("выполнено", "отменено", "просрочено", "срок подходит", "выполняется", "запланировано")
ROADMAP_COLUMNS = ["measure_id", "municipality", "school_id", "school_name", "direction", "measure", "start",
                   "deadline", "responsible", "status", "expected_result", "indicator", "catalogue_id", "basis",
                   "comment"]


# ---------------------------------------------------------------- the catalogue (params/measures.yaml)

class CatalogueMeasure(_Strict):
    id: Annotated[StrictStr, Field(pattern=r"^M[0-9]{3}$")]
    measure: StrictStr = Field(min_length=5)
    direction: Direction
    level: Literal["муниципалитет", "школа"]
    factors: list[Factor]
    start: Month
    end: Month
    responsible: StrictStr = Field(min_length=2)
    expected_result: StrictStr = Field(min_length=3)
    indicator: IndicatorCode | None
    seeds: Annotated[list[Annotated[StrictStr, Field(pattern=r"^[0-9]{3}$")]], Field(min_length=1)]
    seed_text: StrictStr = Field(min_length=3)

    @model_validator(mode="after")
    def _ordered(self):
        if tuple(self.end) < tuple(self.start):
            raise ValueError(f"срок окончания {list(self.end)} раньше начала {list(self.start)}")
        return self


class Catalogue(_Strict):
    """``params/measures.yaml``: the measures of the seeds' roadmaps."""
    tag: Tag
    source: StrictStr = Field(min_length=3)
    measures: Annotated[list[CatalogueMeasure], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self):
        ids = [m.id for m in self.measures]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"коды мероприятий повторяются: {', '.join(dup)}")
        return self

    def frame(self) -> pd.DataFrame:
        """The catalogue as a table (one row per measure; ``factors`` and ``seeds`` as lists).

        >>> load_catalogue().frame().columns[:3].tolist()
        ['id', 'measure', 'direction']
        """
        return pd.DataFrame([m.model_dump() for m in self.measures])


def load_catalogue(path: str | Path = "measures.yaml") -> Catalogue:
    """The measures catalogue; a bad file raises ``ParamsError`` naming the key and what is allowed.

    >>> cat = load_catalogue()
    >>> sorted({m.direction for m in cat.measures}) == sorted(vocab.ROADMAP_DIRECTIONS)
    True
    """
    return load_yaml_model(Catalogue, path)


# ---------------------------------------------------------------- plan parameters (params/plan.yaml)

class PlanParams(_Strict):
    """``params/plan.yaml``: how many factors and measures a school's draft takes, «срок подходит», the exit rule."""
    levels_addressed: Tagged[Annotated[list[Level], Field(min_length=1)]]
    max_factors: Tagged[Annotated[int, Field(ge=1, le=10)]]
    measures_per_factor: Tagged[Annotated[int, Field(ge=1, le=10)]]
    municipal_factor_min_schools: Tagged[Annotated[int, Field(ge=1)]]
    soon_days: Tagged[Annotated[int, Field(ge=0, le=366)]]
    exit_years: Tagged[Annotated[int, Field(ge=1, le=10)]]
    cycle_start_month: Tagged[Annotated[int, Field(ge=1, le=12)]]
    positive_definition: Tagged[Literal["exit", "beyond_interval", "percentile", "residual"]]
    course_kinds: Tagged[dict[Literal["methodical_support", "targeted_help", "seminars"],
                              Annotated[list[StrictStr], Field(min_length=1)]]]
    partnership_kinds: Tagged[Annotated[list[StrictStr], Field(min_length=1)]]


def load_plan_params(path: str | Path = "plan.yaml") -> PlanParams:
    """The plan parameters; a bad file raises ``ParamsError`` naming the key and what is allowed.

    >>> load_plan_params().soon_days.value
    30
    """
    return load_yaml_model(PlanParams, path)


# ---------------------------------------------------------------- timing

def month_date(year: int, when, *, last: bool = False) -> pd.Timestamp:
    """The first (or ``last``) day of the month ``when`` = [year offset, month] counted from ``year``.

    >>> month_date(2026, [1, 2], last=True)
    Timestamp('2027-02-28 00:00:00')
    """
    y, m = year + int(when[0]), int(when[1])
    return pd.Timestamp(y, m, calendar.monthrange(y, m)[1] if last else 1)


def deadline_state(measures: pd.DataFrame, on, soon_days: int = 30) -> pd.Series:
    """The state of each roadmap item at the report date ``on``: «выполнено» / «отменено» as recorded;
    otherwise «просрочено» after the deadline, «срок подходит» within ``soon_days`` before it, else the
    recorded status (запланировано / выполняется). Never typed by hand — always computed here.

    >>> m = pd.DataFrame({"status": ["выполнено", "запланировано", "выполняется", "запланировано"],
    ...                   "deadline": pd.to_datetime(["2026-01-31", "2026-11-30", "2026-12-20", "2027-05-31"])})
    >>> deadline_state(m, "2026-12-04").tolist()
    ['выполнено', 'просрочено', 'срок подходит', 'запланировано']
    """
    on = pd.Timestamp(on).normalize()
    deadline = pd.to_datetime(measures["deadline"])
    status = measures["status"].astype(object)
    closed = status.isin(["выполнено", "отменено"])
    out = status.copy()
    out[~closed & (deadline < on)] = "просрочено"
    out[~closed & (deadline >= on) & (deadline <= on + pd.Timedelta(days=soon_days))] = "срок подходит"
    return out


# ---------------------------------------------------------------- drafts

def _measure_id(owner: str, year: int, catalogue_id: str) -> str:
    mid = f"{owner}-{year}-{catalogue_id}"
    if len(mid) > 32:   # the id pattern allows 32 characters; long school codes keep their tail
        mid = f"{owner[-(31 - len(str(year)) - len(catalogue_id) - 1):]}-{year}-{catalogue_id}"
    return mid


def _row(m: CatalogueMeasure, municipality: str, school_id: str | None, year: int, reason: str,
         measure: str | None = None) -> dict:
    return {"measure_id": _measure_id(school_id or municipality, year, m.id), "municipality": municipality,
            "school_id": school_id, "direction": m.direction, "measure": measure or m.measure,
            "start": month_date(year, m.start), "deadline": month_date(year, m.end, last=True),
            "responsible": m.responsible, "status": "запланировано", "expected_result": m.expected_result,
            "indicator": m.indicator, "catalogue_id": m.id, "basis": reason, "comment": None}


def school_roadmap(municipality: str, school_id: str, year: int, to_address: pd.DataFrame,
                   partner: dict | None, catalogue: Catalogue, params: PlanParams,
                   listed_as: str = "ШНОР/ШНСУ") -> pd.DataFrame:
    """The draft roadmap of one identified school for the cycle that starts with the identification of ``year``.

    Base measures (catalogue measures of level «школа» without factors) come first; the network-pair measure
    names the partner (``partner``: ``leader_id``, ``leader_name``, ``explain``) or, without one, says why
    none was found (``partner``: ``reason``). Then, for at most ``max_factors`` factors of ``to_address``
    (its rows for this school, ranked) at a level in ``levels_addressed``, the first ``measures_per_factor``
    catalogue measures addressing the factor that are not already in the plan. See the module example.
    """
    school = [m for m in catalogue.measures if m.level == "школа"]
    rows: list[dict] = []
    for m in school:
        if m.factors:
            continue
        text, reason = None, f"Базовое мероприятие для школ из списка ({listed_as}, идентификация {year} г.)"
        if m.indicator == "network":
            if partner and partner.get("leader_id"):
                text = f"{m.measure}: школа-лидер «{partner.get('leader_name') or partner['leader_id']}» ({partner['leader_id']})"
                reason = f"Сетевая пара: {partner.get('explain') or 'подобрана по сходству условий'}"
            else:
                why = (partner or {}).get("reason") or "школа-лидер не подбиралась"
                text = f"{m.measure}: подобрать школу-лидера вручную"
                reason = f"Автоматический подбор не нашёл школу-лидера: {why}"
        rows.append(_row(m, municipality, school_id, year, reason, text))
    mine = to_address[(to_address["school_id"] == school_id)
                      & to_address["level"].isin(params.levels_addressed.value)].sort_values("rank")
    taken = {r["catalogue_id"] for r in rows}
    for f in mine.head(params.max_factors.value).itertuples(index=False):
        fit = [m for m in school if f.factor in m.factors and m.id not in taken][: params.measures_per_factor.value]
        why = f"Фактор риска «{f.title}»: {f.level} риск" + (f" ({f.explain})" if getattr(f, "explain", "") else "")
        for m in fit:
            rows.append(_row(m, municipality, school_id, year, why))
            taken.add(m.id)
    return pd.DataFrame(rows, columns=[c for c in ROADMAP_COLUMNS if c != "school_name"])


def municipal_roadmap(municipality: str, year: int, to_address: pd.DataFrame, catalogue: Catalogue,
                      params: PlanParams, n_listed: int) -> pd.DataFrame:
    """The municipality's own measures: every catalogue measure of level «муниципалитет» without factors, and
    those against a factor at work (``levels_addressed``) in at least ``municipal_factor_min_schools`` listed
    schools, with the count in the reason.

    >>> todo = pd.DataFrame({"school_id": ["a", "b"], "factor": ["staff_shortage"] * 2, "level": ["высокий"] * 2,
    ...                      "rank": [1, 1], "title": ["Дефицит кадров"] * 2})
    >>> m = municipal_roadmap("001", 2026, todo, load_catalogue(), load_plan_params(), 5)
    >>> bool(m["school_id"].isna().all()), bool(m["basis"].str.contains("2 из 5").any())
    (True, True)
    """
    work = to_address[to_address["level"].isin(params.levels_addressed.value)
                      & (to_address["rank"] <= params.max_factors.value)]
    counts = work.groupby("factor")["school_id"].nunique().to_dict()
    titles = work.drop_duplicates("factor").set_index("factor")["title"].to_dict()
    rows = []
    for m in catalogue.measures:
        if m.level != "муниципалитет":
            continue
        if not m.factors:
            rows.append(_row(m, municipality, None, year, f"Базовое мероприятие муниципальной дорожной карты "
                                                          f"(в списке {n_listed} школ, идентификация {year} г.)"))
            continue
        hit = [(counts[f], f) for f in m.factors if counts.get(f, 0) >= params.municipal_factor_min_schools.value]
        if hit:
            text = "; ".join(f"«{titles[f]}» — {n} из {n_listed} школ" for n, f in sorted(hit, key=lambda h: -h[0]))
            rows.append(_row(m, municipality, None, year, f"Фактор риска в работе у школ списка: {text}"))
    return pd.DataFrame(rows, columns=[c for c in ROADMAP_COLUMNS if c != "school_name"])


def draft_roadmap(municipality: str, year: int, targets: pd.DataFrame, to_address: pd.DataFrame,
                  pairs: pd.DataFrame, alone: pd.DataFrame, catalogue: Catalogue, params: PlanParams) -> pd.DataFrame:
    """The municipality's draft roadmap: its own measures, then each listed school's (``targets``:
    ``school_id``, ``name``, ``listed_as`` e.g. «ШНОР»), from the risk factors to address and the partner pairs
    (``pairs`` / ``alone`` of :func:`workbench.partners.match`). Columns ``ROADMAP_COLUMNS``.

    >>> t = pd.DataFrame({"school_id": ["edu001003"], "name": ["Школа 3"], "listed_as": ["ШНОР"]})
    >>> todo = pd.DataFrame(columns=["school_id", "factor", "title", "level", "rank", "explain"])
    >>> pairs = pd.DataFrame({"school_id": ["edu001003"], "leader_id": ["edu001012"], "leader_name": ["Школа 12"],
    ...                       "explain": "похожие условия"})
    >>> r = draft_roadmap("001", 2026, t, todo, pairs, pd.DataFrame(columns=["school_id", "reason"]),
    ...                   load_catalogue(), load_plan_params())
    >>> bool(r.loc[r["indicator"].eq("network") & r["school_id"].notna(), "measure"].str.contains("Школа 12").all())
    True
    """
    by_pair = {r["school_id"]: r for r in pairs.to_dict("records")}
    by_alone = {r["school_id"]: r for r in alone.to_dict("records")}
    parts = [municipal_roadmap(municipality, year, to_address[to_address["school_id"].isin(targets["school_id"])],
                               catalogue, params, len(targets))]
    for t in targets.itertuples(index=False):
        partner = by_pair.get(t.school_id) or by_alone.get(t.school_id)
        parts.append(school_roadmap(municipality, t.school_id, year, to_address, partner, catalogue, params,
                                    getattr(t, "listed_as", "ШНОР/ШНСУ")))
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else \
        pd.DataFrame(columns=ROADMAP_COLUMNS)
    names = dict(zip(targets["school_id"], targets["name"]))
    out["school_name"] = out["school_id"].map(names)
    return out[ROADMAP_COLUMNS]


# ---------------------------------------------------------------- the editable workbook

# (column, header, width, editable, hidden); headers are the ``measures`` schema titles, so the ordinary
# importer reads the file back; «№», «Школа», «Показатель мониторинга», «Состояние» are derived and skipped.
WORKBOOK_COLUMNS: tuple[tuple[str, str, int, bool, bool], ...] = (
    ("row", "№", 5, False, False),
    ("measure_id", "Код мероприятия", 22, False, True),
    ("municipality", "Код муниципалитета", 8, False, True),
    ("school_id", "Код ОО", 12, False, False),
    ("school_name", "Школа", 28, False, False),
    ("direction", "Направление", 20, False, False),
    ("measure", "Мероприятие", 60, False, False),
    ("start", "Начало", 12, True, False),
    ("deadline", "Срок", 14, True, False),
    ("responsible", "Ответственный", 26, True, False),
    ("status", "Статус", 15, True, False),
    ("expected_result", "Ожидаемый результат", 40, False, False),
    ("indicator_title", "Показатель мониторинга", 30, False, False),
    ("basis", "Основание", 50, False, False),
    ("comment", "Комментарий", 30, True, False),
    ("state", "Состояние", 15, False, False),
    ("catalogue_id", "Код в каталоге", 8, False, True),
    ("indicator", "Код показателя мониторинга", 8, False, True),
)
SHEET = "Дорожная карта"
FILE_NAME = "дорожная карта.xlsx"   # the editable workbook beside each municipality's справка
LISTS_SHEET = "Списки"
HEADER_ROW = 4          # 0-based: title, report date, instruction, blank, header


def _col(name: str) -> int:
    return [c[0] for c in WORKBOOK_COLUMNS].index(name)


def _letter(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def write_workbook(roadmap: pd.DataFrame, path: str | Path, *, title: str, on, soon_days: int = 30) -> Path:
    """Write the editable roadmap workbook atomically: the sheet «Дорожная карта» with a locked header and
    locked derived cells, white editable cells (start, deadline, responsible, status, comment), hidden id
    columns, drop-down lists fed from the hidden sheet «Списки» (status strictly; responsible with a warning,
    other text allowed), and «Состояние» as a formula of the report date (cell B2) and the deadline, its cached
    value from :func:`deadline_state`.

    >>> write_workbook(draft, Path("дорожная карта.xlsx"), title="Дорожная карта: Город", on="2026-12-04")  # doctest: +SKIP
    """
    import xlsxwriter

    path = Path(path)
    on = pd.Timestamp(on).normalize()
    data = roadmap.reset_index(drop=True).copy()
    data["row"] = range(1, len(data) + 1)
    data["indicator_title"] = data["indicator"].map(vocab.MONITORING_INDICATORS)
    data["state"] = deadline_state(data, on, soon_days)
    tmp = path.with_name(path.name + ".tmp")
    wb = xlsxwriter.Workbook(tmp, {"nan_inf_to_errors": True, "remove_timezone": True})
    wb.set_properties({"title": title, "created": dt.datetime(2000, 1, 1)})
    base = {"text_wrap": True, "valign": "top", "border": 1, "border_color": "#BFBFBF"}
    head = wb.add_format({**base, "bold": True, "bg_color": "#E8EEF7", "border_color": "#808080"})
    locked = wb.add_format({**base, "bg_color": "#F2F2F2"})
    locked_date = wb.add_format({**base, "bg_color": "#F2F2F2", "num_format": "dd.mm.yyyy"})
    free = wb.add_format({**base, "locked": False})
    free_date = wb.add_format({**base, "locked": False, "num_format": "dd.mm.yyyy"})
    red = wb.add_format({"bg_color": "#F4CCCC", "font_color": "#9C0006"})
    amber = wb.add_format({"bg_color": "#FFF2CC", "font_color": "#7F6000"})

    lists = wb.add_worksheet(LISTS_SHEET)
    for j, (name, values) in enumerate([("Статус", vocab.MEASURE_STATUSES), ("Ответственный", vocab.RESPONSIBLE_ROLES),
                                        ("Направление", vocab.ROADMAP_DIRECTIONS)]):
        lists.write(0, j, name)
        for i, v in enumerate(values, start=1):
            lists.write(i, j, v)
    lists.hide()

    ws = wb.add_worksheet(SHEET)
    ws.activate()
    ws.write(0, 0, title, wb.add_format({"bold": True, "font_size": 13}))
    ws.write(1, 0, "Дата отчёта:", wb.add_format({"bold": True, "align": "right"}))
    ws.write_datetime(1, 1, on.to_pydatetime(), wb.add_format({"num_format": "dd.mm.yyyy", "locked": False, "bold": True}))
    ws.write(2, 0, "Заполняются только белые ячейки: начало, срок, ответственный, статус, комментарий. Срок — дата "
                   "(15.03.2027) или период («декабрь 2026 г.», «ноябрь–декабрь 2026 г.», «в течение 2027 г.», "
                   "«I полугодие 2027 г.»). «Состояние» считается по сроку и дате отчёта, вручную не вводится. "
                   "Строки не удаляйте: отменённое мероприятие — статус «отменено».",
             wb.add_format({"italic": True, "font_color": "#404040"}))
    for j, (col, header, width, editable, hidden) in enumerate(WORKBOOK_COLUMNS):
        ws.write(HEADER_ROW, j, header, head)
        ws.set_column(j, j, width, None, {"hidden": hidden})
    n = len(data)
    first, last = HEADER_ROW + 1, HEADER_ROW + max(n, 1)
    for i, r in enumerate(data.to_dict("records")):
        row = HEADER_ROW + 1 + i
        for j, (col, _, _, editable, _) in enumerate(WORKBOOK_COLUMNS):
            v = r.get(col)
            if col == "state":
                k, d, b = _letter(_col("status")), _letter(_col("deadline")), "$B$2"
                formula = (f'=IF(OR({k}{row + 1}="выполнено",{k}{row + 1}="отменено"),{k}{row + 1},'
                           f'IF(ISNUMBER({d}{row + 1}),IF({d}{row + 1}<{b},"просрочено",'
                           f'IF({d}{row + 1}-{b}<={soon_days},"срок подходит",{k}{row + 1})),"срок не дата"))')
                ws.write_formula(row, j, formula, locked, v)
            elif col in ("start", "deadline"):
                if pd.isna(v):
                    ws.write_blank(row, j, None, free_date)
                else:
                    ws.write_datetime(row, j, pd.Timestamp(v).to_pydatetime(), free_date if editable else locked_date)
            elif v is None or (isinstance(v, float) and pd.isna(v)):
                ws.write_blank(row, j, None, free if editable else locked)
            else:
                ws.write(row, j, v if col == "row" else str(v), free if editable else locked)
    status, resp, state = _col("status"), _col("responsible"), _col("state")
    ws.data_validation(first, status, last, status, {
        "validate": "list", "source": f"={LISTS_SHEET}!$A$2:$A${len(vocab.MEASURE_STATUSES) + 1}",
        "error_title": "Статус", "error_message": "Выберите статус из списка: " + ", ".join(vocab.MEASURE_STATUSES)})
    ws.data_validation(first, resp, last, resp, {
        "validate": "list", "source": f"={LISTS_SHEET}!$B$2:$B${len(vocab.RESPONSIBLE_ROLES) + 1}",
        "error_type": "warning", "error_title": "Ответственный",
        "error_message": "Исполнителя нет в списке. Оставить как есть?"})
    ws.conditional_format(first, state, last, state, {"type": "cell", "criteria": "==", "value": '"просрочено"', "format": red})
    ws.conditional_format(first, state, last, state, {"type": "cell", "criteria": "==", "value": '"срок подходит"', "format": amber})
    ws.freeze_panes(HEADER_ROW + 1, 0)
    ws.autofilter(HEADER_ROW, 0, last, len(WORKBOOK_COLUMNS) - 1)
    ws.protect("", {"autofilter": True, "sort": True, "format_columns": True, "format_rows": True})
    wb.close()
    tmp.replace(path)
    return path
