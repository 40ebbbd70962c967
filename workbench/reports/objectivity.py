"""What the objectivity section publishes: the FIS OKO agreement report, agreement statistics, a heat map of
schools × subjects, the list of signals and score histograms with mark boundaries (Russian).

Everything here stops at school level (ВПР results may not be used to evaluate teachers, DOMAIN §7), and every
signal is worded as «признак», never as a verdict.

Example
-------
>>> t = pd.DataFrame({"level": ["школа", "школа"], "school_id": ["a", "a"], "unit_name": ["Школа А", "Школа А"],
...                   "subject": ["rus", "math"], "subject_name": ["Русский язык", "Математика"], "grade": [5, 5],
...                   "with_both": [40, 3], "lowered_share": [0.5, 0.1], "raised_share": [0.05, 0.0]})
>>> heat_matrix(t, "lowered_share", min_n=5).round(2).values.tolist()
[[nan, 0.5]]
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.vocab import SUBJECTS

REPORT_COLUMNS = ["subject_name", "grade", "level", "unit_name", "participants", "without_journal", "with_both",
                  "lowered", "lowered_share", "confirmed", "confirmed_share", "raised", "raised_share", "diff2",
                  "diff2_share", "sample_size"]


def _grade(g) -> str:
    return "все" if pd.isna(g) else str(int(g))


def report_table(report: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str], dict[str, str]]:
    """The FIS OKO agreement table for publication: rows as in the report, Russian headers, column kinds."""
    from workbench.agreement import AGREEMENT_COLUMNS_RU

    out = report.copy()
    out["grade"] = out["grade"].map(_grade)
    cols = {c: AGREEMENT_COLUMNS_RU.get(c, c) for c in REPORT_COLUMNS}
    kinds = {c: "share" if c.endswith("_share") else "int" for c in REPORT_COLUMNS
             if c not in ("subject_name", "grade", "level", "unit_name", "sample_size")}
    return out, cols, kinds


def heat_matrix(report: pd.DataFrame, value: str, min_n: int) -> pd.DataFrame:
    """School × «subject, grade» matrix of a share from the agreement report; cells under ``min_n`` are NaN."""
    s = report[(report["level"] == "школа") & report["grade"].notna()].copy()
    s["work"] = s["subject"].map(SUBJECTS).fillna(s["subject"]) + ", " + s["grade"].astype("Int64").astype(str)
    s.loc[s["with_both"] < min_n, value] = np.nan
    m = s.pivot_table(index="unit_name", columns="work", values=value, aggfunc="first", dropna=False)
    order = s.drop_duplicates("work").sort_values(["subject", "grade"])["work"]
    return m.reindex(columns=[w for w in order if w in m.columns])


def plot_heatmaps(report: pd.DataFrame, name: str, min_n: int):
    """Two heat maps, one above the other: share lowered (journal above ВПР) and share raised (ВПР above journal)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    low, high = heat_matrix(report, "lowered_share", min_n), heat_matrix(report, "raised_share", min_n)
    height = 2 * (0.3 * max(len(low), 3) + 1.8)
    fig, axes = plt.subplots(2, 1, figsize=(min(max(8, 0.28 * low.shape[1] + 4), 18), height), sharex=True)
    for ax, m, title, cmap in ((axes[0], low, "Понизили (отметка ВПР ниже журнальной)", "Reds"),
                               (axes[1], high, "Повысили (отметка ВПР выше журнальной)", "Blues")):
        sns.heatmap(100 * m, ax=ax, cmap=cmap, vmin=0, vmax=100 if "Пониз" in title else 40, annot=m.shape[1] <= 14,
                    fmt=".0f", annot_kws={"fontsize": 6}, cbar_kws={"label": "% участников с обеими отметками"},
                    linewidths=0.3, linecolor="white")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(axis="x", labelsize=7, rotation=90)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(f"{name}: соответствие отметок ВПР и журнала по школам и работам (пустые клетки — меньше "
                 f"{min_n} участников)", fontsize=10)
    fig.tight_layout()
    return fig


def municipality_statistics(pupils: pd.DataFrame, min_n: int | None = None) -> pd.DataFrame:
    """Agreement statistics (kappa, weighted kappa, Bowker, Stuart–Maxwell) of the municipality by subject and
    grade, from pupil rows (year, subject, grade, mark, journal_mark); the result holds aggregates only.

    Works with fewer than ``min_n`` pupils with both marks (default: ``agreement_min_cases`` of
    ``params/objectivity.yaml``) get no statistics. The Bowker and Stuart–Maxwell p-values of all works get
    Benjamini–Hochberg q-values (``bowker_q``, ``stuart_maxwell_q``): a dozen works tested at once would
    otherwise show a «significant» asymmetry by chance.
    """
    from statsmodels.stats.multitest import multipletests

    from workbench.agreement import agreement_by
    from workbench.objectivity import load_objectivity_params

    min_n = load_objectivity_params().agreement_min_cases.value if min_n is None else min_n
    st = agreement_by(pupils, by=["subject", "grade"], min_n=min_n)
    for test in ("bowker", "stuart_maxwell"):
        p = st[f"{test}_p"]
        q = pd.Series(np.nan, index=st.index)
        if p.notna().any():
            q[p.notna()] = multipletests(p[p.notna()], method="fdr_bh")[1]
        st.insert(st.columns.get_loc(f"{test}_p") + 1, f"{test}_q", q)
    st.insert(0, "subject_name", st["subject"].map(SUBJECTS).fillna(st["subject"]))
    return st


