"""What the risk-profile and support-plan sections publish (Russian): the school × factor heat map, the factors
each listed school works on, partner pairs, the draft roadmap, the roadmap's progress at the report date, the
eight monitoring indicators per cycle and the list's history.

Risk levels are heuristic (the official FIOKO cut-offs are not public) and said so next to every table; the
indicators of teachers' competences are school-level proxies (the store holds no teacher-level data, and the
workbench never rates teachers).

Example
-------
>>> term_text(pd.Timestamp("2026-12-01"), pd.Timestamp("2027-01-31"))
'декабрь 2026 г. – январь 2027 г.'
>>> level_counts(pd.DataFrame({"factor": ["x", "x"], "short": ["X", "X"], "level": ["высокий", "нет данных"],
...                            "school_id": ["a", "b"]})).values.tolist()
[['X', 1, 0, 0, 1, 2]]
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from workbench import vocab
from workbench.formatting import integer, number
from workbench.periods import Term, format_term

LEVELS = ("высокий", "средний", "низкий", "нет данных")
LEVEL_COLOURS = {"высокий": "#c0392b", "средний": "#f0b429", "низкий": "#9bc59d", "нет данных": "#d9d9d9"}


def report_date(text: str = "") -> pd.Timestamp:
    """The report date of a notebook parameter: «04.12.2026», «2026-12-04» or empty (today).

    >>> report_date("04.12.2026"), report_date("2026-12-04") == report_date("04.12.2026")
    (Timestamp('2026-12-04 00:00:00'), True)
    """
    import datetime as dt

    text = (text or "").strip()
    if not text:
        return pd.Timestamp(dt.date.today())
    for f in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return pd.Timestamp(dt.datetime.strptime(text, f))
        except ValueError:
            pass
    raise ValueError(f"Параметр report_date = {text!r}: ожидается дата «ДД.ММ.ГГГГ» или «ГГГГ-ММ-ДД», или пусто (сегодня)")


def roadmap_sentence(rows: pd.DataFrame) -> str:
    """One sentence on the draft: items for the municipality and per school, directions covered.

    >>> r = pd.DataFrame({"school_id": [None, "a", "a"], "direction": ["кадровое", "кадровое", "работа с родителями"]})
    >>> roadmap_sentence(r)
    'В черновике 3 пункта: 1 — муниципалитета, 2 — для 1 школы (в среднем 2 на школу); направлений: 2 из 8.'
    """
    from workbench.formatting import number, plural

    n, mun = len(rows), int(rows["school_id"].isna().sum())
    schools = rows["school_id"].dropna().nunique()
    per = number((n - mun) / schools, 0) if schools else "0"
    dirs = rows["direction"].nunique()
    return (f"В черновике {n} {plural(n, 'пункт', 'пункта', 'пунктов')}: {mun} — муниципалитета, {n - mun} — для "
            f"{schools} {plural(schools, 'школы', 'школ', 'школ')} (в среднем {per} на школу); направлений: {dirs} из "
            f"{len(vocab.ROADMAP_DIRECTIONS)}.")


def term_text(start, end) -> str:
    """A roadmap item's term in words (the canonical text of :mod:`workbench.periods`)."""
    if pd.isna(start) and pd.isna(end):
        return ""
    a = pd.Timestamp(start if not pd.isna(start) else end).date()
    b = pd.Timestamp(end if not pd.isna(end) else start).date()
    return format_term(Term(((min(a, b), b),)))


def level_counts(profiles: pd.DataFrame) -> pd.DataFrame:
    """Per factor (parameters' order): how many schools are at each level."""
    order = list(dict.fromkeys(profiles["factor"]))
    short = profiles.drop_duplicates("factor").set_index("factor")["short"]
    t = profiles.pivot_table(index="factor", columns="level", values="school_id", aggfunc="count", fill_value=0)
    t = t.reindex(index=order, columns=list(LEVELS), fill_value=0).astype(int)
    t["schools"] = t.sum(axis=1)
    t.insert(0, "short", short.reindex(order).to_numpy())
    return t.reset_index(drop=True)


LEVEL_COUNT_COLUMNS = {"short": "Фактор риска", "высокий": "Высокий", "средний": "Средний", "низкий": "Низкий",
                       "нет данных": "Нет данных", "schools": "Школ"}


