"""Municipality overview: schools, participants and ВПР results against the region (DuckDB aggregates).

Results are expressed as the percent of the maximum primary score (comparable across subjects and
years) and as shares of marks; the region's distribution of school means gives the context.

Example
-------
>>> from workbench.store import Store
>>> s = Store("data/store")                      # doctest: +SKIP
>>> school_results(s, year=2026, subject="math", grade=5).head()   # doctest: +SKIP
"""
from __future__ import annotations

import pandas as pd

from workbench.store import Store

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
        parts.append(f"{col} = ?")
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


def results_vs_region(store: Store, municipality: str, year: int) -> pd.DataFrame:
    """By subject and grade: the municipality's pupils against the region's (mean percent, shares of marks),
    plus the quartiles of the region's school means, so a reader sees where the municipality sits."""
    sql = f"""
        WITH w AS ({_WORKS} AND v.year = ?),
        school AS (SELECT subject, grade, school_id, avg(pct) AS m FROM w GROUP BY ALL),
        q AS (SELECT subject, grade, quantile_cont(m, 0.25) AS region_q1, quantile_cont(m, 0.5) AS region_median,
                     quantile_cont(m, 0.75) AS region_q3, count(*) AS region_schools FROM school GROUP BY ALL),
        reg AS (SELECT subject, grade, count(*) AS region_participants, avg(pct) AS region_mean_pct,
                       avg((mark = 2)::DOUBLE) AS region_share_2, avg((mark >= 4)::DOUBLE) AS region_share_45
                FROM w GROUP BY ALL),
        mun AS (SELECT subject, grade, count(*) AS participants, count(DISTINCT school_id) AS schools,
                       avg(pct) AS mean_pct, avg((mark = 2)::DOUBLE) AS share_2, avg((mark >= 4)::DOUBLE) AS share_45
                FROM w WHERE municipality = ? GROUP BY ALL)
        SELECT mun.subject, mun.grade, mun.schools, mun.participants, mun.mean_pct, reg.region_mean_pct,
               mun.mean_pct - reg.region_mean_pct AS diff_pct, mun.share_2, reg.region_share_2,
               mun.share_45, reg.region_share_45, q.region_q1, q.region_median, q.region_q3, q.region_schools
        FROM mun JOIN reg USING (subject, grade) JOIN q USING (subject, grade)
        ORDER BY mun.subject, mun.grade"""
    return store.query(sql, [year, municipality])


def municipality_trend(store: Store, municipality: str) -> pd.DataFrame:
    """Mean percent by year, subject and grade for the municipality and the region side by side."""
    sql = f"""
        WITH w AS ({_WORKS})
        SELECT year, subject, grade,
               avg(pct) FILTER (WHERE municipality = ?) AS mean_pct,
               avg(pct) AS region_mean_pct,
               count(*) FILTER (WHERE municipality = ?) AS participants
        FROM w GROUP BY ALL ORDER BY subject, grade, year"""
    return store.query(sql, [municipality, municipality])


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
