"""Municipality overview: schools, participants and ВПР results against the region (DuckDB aggregates).

Results are expressed as the percent of the maximum primary score (comparable across subjects and
years) and as shares of marks; the region's distribution of school means gives the context.

Example
-------
>>> from workbench.data.store import Store
>>> s = Store("data/store")                      # doctest: +SKIP
>>> school_results(s, year=2026, subject="math", grade=5).head()   # doctest: +SKIP
"""
from __future__ import annotations

import pandas as pd

from workbench import formatting as fmt
from workbench.data.store import Store
from workbench.vocab import SUBJECTS

_WORKS = """
    SELECT v.year, v.municipality, v.school_id, v.subject, v.grade, v.primary_score, v.mark,
           100.0 * v.primary_score / s.max_score AS pct
    FROM vpr v JOIN mark_scales s USING (year, subject, grade)
    WHERE NOT v.absent AND v.primary_score IS NOT NULL
"""


def _where(**filters) -> tuple[str, list]:
    parts, params = [], []
    for col, val in filters.items():
        if val is None:
            continue
        parts.append(f"w.{col} = ?")
        params.append(val)
    return (" AND ".join(parts) or "TRUE"), params


def school_results(store: Store, *, year: int | None = None, subject: str | None = None, grade: int | None = None,
                   municipality: str | None = None) -> pd.DataFrame:
    """One row per school × year × subject × grade: participants, mean percent, shares of «2» and «4–5».

    >>> school_results(Store("data/store"), year=2026, subject="rus", grade=4)  # doctest: +SKIP
    """
    where, params = _where(year=year, subject=subject, grade=grade, municipality=municipality)
    sql = f"""
        WITH w AS ({_WORKS})
        SELECT w.year, w.municipality, w.school_id, sc.name, sc.school_type, sc.settlement, w.subject, w.grade,
               count(*) AS participants, avg(pct) AS mean_pct, avg(mark) AS mean_mark,
               avg((mark = 2)::DOUBLE) AS share_2, avg((mark >= 4)::DOUBLE) AS share_45
        FROM w LEFT JOIN schools sc USING (school_id)
        WHERE {where}
        GROUP BY ALL ORDER BY w.year, w.subject, w.grade, w.municipality, w.school_id"""
    return store.query(sql, params)


def region_reference(store: Store, year: int) -> pd.DataFrame:
    """The region's picture by subject and grade in a year: pupils' mean percent and shares of marks, and
    the quartiles of school means. Region-wide: computed once per run and cached (see notebook_support)."""
    sql = f"""
        WITH w AS ({_WORKS} AND v.year = ?),
        school AS (SELECT subject, grade, school_id, avg(pct) AS m FROM w GROUP BY ALL),
        q AS (SELECT subject, grade, quantile_cont(m, 0.25) AS region_q1, quantile_cont(m, 0.5) AS region_median,
                     quantile_cont(m, 0.75) AS region_q3, count(*) AS region_schools FROM school GROUP BY ALL),
        reg AS (SELECT subject, grade, count(*) AS region_participants, avg(pct) AS region_mean_pct,
                       avg((mark = 2)::DOUBLE) AS region_share_2, avg((mark >= 4)::DOUBLE) AS region_share_45
                FROM w GROUP BY ALL)
        SELECT * FROM reg JOIN q USING (subject, grade) ORDER BY subject, grade"""
    return store.query(sql, [year])


def municipality_results(store: Store, municipality: str | None, year: int) -> pd.DataFrame:
    """The municipality's pupils by subject and grade: schools, participants, mean percent, shares of marks
    (``municipality=None``: every municipality at once, with a ``municipality`` column)."""
    one = municipality is not None
    sql = f"""
        WITH w AS ({_WORKS} AND v.year = ?{" AND v.municipality = ?" if one else ""})
        SELECT {"" if one else "municipality, "}subject, grade, count(DISTINCT school_id) AS schools,
               count(*) AS participants, avg(pct) AS mean_pct, avg((mark = 2)::DOUBLE) AS share_2,
               avg((mark >= 4)::DOUBLE) AS share_45
        FROM w GROUP BY ALL ORDER BY {"" if one else "municipality, "}subject, grade"""
    return store.query(sql, [year, municipality] if one else [year])