def plot_risk_heatmap(profiles: pd.DataFrame, names: pd.Series, groups: pd.Series, title: str):
    """School × factor heat map of risk levels; listed schools first with their group after the name."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    order = list(dict.fromkeys(profiles["short"]))
    code = {lv: i for i, lv in enumerate(LEVELS)}
    grid = profiles.pivot(index="school_id", columns="short", values="level").reindex(columns=order)
    listed = np.array([s in groups.index for s in grid.index], dtype=bool)
    grid = pd.concat([grid[listed], grid[~listed]])
    labels = [_short(str(names.get(s, s))) + (f" — {groups[s]}" if s in groups.index else "") for s in grid.index]
    values = grid.apply(lambda col: col.map(code)).to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(9.5, 2.2 + 0.24 * max(len(grid), 4)))
    ax.imshow(values, cmap=ListedColormap([LEVEL_COLOURS[lv] for lv in LEVELS]), vmin=-0.5, vmax=len(LEVELS) - 0.5,
              aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(order)), order, rotation=35, ha="right", fontsize=7.5)
    ax.set_yticks(range(len(grid)), labels, fontsize=7)
    ax.set_xticks(np.arange(-0.5, len(order)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(grid)), minor=True)
    ax.grid(which="minor", color="white", lw=1)
    ax.tick_params(which="minor", length=0)
    n_listed = int(listed.sum())
    if 0 < n_listed < len(grid):
        ax.axhline(n_listed - 0.5, color="black", lw=1.2)
    for i, row in enumerate(grid.to_numpy()):
        for j, lv in enumerate(row):
            if lv in ("высокий", "средний"):
                ax.text(j, i, "В" if lv == "высокий" else "С", ha="center", va="center", fontsize=6.5,
                        color="white" if lv == "высокий" else "black")
    ax.legend(handles=[Patch(color=LEVEL_COLOURS[lv], label=lv) for lv in LEVELS], loc="lower center",
              bbox_to_anchor=(0.5, 1.0), ncol=4, fontsize=7, frameon=False)
    ax.set_title(title, fontsize=9.5, pad=22)
    fig.tight_layout()
    return fig


def _short(name: str, width: int = 34) -> str:
    return name if len(name) <= width else name[: width - 1].rstrip() + "…"


def factors_table(to_address: pd.DataFrame, targets: pd.DataFrame, max_factors: int) -> pd.DataFrame:
    """The factors each listed school works on, ranked; ``in_plan`` marks the first ``max_factors`` of each
    school, and those rows come first (the body of the справка shows them, the appendix all)."""
    keep = ["school_id", "listed_as"] + ([] if "name" in to_address else ["name"])
    t = to_address.merge(targets[keep], on="school_id", how="left")
    t["in_plan"] = np.where(t["rank"] <= max_factors, "да", "нет (сверх лимита факторов в год)")
    t["_later"] = t["rank"] > max_factors
    return t.sort_values(["_later", "name", "rank"]).drop(columns="_later").reset_index(drop=True)


FACTOR_COLUMNS = {"name": "Школа", "listed_as": "Группа", "rank": "№", "title": "Фактор риска", "level": "Уровень",
                  "explain": "Что повышает риск (школа / в среднем)", "directions": "Направления дорожной карты",
                  "in_plan": "В черновике плана"}
PROFILE_COLUMNS = {"name": "Школа", "title": "Фактор риска", "level": "Уровень", "score": "Оценка по правилу",
                   "coverage": "Полнота данных", "n_used": "Показателей есть", "n_all": "Показателей всего",
                   "explain": "Что повышает риск", "missing": "Каких показателей нет"}
PROFILE_KINDS = {"score": "num2", "coverage": "share", "n_used": "int", "n_all": "int"}

PAIR_COLUMNS = {"name": "Школа из списка", "leader_name": "Школа-лидер", "distance": "Различие условий",
                "travel_km": "Расстояние, км", "explain": "Почему эта пара", "alternatives": "Другие варианты"}
PAIR_KINDS = {"distance": "num2", "travel_km": "num1"}
ALONE_COLUMNS = {"name": "Школа из списка", "reason": "Почему пара не подобрана"}


def roadmap_rows(draft: pd.DataFrame) -> pd.DataFrame:
    """The draft roadmap for the справка: the owner (the municipality or the school), the term in words."""
    out = draft.copy()
    out["owner"] = out["school_name"].where(out["school_id"].notna(), "Муниципалитет")
    out["term"] = [term_text(a, b) for a, b in zip(out["start"], out["deadline"])]
    out["indicator_title"] = out["indicator"].map(vocab.MONITORING_INDICATORS).fillna("")
    return out


ROADMAP_COLUMNS_RU = {"owner": "Для кого", "direction": "Направление", "measure": "Мероприятие", "term": "Срок",
                      "responsible": "Ответственный", "expected_result": "Ожидаемый результат",
                      "indicator_title": "Показатель мониторинга", "basis": "Основание"}
ROADMAP_BODY = ["owner", "direction", "measure", "term", "responsible"]

PROGRESS_COLUMNS = {"direction": "Направление", "items": "Пунктов", "done": "Выполнено", "in_progress": "Выполняется",
                    "soon": "Срок подходит", "overdue": "Просрочено", "cancelled": "Отменено",
                    "done_share": "Выполнено из пунктов с истёкшим сроком"}
PROGRESS_KINDS = {c: "int" for c in ("items", "done", "in_progress", "soon", "overdue", "cancelled")} | \
    {"done_share": "share"}


def overdue_rows(measures: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """Roadmap items overdue or with the deadline soon at the report date, the most overdue first."""
    m = measures[measures["state"].isin(["просрочено", "срок подходит"])].copy()
    m["owner"] = m["school_id"].map(names).where(m["school_id"].notna(), "Муниципалитет")
    m["deadline_text"] = pd.to_datetime(m["deadline"]).dt.strftime("%d.%m.%Y")
    return m.sort_values(["state", "deadline"], ascending=[False, True]).reset_index(drop=True)


OVERDUE_COLUMNS = {"state": "Состояние", "owner": "Для кого", "direction": "Направление", "measure": "Мероприятие",
                   "deadline_text": "Срок", "responsible": "Ответственный", "status": "Статус"}


def _indicator_text(value, unit, numerator, denominator) -> str:
    if pd.isna(value):
        return "—"
    if unit == "%":
        return f"{number(value, 1)} % ({integer(numerator)} из {integer(denominator)})"
    return f"{integer(value)} из {integer(denominator)}"


def indicator_table(indicators: pd.DataFrame) -> pd.DataFrame:
    """Indicator × cycle: «50,0 % (1 из 2)» for shares, «2 из 3» for schools reached; the last change in words
    and how the last cycle was counted."""
    t = indicators.assign(text=[_indicator_text(*r) for r in
                                zip(indicators["value"], indicators["unit"], indicators["numerator"],
                                    indicators["denominator"])])
    wide = t.pivot(index="indicator", columns="cycle", values="text")
    order = [c for c in vocab.MONITORING_INDICATORS if c in wide.index]
    wide = wide.reindex(order)
    last = t.sort_values("year").groupby("indicator").tail(1).set_index("indicator")
    out = pd.DataFrame({"title": [vocab.MONITORING_INDICATORS[c] for c in order]})
    for c in wide.columns:
        out[c] = wide[c].fillna("—").to_numpy()
    out["direction"] = last["direction"].reindex(order).fillna("").to_numpy()
    out["note"] = last["note"].reindex(order).fillna("").to_numpy()
    return out


def indicator_columns(table: pd.DataFrame) -> tuple[dict[str, str], list[str]]:
    """Russian headers of :func:`indicator_table` and the columns the body shows (without the notes)."""
    cycles = [c for c in table.columns if c not in ("title", "direction", "note")]
    cols = {"title": "Показатель", **{c: f"Цикл {c}" for c in cycles},
            "direction": "Изменение за последний цикл", "note": "Как посчитано (последний цикл)"}
    return cols, ["title", *cycles, "direction"]


def plot_indicators(indicators: pd.DataFrame, title: str):
    """The eight indicators over the cycles, one small panel each (percent or number of schools)."""
    import textwrap

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(10, 5.8), sharex=True)
    for ax, code in zip(axes.flat, vocab.MONITORING_INDICATORS):
        g = indicators[indicators["indicator"] == code].sort_values("year")
        ax.plot(g["cycle"], g["value"], "-o", color="#1f5fa8", ms=3.5)
        unit = g["unit"].iloc[0] if len(g) else ""
        ax.set_title("\n".join(textwrap.wrap(vocab.MONITORING_INDICATORS[code], 34)), fontsize=7.5)
        ax.set_ylabel("%" if unit == "%" else "школ", fontsize=7)
        ax.tick_params(labelsize=6.5)
        ax.tick_params(axis="x", rotation=45)
        ax.grid(axis="y", alpha=0.3)
        if unit == "%":
            ax.set_ylim(0, 100)
        else:
            top = float(np.nanmax(g["value"].to_numpy(dtype=float))) if g["value"].notna().any() else 1.0
            ax.set_ylim(0, max(1.0, top) * 1.15)
            ax.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def history_table(history: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """School × year states of the list (schools ever listed), with re-entries."""
    if not len(history):
        return pd.DataFrame(columns=["name", "reentries"])
    wide = history.pivot(index="school_id", columns="year", values="state").fillna("")
    out = pd.DataFrame({"name": [names.get(s, s) for s in wide.index]})
    for y in wide.columns:
        out[str(y)] = wide[y].to_numpy()
    out["reentries"] = history.groupby("school_id")["reentries"].max().reindex(wide.index).to_numpy()
    return out.sort_values("name").reset_index(drop=True)


SUMMARY_COLUMNS = {"year": "Год", "listed": "В списке", "new": "Включены впервые", "reentered": "Включены повторно",
                   "exited": "Вышли из списка"}