STATISTICS_SHOWN = ["subject_name", "grade", "n", "kappa", "kappa_quadratic", "kappa_quadratic_low",
                    "kappa_quadratic_high", "bowker", "bowker_df", "bowker_p", "bowker_q", "stuart_maxwell",
                    "stuart_maxwell_df", "stuart_maxwell_p", "stuart_maxwell_q", "note"]


STATISTICS_BODY = ["subject_name", "grade", "n", "kappa_quadratic", "bowker_q", "stuart_maxwell_q"]   # the body's
# columns; the appendix and the XLSX keep all (intervals, statistics, degrees of freedom, p before BH)


def weakest_first(stats: pd.DataFrame) -> pd.DataFrame:
    """Agreement statistics with the works of least agreement first (weighted kappa ascending; works without
    statistics last), so the body's first rows are the ones to look at.

    >>> weakest_first(pd.DataFrame({"subject": ["a", "b", "c"], "kappa_quadratic": [0.7, None, 0.4]}))["subject"].tolist()
    ['c', 'a', 'b']
    """
    return stats.sort_values("kappa_quadratic", na_position="last", kind="stable").reset_index(drop=True)


def statistics_columns() -> tuple[dict[str, str], dict[str, str]]:
    from workbench.agreement import STATISTICS_COLUMNS_RU

    cols = {"subject_name": "Предмет", "grade": "Класс"} | {c: STATISTICS_COLUMNS_RU.get(c, c) for c in STATISTICS_SHOWN[2:]}
    kinds = {c: "num3" for c in STATISTICS_SHOWN if c.startswith("kappa")}
    kinds |= {c: "p" for c in STATISTICS_SHOWN if c.endswith(("_p", "_q"))}
    kinds |= {"grade": "text", "n": "int", "bowker": "num1", "stuart_maxwell": "num1", "bowker_df": "int",
              "stuart_maxwell_df": "int"}
    return cols, kinds


def plot_score_histogram(counts: pd.DataFrame, expected: pd.DataFrame | None, scale: dict, title: str):
    """Primary-score distribution of one school's work (bars) against the region's shape scaled to the school's
    participants (line), with the mark boundaries drawn (min scores for «3», «4», «5»)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(counts["score"], counts["n"], color="#90a4ae", width=0.85, label="школа")
    if expected is not None and len(expected):
        ax.plot(expected["score"], expected["n"], color="#d84315", lw=1.5, label="ожидаемо по форме распределения региона")
    for key, label in (("min3", "«3»"), ("min4", "«4»"), ("min5", "«5»")):
        if pd.notna(scale.get(key)):
            ax.axvline(scale[key] - 0.5, color="#37474f", ls="--", lw=1)
            ax.text(scale[key] - 0.4, ax.get_ylim()[1] * 0.95, label, fontsize=8, va="top")
    ax.set_xlabel("Первичный балл")
    ax.set_ylabel("Участников")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return fig


def score_counts(store, year: int, school_id: str, subject: str, grade: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(school's counts by primary score, region's shape scaled to the school's participants, mark scale)."""
    rows = store.query("""
        SELECT primary_score AS score, count(*) FILTER (WHERE school_id = ?) AS school, count(*) AS region
        FROM vpr WHERE year = ? AND subject = ? AND grade = ? AND NOT absent AND primary_score IS NOT NULL
        GROUP BY 1 ORDER BY 1""", [school_id, year, subject, grade])
    scale = store.query("SELECT min3, min4, min5, max_score FROM mark_scales WHERE year = ? AND subject = ? AND grade = ?",
                        [year, subject, grade])
    counts = rows[["score"]].assign(n=rows["school"])
    expected = rows[["score"]].assign(n=rows["region"] / rows["region"].sum() * rows["school"].sum())
    return counts, expected, (scale.iloc[0].to_dict() if len(scale) else {})


SIGNAL_COLUMNS = {"unit_name": "Школа", "subject_name": "Предмет", "grade": "Класс", "title_ru": "Признак",
                  "n": "Участников", "effect": "Величина", "unit": "Единица", "threshold": "Порог", "statistic": "Статистика",
                  "p_value": "p", "q_value": "q (поправка Бенджамини — Хохберга)", "sample_size": "Надёжность",
                  "description_ru": "Описание"}
SIGNAL_BODY = ["unit_name", "subject_name", "grade", "title_ru", "n", "effect", "unit", "threshold", "q_value"]
SIGNAL_KINDS = {"n": "int", "effect": "num2", "threshold": "num2", "statistic": "num2", "p_value": "p",
                "q_value": "p"}


def signal_table(sig: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """Fired signals of the municipality with their evidence, strongest first."""
    f = sig[sig["fired"]].copy()
    f["unit_name"] = f["school_id"].map(names).fillna(f["school_id"])
    f["subject_name"] = f["subject"].map(SUBJECTS).fillna("все предметы")
    f["grade"] = f["grade"].map(_grade)
    return f.sort_values(["q_value", "school_id"]).reset_index(drop=True)
