"""The non-ВПР tables of the demo region, in canonical columns (``workbench.data.schemas``), ready to validate.

School-year tables (context, staff, resources, outcomes, surveys, exams) come from a municipality's
``MunicipalityModel`` so they agree with its ВПР results (same context, school effects, cohorts); the
event tables (measures, partnerships, deficits, courses) follow the plan's support programme.

Example
-------
>>> from workbench.demo.region import build_plan
>>> from workbench.demo.works import MunicipalityModel, MISSING_COLUMNS
>>> plan = build_plan(0.05, 7)
>>> m = MunicipalityModel(plan.schools[plan.schools.municipality == "004"], 7, plan.years)
>>> ctx = context_table(m, 2024, pd.DataFrame(columns=MISSING_COLUMNS))
>>> len(ctx), bool(ctx.share_low_income.between(0, 1).all())
(9, True)
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from workbench import vocab
from workbench.demo import knobs as K
from workbench.demo.region import RegionPlan, rng_for
from workbench.demo.works import MunicipalityModel, sigmoid
from workbench.data.schemas import TABLES

AS_OF = dt.date(2026, 5, 15)   # the demo's "today" for roadmap statuses (overdue = deadline before it, not done)


def _missing_ids(missing: pd.DataFrame, table: str, year: int) -> set[str]:
    m = missing[(missing["table"] == table) & (missing["year"] == year)]
    return set(m["school_id"])


def _keep(model: MunicipalityModel, missing: pd.DataFrame, table: str, year: int) -> np.ndarray:
    return ~model.schools["school_id"].isin(_missing_ids(missing, table, year)).to_numpy()


def _keys(model: MunicipalityModel, year: int) -> dict[str, object]:
    n = len(model.schools)
    return {"year": pd.array(np.full(n, year), dtype="Int64"),
            "municipality": pd.array(np.full(n, model.code), dtype="str"),
            "school_id": pd.array(model.schools["school_id"].to_numpy(), dtype="str")}


def _share(x: np.ndarray, digits: int = 3) -> pd.arrays.FloatingArray:
    return pd.array(np.round(np.clip(x, 0, 1), digits), dtype="Float64")


def _mean_ability(model: MunicipalityModel, year: int) -> np.ndarray:
    """School mean ability over grades 4–9 (what staff, outcomes and surveys respond to)."""
    return np.mean([model.mean_ability(year, g) for g in range(4, 10)], axis=0)


def schools_table(plan: RegionPlan) -> pd.DataFrame:
    """The registry (canonical ``schools`` columns)."""
    s = plan.schools
    return pd.DataFrame({
        "school_id": pd.array(s["school_id"], dtype="str"),
        "municipality": pd.array(s["municipality"], dtype="str"),
        "name": pd.array(s["name"], dtype="str"),
        "school_type": pd.array(s["school_type"], dtype="str"),
        "settlement": pd.array(s["settlement"], dtype="str"),
        "enrolment": pd.array(s["enrolment"], dtype="Int64"),
        "distance_km": pd.array(s["distance_km"], dtype="Float64"),
        "small_class": pd.array(s["small_class"], dtype="boolean"),
    })


def context_table(model: MunicipalityModel, year: int, missing: pd.DataFrame) -> pd.DataFrame:
    """Context shares of each school in a year, driven by its context ``ses`` (plus yearly noise)."""
    rng = rng_for(model.seed, model.code, year, "context")
    n = len(model.schools)
    ses = model.ses

    def share(base: float, slope: float, extra: np.ndarray | float = 0.0) -> pd.arrays.FloatingArray:
        return _share(sigmoid(base + slope * ses + extra + rng.normal(0, 0.15, n)))

    migrants = model.schools["migrant_shift"].to_numpy(float)
    df = pd.DataFrame({**_keys(model, year),
                       "share_parents_higher_ed": share(-0.7, 0.9),
                       "share_single_parent": share(-1.3, -0.35),
                       "share_unemployed_parent": share(-2.4, -0.6),
                       "share_low_income": share(-1.6, -0.8),
                       "share_registered": share(-3.5, -0.6),
                       "share_non_native": share(-3.0, -0.4, migrants),
                       "share_ovz": share(-2.9, -0.25, np.where(model.small, 0.4, 0.0)),
                       "share_low_motivation": share(-1.5, -0.6, -0.5 * model.effect)})
    blank = rng.random(n) < 0.03   # a few cells not filled in
    df.loc[blank, "share_low_motivation"] = pd.NA
    return df[_keep(model, missing, "context", year)].reset_index(drop=True)


def staff_table(model: MunicipalityModel, year: int, missing: pd.DataFrame) -> pd.DataFrame:
    """Staffing of each school in a year (the support programme raises category renewal from its start)."""
    rng = rng_for(model.seed, model.code, year, "staff")
    n = len(model.schools)
    teachers = np.maximum(2, np.round(model.schools["teachers"].to_numpy() * np.exp(rng.normal(0, 0.03, n))))
    need = sigmoid(-2.6 - 0.5 * model.ses + np.where(model.rural, 0.6, 0.0))
    vacancies = rng.poisson(teachers * need * 0.6)
    supported = model.support(year) > 0
    size = model.schools["enrolment"].to_numpy(float)
    deprived = model.schools["deprived"].to_numpy(bool)

    def has(base: float) -> pd.arrays.BooleanArray:
        p = sigmoid(base + size / 400 - np.where(deprived, 1.5, 0.0))
        return pd.array(rng.random(n) < p, dtype="boolean")

    df = pd.DataFrame({**_keys(model, year),
                       "teachers": pd.array(teachers.astype(int), dtype="Int64"),
                       "vacancies": pd.array(vacancies, dtype="Int64"),
                       "share_category": _share(sigmoid(0.3 + 0.5 * model.effect + rng.normal(0, 0.3, n))),
                       "share_category_3y": _share(sigmoid(-0.8 + 0.3 * model.effect + np.where(supported, 0.8, 0.0)
                                                           + rng.normal(0, 0.3, n))),
                       "share_overload": _share(sigmoid(-2.0 + np.where(model.rural, 0.7, 0.0) + rng.normal(0, 0.3, n))),
                       "share_outside_diploma": _share(sigmoid(-3.0 + np.where(model.rural, 1.0, 0.0)
                                                               + np.where(model.small, 0.8, 0.0) + rng.normal(0, 0.3, n))),
                       "share_age60": _share(sigmoid(-2.2 + np.where(model.rural, 0.5, 0.0) + rng.normal(0, 0.3, n))),
                       "share_contests": _share(sigmoid(-1.8 + 0.8 * model.effect + rng.normal(0, 0.4, n))),
                       "has_psychologist": has(-0.5),
                       "has_speech_therapist": has(-1.2),
                       "has_social_pedagogue": has(-0.3)})
    return df[_keep(model, missing, "staff", year)].reset_index(drop=True)


def resources_table(model: MunicipalityModel, year: int, missing: pd.DataFrame) -> pd.DataFrame:
    """Textbooks, computers, internet and labs of each school in a year."""
    rng = rng_for(model.seed, model.code, year, "resources")
    n = len(model.schools)
    pcs = np.exp(rng.normal(np.log(0.12), 0.35, n)) * np.where(model.small, 2.5, 1.0)
    mbps = np.where(model.rural, rng.choice([10, 20, 30, 50], n), rng.choice([50, 100, 100, 200, 300], n))
    df = pd.DataFrame({**_keys(model, year),
                       "share_new_textbooks": _share(sigmoid(0.4 + 0.3 * model.ses + 0.1 * (year - 2022)
                                                             + rng.normal(0, 0.4, n))),
                       "pcs_per_pupil": pd.array(np.round(np.clip(pcs, 0, 5), 3), dtype="Float64"),
                       "internet_mbps": pd.array(mbps.astype(float), dtype="Float64"),
                       "share_labs_equipped": _share(sigmoid(-0.4 + 0.4 * model.ses + rng.normal(0, 0.5, n)))})
    return df[_keep(model, missing, "resources", year)].reset_index(drop=True)


def outcomes_table(model: MunicipalityModel, year: int, missing: pd.DataFrame) -> pd.DataFrame:
    """Grade 9 graduates, how many continued to grade 10, olympiad participants and НОКО satisfaction."""
    rng = rng_for(model.seed, model.code, year, "outcomes")
    n = len(model.schools)
    sizes = model.grade_sizes(year)
    grads = sizes[:, 9]
    ability = model.mean_ability(year, 9)
    p_cont = sigmoid(0.45 + 0.9 * ability + np.where(model.schools["school_type"] == "ООШ", -0.5, 0.0))
    cont = rng.binomial(grads, np.clip(p_cont, 0, 1))
    has9 = grads > 0
    senior = sizes[:, 7:12].sum(axis=1)
    olymp = rng.poisson(senior * 0.006 * np.exp(1.3 * _mean_ability(model, year)))
    noko = sigmoid(0.9 + 0.9 * model.effect + 0.3 * model.ses + rng.normal(0, 0.3, n))
    df = pd.DataFrame({**_keys(model, year),
                       "grade9_graduates": pd.arrays.IntegerArray(grads.astype("int64"), ~has9),
                       "continued_grade10": pd.arrays.IntegerArray(cont.astype("int64"), ~has9),
                       "olympiad_participants": pd.array(olymp, dtype="Int64"),
                       "noko_satisfaction": _share(noko)})
    return df[_keep(model, missing, "outcomes", year)].reset_index(drop=True)


# (code, respondent group, base logit, slope on context, slope on school effect); values are shares 0–1.
SURVEY_INDICATORS: tuple[tuple[str, str, float, float, float], ...] = (
    ("equipment_deficit", "директор", -0.6, -0.5, -0.2),
    ("internet_quality_low", "директор", -1.2, -0.6, 0.0),
    ("subject_teacher_shortage", "директор", -1.4, -0.5, -0.3),
    ("support_staff_shortage", "директор", -0.8, -0.4, -0.2),
    ("teacher_methods_modern", "учитель", 0.3, 0.2, 0.6),
    ("teacher_confidence", "учитель", 0.8, 0.2, 0.5),
    ("parents_unhappy_teaching", "родитель", -1.8, -0.2, -0.6),
    ("teachers_unsure_ovz", "учитель", -0.4, 0.0, -0.3),
    ("extra_russian_classes", "директор", -1.5, -0.3, 0.2),
    ("low_motivation_teacher_view", "учитель", -0.9, -0.5, -0.5),
    ("low_motivation_student_view", "ученик", -1.2, -0.4, -0.4),
    ("individual_approach", "ученик", 0.2, 0.1, 0.4),
    ("bullying", "ученик", -2.0, -0.4, -0.3),
    ("staff_relations_bad", "учитель", -2.2, -0.1, -0.4),
    ("unfair_treatment", "ученик", -2.0, -0.2, -0.3),
    ("discipline_violations", "учитель", -1.0, -0.5, -0.4),
    ("discipline_low_school", "учитель", -1.5, -0.5, -0.4),
    ("risk_group_share", "директор", -2.3, -0.6, -0.3),
    ("extra_classes_recommended", "учитель", -1.3, -0.5, -0.6),
    ("parents_uninterested", "учитель", -1.2, -0.7, -0.2),
    ("parents_support_learning", "родитель", 0.9, 0.5, 0.2),
    ("parents_attend_meetings", "родитель", 0.4, 0.5, 0.2),
)


def surveys_table(model: MunicipalityModel, year: int, missing: pd.DataFrame) -> pd.DataFrame:
    """500+ questionnaire indicators per school, year and respondent group (long format)."""
    rng = rng_for(model.seed, model.code, year, "surveys")
    keep = _keep(model, missing, "surveys", year)
    s = model.schools[keep]
    ses, eff = model.ses[keep], model.effect[keep]
    n = len(s)
    counts = {"директор": np.ones(n, dtype=int),
              "учитель": np.maximum(1, np.round(s["teachers"].to_numpy() * 0.8)).astype(int),
              "ученик": np.maximum(1, np.round(s["enrolment"].to_numpy() * 0.35)).astype(int),
              "родитель": np.maximum(1, np.round(s["enrolment"].to_numpy() * 0.25)).astype(int)}
    parts = []
    for code, who, base, b_ses, b_eff in SURVEY_INDICATORS:
        v = sigmoid(base + b_ses * ses + b_eff * eff + rng.normal(0, 0.25, n))
        parts.append(pd.DataFrame({"year": year, "municipality": model.code, "school_id": s["school_id"].to_numpy(),
                                   "respondent": who, "indicator": code, "value": np.round(v, 3),
                                   "respondents": np.where(rng.random(n) < 0.05, -1, counts[who])}))
    df = pd.concat(parts, ignore_index=True).sort_values(["school_id", "respondent", "indicator"], kind="stable")
    out = pd.DataFrame({"year": pd.array(df["year"], dtype="Int64"),
                        "municipality": pd.array(df["municipality"], dtype="str"),
                        "school_id": pd.array(df["school_id"], dtype="str"),
                        "respondent": pd.array(df["respondent"], dtype="str"),
                        "indicator": pd.array(df["indicator"], dtype="str"),
                        "value": pd.array(df["value"], dtype="Float64"),
                        "respondents": pd.arrays.IntegerArray(np.maximum(df["respondents"].to_numpy(), 0).astype("int64"),
                                                              df["respondents"].to_numpy() < 0)})
    return out.reset_index(drop=True)


def _oge(theta: np.ndarray, subject: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """ОГЭ primary scores and marks for pupils of these abilities."""
    mx = K.OGE_MAX[subject]
    p = sigmoid(1.1 * (theta + (0.9 if subject == "rus" else 0.1)))
    score = rng.binomial(mx, p)
    m3, m4, m5 = K.OGE_MIN[subject]
    return score, 2 + (score >= m3).astype(int) + (score >= m4) + (score >= m5)


EXAM_PUPIL_COLUMNS = ["school_id", "exam", "subject", "grade", "pupil", "primary_score", "mark", "test_score"]


def exam_pupils(model: MunicipalityModel, year: int, missing: pd.DataFrame) -> pd.DataFrame:
    """ОГЭ (grade 9) and ЕГЭ (grade 11) results of every pupil, from the cohorts' true abilities.

    One row per pupil and subject: ``pupil`` numbers the pupils of a school's grade (the same pupil in both
    subjects), ОГЭ rows carry the primary score and mark, ЕГЭ rows the test score (rus: everyone; math
    profile: a share rising with ability). Inflated ВПР never reach exams. Rows come in the order school,
    exam (ОГЭ, ЕГЭ), subject (rus, math), pupil.
    """
    rng = rng_for(model.seed, model.code, year, "exams")
    sizes = model.grade_sizes(year)
    skip = ~_keep(model, missing, "exams", year)
    parts = []
    for i, sid in enumerate(model.schools["school_id"]):
        if skip[i]:
            continue
        for exam, grade in (("ОГЭ", 9), ("ЕГЭ", 11)):
            n = int(sizes[i, grade])
            if n == 0:
                continue
            theta = model.mean_ability(year, grade)[i] + rng.normal(0, K.PUPIL_SD, n)
            for subject in ("rus", "math"):
                th = theta + rng.normal(0, K.SUBJECT_SD, n)
                pupil = np.arange(n)
                if exam == "ОГЭ":
                    score, mark = _oge(th, subject, rng)
                    test = np.full(n, np.nan)
                else:
                    if subject == "math":
                        pupil = np.flatnonzero(rng.random(n) < sigmoid(0.3 + 1.2 * th))
                    if not len(pupil):
                        continue
                    takers = th[pupil]
                    test = np.clip(np.round(K.EGE_MEAN[subject] + K.EGE_SD[subject]
                                            * (takers + rng.normal(0, 0.35, len(takers)))), 0, 100)
                    score, mark = np.full(len(pupil), np.nan), np.full(len(pupil), np.nan)
                parts.append(pd.DataFrame({"school_id": sid, "exam": exam, "subject": subject, "grade": grade,
                                           "pupil": pupil, "primary_score": score, "mark": mark, "test_score": test}))
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=EXAM_PUPIL_COLUMNS)
    for c in ("grade", "pupil", "primary_score", "mark", "test_score"):
        df[c] = pd.array([None if pd.isna(v) else int(v) for v in df[c]], dtype="Int64")
    for c in ("school_id", "exam", "subject"):
        df[c] = df[c].astype("str")
    return df[EXAM_PUPIL_COLUMNS]


def exams_from_pupils(pupils: pd.DataFrame, code: str, year: int) -> pd.DataFrame:
    """School-level ``exams`` rows of ``exam_pupils`` output, in its order.

    ОГЭ: mean primary score, «2» (below minimum), «4»+«5» (good), «5» (high). ЕГЭ: mean test score, below
    the minimum, at least EGE_GOOD (good), above EGE_HIGH (high).
    """
    rows = []
    for (sid, exam, subject), d in pupils.groupby(["school_id", "exam", "subject"], sort=False):
        if exam == "ОГЭ":
            score, mark = d["primary_score"].to_numpy(dtype=float), d["mark"].to_numpy(dtype=float)
            row = {"participants": len(d), "mean_score": round(float(score.mean()), 2),
                   "n_below_min": int((mark == 2).sum()), "n_good": int((mark >= 4).sum()),
                   "n_high": int((mark == 5).sum()), "good_threshold": None, "high_threshold": None}
        else:
            score = d["test_score"].to_numpy(dtype=float)
            row = {"participants": len(d), "mean_score": round(float(score.mean()), 2),
                   "n_below_min": int((score < K.EGE_MIN[subject]).sum()),
                   "n_good": int((score >= K.EGE_GOOD).sum()), "n_high": int((score > K.EGE_HIGH).sum()),
                   "good_threshold": K.EGE_GOOD, "high_threshold": K.EGE_HIGH}
        rows.append({"year": year, "municipality": code, "school_id": sid, "exam": exam, "subject": subject, **row})
    df = pd.DataFrame(rows, columns=["year", "municipality", "school_id", "exam", "subject", "participants",
                                     "mean_score", "n_below_min", "n_good", "n_high", "good_threshold", "high_threshold"])
    for c in ("year", "participants", "n_below_min", "n_good", "n_high"):
        df[c] = df[c].astype("Int64")
    for c in ("mean_score", "good_threshold", "high_threshold"):
        df[c] = pd.to_numeric(df[c]).astype("Float64")
    for c in ("municipality", "school_id", "exam", "subject"):
        df[c] = df[c].astype("str")
    return df


def exams_table(model: MunicipalityModel, year: int, missing: pd.DataFrame) -> pd.DataFrame:
    """ОГЭ (grade 9) and ЕГЭ (grade 11) per school, subject and year (``exams_from_pupils`` of ``exam_pupils``).

    The generator moves some municipalities' rows of the last year into pupil-level protocols
    (``workbench.demo.protocols``); this function always gives the full table.
    """
    return exams_from_pupils(exam_pupils(model, year, missing), model.code, year)


# ---------------------------------------------------------------- roadmap and events

MEASURES: dict[str, tuple[tuple[str, str], ...]] = {
    "нормативно-правовое": (
        ("Утверждение муниципального плана («дорожной карты») поддержки ШНОР и ШНСУ", "план утверждён приказом"),
        ("Приказ о закреплении муниципальных координаторов за школами", "за каждой ШНОР закреплён координатор")),
    "диагностико-аналитическое": (
        ("Идентификация ШНОР и ШНСУ по результатам оценочных процедур", "список школ с обоснованием"),
        ("Анализ объективности результатов ВПР (сопоставление с отметками по журналу)", "аналитическая справка"),
        ("Диагностика профессиональных дефицитов педагогов ШНОР", "индивидуальные планы профессионального развития")),
    "информационно-методическое": (
        ("Семинар-практикум «Работа с контингентом повышенной сложности»", "не менее 80 % ШНОР приняли участие"),
        ("Круглый стол «Эффективные практики школ, работающих в сложных условиях»", "обобщён опыт школ-лидеров")),
    "организационно-содержательное": (
        ("Организация сетевых пар ШНОР и школ-лидеров", "договоры о сетевом взаимодействии заключены"),
        ("Разработка школьных программ перехода в эффективный режим работы", "программы приняты во всех ШНОР")),
    "кадровое": (
        ("Курсы повышения квалификации управленческих команд ШНОР", "все управленческие команды прошли КПК"),
        ("Наставничество для молодых педагогов ШНОР", "закреплены наставники")),
    "психолого-педагогическое": (
        ("Психологическая и логопедическая помощь обучающимся с трудностями в обучении", "сокращение доли неуспевающих"),
        ("Профилактика девиантного поведения обучающихся", "снижение числа состоящих на учёте")),
    "материально-техническое": (
        ("Повышение уровня оснащения ШНОР", "обновлено оборудование кабинетов"),
        ("Обновление фонда учебников", "доля учебников не старше 3 лет не ниже 60 %")),
    "работа с родителями": (
        ("Родительские собрания по вопросам учебной мотивации", "рост вовлечённости родителей"),
        ("Разработка стратегии сотрудничества с родителями", "стратегия принята")),
}
# The monitoring indicator (DOMAIN §9) a measure feeds, by the first words of its text; others feed none.
MEASURE_INDICATORS = {"Диагностика профессиональных дефицитов": "deficit_diagnostics", "Семинар": "seminars",
                      "Круглый стол": "seminars", "Организация сетевых пар": "network",
                      "Курсы повышения квалификации": "methodical_support", "Наставничество": "targeted_help",
                      "Психологическая и логопедическая помощь": "targeted_help"}
RESPONSIBLE = ("Управление образования", "Информационно-методический центр", "Центр диагностики и консультирования",
               "Руководители ОО", "Муниципальный координатор")


def _date(d: dt.date) -> pd.Timestamp:
    return pd.Timestamp(d)


def measures_table(plan: RegionPlan) -> pd.DataFrame:
    """Roadmap measures of every municipality (all eight directions), some for named ШНОР, some overdue."""
    rows = []
    supported = plan.schools[plan.schools["supported"]]
    for code in plan.municipalities["code"]:
        rng = rng_for(plan.seed, code, "measures")
        k = 0
        for year in plan.years:
            for direction, items in MEASURES.items():
                if rng.random() < 0.35:
                    continue
                text, result = items[int(rng.integers(len(items)))]
                targets = [None]
                here = supported[(supported["municipality"] == code) & (supported["support_from"] - 1 <= year)]
                mine = here["school_id"].tolist()
                if mine and rng.random() < 0.5:
                    targets = [str(rng.choice(mine))]
                for school in targets:
                    k += 1
                    start = dt.date(year - 1, int(rng.integers(9, 13)), int(rng.integers(1, 28)))
                    deadline = start + dt.timedelta(days=int(rng.integers(30, 330)))
                    rows.append({"measure_id": f"{code}-{year}-{k:03d}", "municipality": code, "school_id": school,
                                 "direction": direction, "measure": text, "start": _date(start),
                                 "deadline": _date(deadline), "responsible": str(rng.choice(RESPONSIBLE)),
                                 "status": _status(start, deadline, rng), "expected_result": result,
                                 "indicator": _indicator_of(text)})
    df = pd.DataFrame(rows)
    for c in ("measure_id", "municipality", "direction", "measure", "responsible", "status", "expected_result"):
        df[c] = df[c].astype("str")
    df["school_id"] = pd.array([pd.NA if v is None else v for v in df["school_id"]], dtype="str")
    df["start"] = df["start"].astype("datetime64[ns]")
    df["deadline"] = df["deadline"].astype("datetime64[ns]")
    df["indicator"] = pd.array([pd.NA if v is None else v for v in df["indicator"]], dtype="str")
    for c in ("catalogue_id", "basis", "comment"):   # filled by roadmaps drafted in the workbench, not by the demo
        df[c] = pd.array([pd.NA] * len(df), dtype="str")
    return df


def _indicator_of(text: str) -> str | None:
    return next((code for head, code in MEASURE_INDICATORS.items() if text.startswith(head)), None)


def _status(start: dt.date, deadline: dt.date, rng: np.random.Generator) -> str:
    """Status as of AS_OF: mostly done when past the deadline, some still open (overdue) or cancelled."""
    if deadline < AS_OF:
        return str(rng.choice(["выполнено", "выполняется", "запланировано", "отменено"], p=[0.8, 0.09, 0.04, 0.07]))
    return "выполняется" if start <= AS_OF else "запланировано"


def overdue(measures: pd.DataFrame) -> pd.DataFrame:
    """Measures past their deadline on AS_OF and not done or cancelled (the truth of the roadmap check)."""
    late = (measures["deadline"] < pd.Timestamp(AS_OF)) & measures["status"].isin(["запланировано", "выполняется"])
    return measures[late]


def _leaders(schools: pd.DataFrame) -> pd.DataFrame:
    """Leader candidates of one municipality: resilient first, then high school effect, never a low school."""
    ok = schools[~schools["persistently_low"] & ~schools["inflated_vpr"] & ~schools["grade_inflation"]]
    return ok.assign(rank=np.where(ok["resilient"], 10.0, 0.0) + ok["effect"]).sort_values(
        ["rank", "school_id"], ascending=[False, True])


def partnerships_table(plan: RegionPlan) -> pd.DataFrame:
    """Network pairs (ШНОР in the programme + leader school of the same municipality), ≤ 2 partners per leader."""
    rows = []
    for code, sch in plan.schools.groupby("municipality", sort=True):
        rng = rng_for(plan.seed, code, "partners")
        leaders = _leaders(sch)
        load: dict[str, int] = {}
        for r in sch[sch["supported"]].itertuples(index=False):
            # Similar conditions first (same settlement), as seed 004 asks for «аналогичных социальных условиях».
            cand = leaders[(leaders["settlement"] == r.settlement) & (leaders["school_id"] != r.school_id)]
            cand = pd.concat([cand, leaders[leaders["school_id"] != r.school_id]]).drop_duplicates("school_id")
            cand = cand[[load.get(s, 0) < 2 for s in cand["school_id"]]]
            if cand.empty:
                continue
            partner = cand["school_id"].iat[0]
            load[partner] = load.get(partner, 0) + 1
            start = dt.date(int(r.support_from) - 1, 9, int(rng.integers(1, 29)))
            rows.append({"municipality": code, "school_id": r.school_id, "partner_id": partner,
                         "start": _date(start), "end": None, "kind": "сетевая пара"})
        others = sch[~sch["supported"]]
        for _ in range(int(rng.integers(0, 3))):   # a few ordinary cooperation agreements
            if len(others) < 2:
                break
            a, b = others.sample(2, random_state=int(rng.integers(1 << 31)))["school_id"]
            start = dt.date(int(rng.choice(plan.years[:-1])), int(rng.integers(1, 13)), int(rng.integers(1, 29)))
            end = start + dt.timedelta(days=365) if rng.random() < 0.5 else None
            rows.append({"municipality": code, "school_id": a, "partner_id": b, "start": _date(start),
                         "end": _date(end) if end else None, "kind": "договор о сотрудничестве"})
    df = pd.DataFrame(rows, columns=["municipality", "school_id", "partner_id", "start", "end", "kind"])
    for c in ("municipality", "school_id", "partner_id", "kind"):
        df[c] = df[c].astype("str")
    df["start"] = pd.to_datetime(df["start"]).astype("datetime64[ns]")
    df["end"] = pd.to_datetime(df["end"]).astype("datetime64[ns]")
    return df.drop_duplicates(["school_id", "partner_id", "start"]).reset_index(drop=True)


def deficits_table(plan: RegionPlan) -> pd.DataFrame:
    """Diagnostics of teachers' professional deficits: yearly in programme schools (deficits shrink), once elsewhere."""
    rows = []
    for r in plan.schools.itertuples(index=False):
        rng = rng_for(plan.seed, r.school_id, "deficits")
        if r.supported:
            years = [y for y in plan.years if y >= r.support_from - 1]
        elif r.persistently_low or rng.random() < 0.15:
            years = [int(rng.choice(plan.years))]
        else:
            continue
        for i, year in enumerate(years):
            for subject in ("rus", "math"):
                tested = int(max(1, min(r.teachers, rng.integers(2, 8))))
                p = (0.6 - 0.1 * i) if r.supported else 0.5
                day = dt.date(year, 11, int(rng.integers(1, 29))) if year < plan.years[-1] else dt.date(year, 3, 10)
                rows.append({"municipality": r.municipality, "school_id": r.school_id, "date": _date(day),
                             "subject": subject, "teachers_tested": tested,
                             "teachers_with_deficits": int(rng.binomial(tested, max(0.1, p)))})
    df = pd.DataFrame(rows)
    for c in ("municipality", "school_id", "subject"):
        df[c] = df[c].astype("str")
    for c in ("teachers_tested", "teachers_with_deficits"):
        df[c] = df[c].astype("Int64")
    df["date"] = df["date"].astype("datetime64[ns]")
    return df