def results_vs_region(store: Store, municipality: str, year: int, reference: pd.DataFrame | None = None,
                      results: pd.DataFrame | None = None) -> pd.DataFrame:
    """By subject and grade: the municipality against the region (``reference`` from ``region_reference``),
    with the quartiles of the region's school means, so a reader sees where the municipality sits.
    ``results``: every municipality's ``municipality_results`` of the year, when the caller holds them."""
    ref = region_reference(store, year) if reference is None else reference
    mine = (municipality_results(store, municipality, year) if results is None else
            results[results["municipality"] == municipality].drop(columns="municipality").reset_index(drop=True))
    out = mine.merge(ref, on=["subject", "grade"], how="left")
    out["diff_pct"] = out["mean_pct"] - out["region_mean_pct"]
    out.insert(0, "subject_name", out["subject"].map(SUBJECTS).fillna(out["subject"]))
    return out


def municipality_trend(store: Store, municipality: str) -> pd.DataFrame:
    """Mean percent by year, subject and grade for the municipality and the region side by side."""
    sql = f"""
        WITH w AS ({_WORKS})
        SELECT year, subject, grade,
               avg(pct) FILTER (WHERE municipality = ?) AS mean_pct,
               avg(pct) AS region_mean_pct,
               count(*) FILTER (WHERE municipality = ?) AS participants
        FROM w GROUP BY ALL HAVING count(*) FILTER (WHERE municipality = ?) > 0 ORDER BY subject, grade, year"""
    out = store.query(sql, [municipality] * 3)
    out.insert(0, "subject_name", out["subject"].map(SUBJECTS).fillna(out["subject"]))
    return out


def key_figures(store: Store, municipality: str, year: int) -> dict[str, float]:
    """Headline numbers of a municipality in a year (schools, participants, mean percent vs region)."""
    sql = f"""
        WITH w AS ({_WORKS} AND v.year = ?)
        SELECT count(DISTINCT school_id) FILTER (WHERE municipality = ?) AS schools,
               count(*) FILTER (WHERE municipality = ?) AS participants,
               avg(pct) FILTER (WHERE municipality = ?) AS mean_pct,
               avg(pct) AS region_mean_pct,
               avg((mark = 2)::DOUBLE) FILTER (WHERE municipality = ?) AS share_2,
               avg((mark = 2)::DOUBLE) AS region_share_2
        FROM w"""
    row = store.query(sql, [year] + [municipality] * 4).iloc[0]
    return {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}


def years(store: Store) -> list[int]:
    """Years present in the ВПР table."""
    return [int(y) for y in store.query("SELECT DISTINCT year FROM vpr ORDER BY 1").year]


def schools_summary(store: Store, municipality: str, year: int) -> pd.DataFrame:
    """Schools of the municipality with their type, settlement and ВПР participants in the year."""
    sql = f"""
        WITH w AS ({_WORKS} AND v.year = ? AND v.municipality = ?)
        SELECT sc.school_id, sc.name, sc.school_type, sc.settlement, sc.enrolment,
               count(w.school_id) AS participants, avg(w.pct) AS mean_pct, avg((w.mark = 2)::DOUBLE) AS share_2
        FROM schools sc LEFT JOIN w USING (school_id)
        WHERE sc.municipality = ?
        GROUP BY ALL ORDER BY sc.school_id"""
    return store.query(sql, [year, municipality, municipality])


def key_figures_text(f: dict, name: str, year: int) -> str:
    """One plain-language paragraph with the headline numbers."""
    if not f.get("participants"):
        return f"В {year} году по муниципалитету «{name}» нет результатов ВПР в хранилище."
    diff = f["mean_pct"] - f["region_mean_pct"]
    side = "выше" if diff > 0 else "ниже"
    pct = lambda x: fmt.number(x, 1, unit="%")   # noqa: E731 — percent of maximum, already 0–100
    return (f"В {year} году в ВПР участвовали {fmt.integer(f['participants'])} работ из {fmt.integer(f['schools'])} "
            f"школ. Средний процент выполнения — {pct(f['mean_pct'])} (по региону {pct(f['region_mean_pct'])}, "
            f"то есть на {fmt.number(abs(diff), 1)} п.п. {side}); доля отметок «2» — {fmt.share(f['share_2'])} "
            f"(по региону {fmt.share(f['region_share_2'])}).")


