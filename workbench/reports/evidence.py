"""«Почему школа в списке»: the evidence card of a flagged school, so a director can recompute the flag by hand.

A card holds the methodology with its source, the decision rule as written (how many criteria, which
threshold), every criterion of the school with its value, threshold, margin, interval and whether it held,
and the inputs the rules read: the school's results by assessment, subject, grade and year with the number
of participants, the region's mean and the school's difference from it. It is built from the same frames
the identification computed (``identify``), never recomputed differently.

Example
-------
>>> flags = pd.DataFrame({"school_id": ["a"], "name": ["Школа А"], "group": ["ШНОР"], "criteria_fired": [2],
...                       "criteria_required": [2], "flagged": [True], "risk_zone": [False], "shnsu": [False],
...                       "explanation": ["Выполнено 2 критерия из 2."]})
>>> crit = pd.DataFrame({"school_id": ["a", "a"], "title": ["К1", "К2"], "unit": ["п.п.", "п.п."],
...                      "value": [-25.0, -12.0], "threshold": [-20.0, -10.0], "margin": [-5.0, -2.0],
...                      "n": [80, 80], "ci_low": [-30.0, -15.0], "ci_high": [-20.0, -9.0], "probability": [0.99, 0.9],
...                      "years_held": ["2025, 2026", "2026"], "years_assessed": ["2025, 2026", "2025, 2026"],
...                      "fired": [True, True], "note": ["", ""]})
>>> card = evidence_card(flags.iloc[0], crit, pd.DataFrame(), "Лесосибирск", "seed 003")
>>> card.title, card.fired, card.required
('Почему школа в списке: Школа А (код a)', 2, 2)
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from workbench.reports.identification import shares_as_percent
from workbench.vocab import SUBJECTS

CRITERIA_COLUMNS = {"role": "Роль", "title": "Критерий", "unit": "Единица", "value": "Значение", "threshold": "Порог",
                    "margin": "Запас (значение − порог)", "ci_low": "Интервал: от", "ci_high": "Интервал: до",
                    "probability": "Вероятность за порогом", "n": "Участников", "years_held": "Годы, когда выполнялся",
                    "years_assessed": "Годы с данными", "fired_ru": "Выполнен"}
ROLE_CRITERION, ROLE_CONTEXT = "критерий ШНОР", "контекст (ШНСУ, дефициты)"
CRITERIA_KINDS = {"value": "num2", "threshold": "num2", "margin": "signed2", "ci_low": "num2", "ci_high": "num2",
                  "probability": "probability", "n": "int"}
INPUT_COLUMNS = {"assessment": "Оценочная процедура", "subject_name": "Предмет", "grade": "Класс", "year": "Год",
                 "n": "Участников", "mean": "Школа, % (балл)", "region_mean": "Регион, % (балл)",
                 "diff": "Разница с регионом", "share_2": "Доля «2» (ВПР)"}
INPUT_KINDS = {"n": "int", "mean": "num1", "region_mean": "num1", "diff": "signed1", "share_2": "share"}


@dataclass
class EvidenceCard:
    school_id: str
    name: str
    title: str
    group: str
    methodology: str
    source: str
    fired: int
    required: int | None
    lines: list[str]                 # Russian sentences: the rule as written and how it applies
    criteria: pd.DataFrame           # one row per criterion (CRITERIA_COLUMNS)
    inputs: pd.DataFrame             # the school's results the rules read (INPUT_COLUMNS)


def card_inputs(results: pd.DataFrame, school_id: str, years: list[int], subjects: list[str] | None = None) -> pd.DataFrame:
    """The school's results in the window: per assessment, subject, grade and year the participants, the school's
    and the region's mean (percent of maximum for ВПР, score for ОГЭ/ЕГЭ), the difference and the share of «2».
    ``subjects``: those the methodology reads (all when None).

    >>> r = pd.DataFrame({"school_id": ["a"], "assessment": ["ВПР"], "subject": ["math"], "grade": [5], "year": [2026],
    ...                   "n": [20], "mean": [40.0], "region_mean": [55.0], "n2": [6.0]})
    >>> card_inputs(r, "a", [2026])[["subject_name", "diff", "share_2"]].values.tolist()
    [['Математика', -15.0, 0.3]]
    """
    if results.empty:
        return pd.DataFrame(columns=list(INPUT_COLUMNS))
    r = results[(results["school_id"] == school_id) & results["year"].isin(years)]
    r = (r[r["subject"].isin(subjects)] if subjects else r).copy()
    r["subject_name"] = r["subject"].map(SUBJECTS).fillna(r["subject"])
    r["diff"] = r["mean"] - r["region_mean"]
    r["share_2"] = (r["n2"] / r["n"]).where(r["assessment"].eq("ВПР"))
    return r.sort_values(["assessment", "subject_name", "grade", "year"])[list(INPUT_COLUMNS)].reset_index(drop=True)


def evidence_card(flag: pd.Series, criteria: pd.DataFrame, inputs: pd.DataFrame, methodology: str,
                  source: str) -> EvidenceCard:
    """The card of one school from its flags row, its criteria rows (``identify`` frames) and its inputs."""
    crit = criteria[criteria["school_id"] == flag["school_id"]].copy()
    crit = shares_as_percent(crit.assign(fired_ru=crit["fired"].map({True: "да", False: "нет"})))
    # context indices (ИСБШ, staff, resources) decide ШНСУ and deficits; they do not count among the criteria
    context = crit["criterion"].astype(str).str.endswith("_index") if "criterion" in crit else pd.Series(False, crit.index)
    crit["role"] = context.map({True: ROLE_CONTEXT, False: ROLE_CRITERION})
    crit = pd.concat([crit[~context], crit[context]])
    main = crit[crit["role"] == ROLE_CRITERION]
    fired = int(main["fired"].sum())
    required = None if pd.isna(flag.get("criteria_required")) else int(flag["criteria_required"])
    assessed = int(main["value"].notna().sum())
    lines = [f"Методика «{methodology}» ({source}). Группа школы: {flag['group'] or 'не выделена'}."]
    if required is not None:
        lines.append(f"Правило: школа относится к ШНОР, если выполнено не менее {required} критериев; у школы выполнено "
                     f"{fired} из {assessed} оценённых (всего критериев {len(main)}).")
    else:
        lines.append(f"Выполнено критериев: {fired} из {assessed} оценённых (всего {len(main)}).")
    if len(main) < len(crit):
        lines.append("Показатели социального контекста (индексы, строки «контекст») определяют ШНСУ и дефициты "
                     "ресурсов и кадров; в число критериев ШНОР они не входят.")
    lines.append("Как проверить: для каждого критерия сравните значение с порогом (запас = значение − порог); "
                 "значения рассчитаны по исходным результатам в таблице ниже. Интервал и вероятность показывают, "
                 "насколько уверенно школа находится за порогом с учётом числа участников.")
    if flag.get("explanation"):
        lines.append(str(flag["explanation"]))
    return EvidenceCard(str(flag["school_id"]), str(flag["name"]),
                        f"Почему школа в списке: {flag['name']} (код {flag['school_id']})", str(flag["group"] or ""),
                        methodology, source, fired, required, lines,
                        crit[list(CRITERIA_COLUMNS)].reset_index(drop=True), inputs)


def listed(flags: pd.DataFrame) -> pd.DataFrame:
    """Schools that get a card: ШНОР, the risk zone and ШНСУ."""
    keep = flags["flagged"].astype(bool) | flags["risk_zone"].astype(bool) | flags["shnsu"].astype(bool)
    return flags[keep]