COURSES = (("КПК «Управление качеством образования в школе с низкими результатами»", "КПК"),
           ("КПК «Формирующее оценивание на уроке»", "КПК"),
           ("Семинар «Анализ результатов ВПР и коррекция рабочих программ»", "семинар"),
           ("Круглый стол «Сетевое взаимодействие школ-партнёров»", "круглый стол"),
           ("Консультация методиста по подготовке к ВПР", "консультация"))


def courses_table(plan: RegionPlan) -> pd.DataFrame:
    """Courses and methodical events: several a year for programme schools from its start, a few elsewhere."""
    rows = []
    for r in plan.schools.itertuples(index=False):
        rng = rng_for(plan.seed, r.school_id, "courses")
        for year in plan.years:
            n = int(rng.integers(2, 5)) if (r.supported and year >= r.support_from - 1) else int(rng.random() < 0.25)
            for _ in range(n):
                course, kind = COURSES[int(rng.integers(len(COURSES)))]
                day = dt.date(year, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
                rows.append({"municipality": r.municipality, "school_id": r.school_id, "date": _date(day),
                             "course": course, "kind": kind, "teachers": int(max(1, min(r.teachers, rng.integers(1, 9))))})
    df = pd.DataFrame(rows).drop_duplicates(["school_id", "date", "course"])
    for c in ("municipality", "school_id", "course", "kind"):
        df[c] = df[c].astype("str")
    df["teachers"] = df["teachers"].astype("Int64")
    df["date"] = df["date"].astype("datetime64[ns]")
    return df.sort_values(["municipality", "school_id", "date"]).reset_index(drop=True)


YEAR_TABLES = {"context": context_table, "staff": staff_table, "resources": resources_table,
               "outcomes": outcomes_table, "surveys": surveys_table, "exams": exams_table}
EVENT_TABLES = {"measures": measures_table, "partnerships": partnerships_table, "deficits": deficits_table,
                "courses": courses_table}
assert set(YEAR_TABLES) | set(EVENT_TABLES) | {"schools"} <= set(TABLES)
assert set(MEASURES) == set(vocab.ROADMAP_DIRECTIONS)   # every roadmap direction has measures