SCHOOLS_COLUMNS = {"school_id": "Код ОО", "name": "Школа", "school_type": "Тип", "settlement": "Местность",
                   "enrolment": "Обучающихся", "participants": "Работ ВПР", "mean_pct": "Средний % выполнения",
                   "share_2": "Доля «2»"}
VS_REGION_COLUMNS = {"subject_name": "Предмет", "grade": "Класс", "schools": "Школ", "participants": "Работ",
                     "mean_pct": "Средний %", "region_mean_pct": "Регион, %", "diff_pct": "Разница, п.п.",
                     "share_2": "Доля «2»", "region_share_2": "Регион: доля «2»", "share_45": "Доля «4–5»",
                     "region_share_45": "Регион: доля «4–5»", "region_q1": "Регион: Q1 школ, %",
                     "region_median": "Регион: медиана школ, %", "region_q3": "Регион: Q3 школ, %"}
VS_REGION_KINDS = {"grade": "text", "schools": "int", "participants": "int", "mean_pct": "percent",
                   "region_mean_pct": "percent", "diff_pct": "pp", "share_2": "share", "region_share_2": "share",
                   "share_45": "share", "region_share_45": "share", "region_q1": "percent", "region_median": "percent",
                   "region_q3": "percent"}
SCHOOLS_KINDS = {"enrolment": "int", "participants": "int", "mean_pct": "percent", "share_2": "share"}
TREND_COLUMNS = {"subject_name": "Предмет", "grade": "Класс", "year": "Год", "participants": "Работ",
                 "mean_pct": "Муниципалитет, %", "region_mean_pct": "Регион, %"}
TREND_KINDS = {"grade": "text", "year": "text", "participants": "int", "mean_pct": "percent", "region_mean_pct": "percent"}


def plot_vs_region(vs: pd.DataFrame, name: str):
    """Dot (municipality) on the band of the region's middle 50 % of schools, per subject and grade."""
    import matplotlib.pyplot as plt

    d = vs.dropna(subset=["mean_pct"]).sort_values(["subject_name", "grade"])
    labels = [f"{s}, {g} кл." for s, g in zip(d.subject_name, d.grade)]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(d) + 1.2))
    y = range(len(d))
    ax.hlines(y, d.region_q1, d.region_q3, color="#cfd8dc", lw=8, label="средние 50 % школ региона")
    ax.scatter(d.region_median, y, marker="|", s=200, color="#37474f", label="медиана школ региона", zorder=3)
    ax.scatter(d.mean_pct, y, color="#d84315", s=30, label=name, zorder=4)
    ax.set_yticks(list(y), labels)
    ax.invert_yaxis()
    ax.set_xlabel("Средний процент выполнения работы")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_trend(trend: pd.DataFrame, name: str, min_n: int):
    """Small multiples: one panel per subject and grade, the municipality's and the region's mean percent by year.
    Years with fewer participants than ``min_n`` are left out of the municipality's line (suppression)."""
    import matplotlib.pyplot as plt

    works = trend[["subject_name", "grade"]].drop_duplicates().sort_values(["subject_name", "grade"])
    n = max(len(works), 1)
    cols = 4
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 1.9 * rows + 0.6), sharey=True, squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    for ax, (subj, grade) in zip(axes.ravel(), works.itertuples(index=False)):
        d = trend[(trend.subject_name == subj) & (trend.grade == grade)].sort_values("year")
        mine = d[d.participants >= min_n]
        ax.plot(d.year, d.region_mean_pct, color="#90a4ae", lw=1.5, label="регион")
        ax.plot(mine.year, mine.mean_pct, color="#d84315", marker="o", ms=3, lw=1.5, label=name)
        ax.set_title(f"{subj}, {grade} кл.", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xticks(sorted(d.year.unique()))
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("% выполнения", fontsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig
