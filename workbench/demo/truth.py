"""The demo region's ground truth (``out/truth``): planted effects and the numbers analysis should recover.

Analysis code never reads these files; tests and notebooks that check methods against the demo do.

Example
-------
>>> effect_rows(pd.DataFrame({"school_id": ["edu004005"], "municipality": ["004"], "effect": [-0.7],
...     "ses": [-0.6], "journal_bias": [0.1], "inflated_from": [0], "persistently_low": [True],
...     "resilient": [False], "grade_inflation": [False], "inflated_vpr": [False], "supported": [True],
...     "missing_data": [False], "polarised": [False], "deprived": [False], "selective_absence": [False],
...     "support_from": [2024]}),
...     (2022, 2026))["effect"].tolist()
['persistently_low', 'supported']
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from workbench.demo import knobs as K
from workbench.demo.region import EFFECT_TITLES_RU, EFFECTS, RegionPlan
from workbench.demo.tables import AS_OF, overdue


def effect_rows(schools: pd.DataFrame, years: tuple[int, int] | tuple[int, ...]) -> pd.DataFrame:
    """One row per (school, planted effect) with its years and size in model units."""
    first, last = years[0], years[-1]
    rows = []
    for r in schools.itertuples(index=False):
        for e in EFFECTS:
            if not getattr(r, e):
                continue
            y0, size, note = first, None, ""
            if e == "persistently_low":
                size, note = r.effect, "эффект школы (в SD способностей обучающихся)"
            elif e == "resilient":
                size, note = r.effect, f"эффект школы; контекст {r.ses:+.2f} (z)"
            elif e == "grade_inflation":
                size, note = round(K.GRADE_INFLATION_BIAS, 3), "добавка к мягкости журнальных отметок"
            elif e == "inflated_vpr":
                y0, size = int(r.inflated_from), K.INFLATED_HARD_BOOST
                note = (f"задания П/В проверяются мягче (+{K.INFLATED_HARD_BOOST} к способности), баллы на "
                        f"{K.INFLATED_HEAP_WINDOW} ниже границы отметки подтягиваются к ней с вероятностью {K.INFLATED_HEAP_PROB}")
            elif e == "supported":
                y0 = int(r.support_from)
                size = K.SUPPORT_EFFECT.get(min(last - y0, max(K.SUPPORT_EFFECT)), 0.0) if last >= y0 else 0.0
                note = "эффект по годам: " + "; ".join(f"{y0 + e}: +{v}" for e, v in sorted(K.SUPPORT_EFFECT.items())
                                                      if y0 + e <= last)
            elif e == "deprived":
                size, note = K.DEPRIVED_SES, f"сдвиг контекста; контекст {r.ses:+.2f} (z)"
            elif e == "polarised":
                note = "смесь: {:.0%} слабых ({:+}), {:.0%} сильных ({:+})".format(*K.POLARISED_SPLIT)
            elif e == "missing_data":
                note = "см. missing.csv"
            elif e == "selective_absence":
                size = K.SELECTIVE_ABSENCE[1]
                note = f"обучающиеся со способностью ниже {K.SELECTIVE_ABSENCE[0]:+} не пишут ВПР чаще на эту долю"
            rows.append({"effect": e, "effect_ru": EFFECT_TITLES_RU[e], "school_id": r.school_id,
                         "municipality": r.municipality, "year_from": y0, "year_to": last,
                         "size": None if size is None else round(float(size), 4), "note": note})
    return pd.DataFrame(rows, columns=["effect", "effect_ru", "school_id", "municipality", "year_from", "year_to",
                                       "size", "note"])


def schools_ru(n: int) -> str:
    """«1 школа», «3 школы», «5 школ».

    >>> [schools_ru(n) for n in (1, 3, 5, 11, 21)]
    ['1 школа', '3 школы', '5 школ', '11 школ', '21 школа']
    """
    tail = "школа" if n % 10 == 1 and n % 100 != 11 else "школы" if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14) else "школ"
    return f"{n} {tail}"


def _shares(df: pd.DataFrame) -> pd.DataFrame:
    n = df["with_journal"].where(df["with_journal"] > 0)
    return df.assign(lowered_share=(df["lowered"] / n).round(4), confirmed_share=(df["confirmed"] / n).round(4),
                     raised_share=(df["raised"] / n).round(4))


def agreement_table(stats: pd.DataFrame, plan: RegionPlan) -> pd.DataFrame:
    """ВПР vs journal agreement (lowered / confirmed / raised) for the region and each municipality."""
    sch = plan.schools.set_index("school_id")["municipality"]
    s = stats.assign(municipality=stats["school_id"].map(sch))
    cols = ["works", "with_journal", "lowered", "confirmed", "raised"]
    by_mun = s.groupby("municipality", sort=True)[cols].sum().reset_index()
    region = pd.DataFrame([{"municipality": "регион", **s[cols].sum().to_dict()}])
    return _shares(pd.concat([region, by_mun], ignore_index=True))


README = """# Эталон демонстрационного региона

Эти файлы описывают, что было **заложено** в синтетические данные папки `raw/`. Аналитический код их
не читает: они нужны, чтобы проверить, находят ли методики то, что должны найти. Все данные
синтетические; названия муниципалитетов-образцов (seeds) настоящие, но числа — нет.

Масштаб {scale:g}, зерно {seed}, годы {y0}–{y1}; муниципалитетов {n_mun}, школ {n_sch}.

## Модель
Способность обучающегося = {ses_slope} × контекст школы + эффект школы + отклонение года + отклонение
когорты + поддержка + индивидуальный разброс; по предмету добавляется своё отклонение. Задание уровня
Б/П/В выполняется по баллам с вероятностью logistic(a·(способность − b)); трудность b: Б {b_b}, П {b_p},
В {b_v}. Первичный балл = сумма баллов, отметка — по шкале перевода. Отметка по журналу = способность по
предмету + шум учителя ({j_sd}) + мягкость журнала ({j_bias} по региону, у школы своя), разрезанная там, где
ожидаемый балл ВПР достигает границ отметок. Параметры — `workbench/demo/knobs.py`.

## Заложенные эффекты (effects.csv)
{effects}

Программа поддержки доходит до ВПР весной {support} года (год — столбец `support_from` в schools.csv); школы с устойчиво низкими результатами без
поддержки — группа сравнения (столбец `support_group` в schools.csv). Эффект поддержки по годам: {support_eff}.

## Файлы
- `schools.csv` — школы: контекст `ses` (z, больше — благополучнее), эффект школы `school_effect`
  (добавленная ценность, в SD способностей), мягкость журнала `journal_leniency`, флаги эффектов,
  `inflated_from` (год начала завышения ВПР, 0 — нет), `support_group` (программа / сравнение).
- `effects.csv` — по строке на школу и эффект: `effect`, `effect_ru`, `year_from`, `year_to`, `size`
  (величина в единицах модели), `note`.
- `school_years.csv` — школа × год: истинная средняя способность `true_mean_ability` (классы ВПР),
  `pupils_vpr_grades`, `support_effect`, `vpr_inflated`, `journal_leniency`, а также по выгруженным работам:
  `works`, `with_journal`, `lowered_share`, `confirmed_share`, `raised_share`, `mark2`, `at_boundary`
  (первичный балл ровно на границе отметки), `below_boundary` (на 1–2 балла ниже границы).
- `school_works.csv` — то же по школе × год × предмет × класс (счётчики).
- `agreement.csv` — соответствие отметок ВПР и журнала по региону и муниципалитетам (цель: понизили
  ≈ 34 %, подтвердили ≈ 59 %, повысили ≈ 6,5 %, как в seed 003).
- `missing.csv` — пропуски данных: школа, таблица (`vpr` — нет работ по предмету, `vpr_journal` — пустые
  отметки по журналу), год, предмет, пояснение.
- `measures_overdue.csv` — мероприятия дорожной карты с истёкшим сроком и статусом «запланировано» /
  «выполняется» на дату {as_of}.
- `vpr_files.csv` — какие файлы ВПР записаны: формат, число строк, вариант оформления заголовков.
- `exam_protocols.csv` — протоколы проверки результатов ОГЭ/ЕГЭ по участникам (`raw/exams/protocols/`):
  экзамен, муниципалитет, год, предметы, число строк участников, вариант оформления. Результаты этих
  экзаменов за этот год есть только в протоколах, в `raw/exams/exams_<год>.csv` их нет.
- `exam_protocol_schools.csv` — строки таблицы `exams` (школа × экзамен × предмет), которые должны
  получиться из протоколов (`workbench.data.exam_protocol.school_exams`); имена и документы в протоколах вымышлены.
"""


def write_truth(truth_dir: Path, plan: RegionPlan, missing: pd.DataFrame, school_years: pd.DataFrame,
                stats: pd.DataFrame, manifest: pd.DataFrame, measures: pd.DataFrame,
                protocols: pd.DataFrame | None = None, protocol_schools: pd.DataFrame | None = None
                ) -> tuple[int, dict[str, float]]:
    """Write every truth file; returns (number of files, region agreement shares).

    ``protocols``: the exam protocol files written; ``protocol_schools``: the school-level exams rows they replace.
    """
    truth_dir.mkdir(parents=True, exist_ok=True)
    s = plan.schools
    schools = pd.DataFrame({
        "school_id": s["school_id"], "municipality": s["municipality"], "name": s["name"],
        "school_type": s["school_type"], "settlement": s["settlement"], "enrolment": s["enrolment"],
        "small_class": s["small_class"], "ses": s["ses"], "school_effect": s["effect"],
        "journal_leniency": (K.JOURNAL_BIAS + s["journal_bias"]).round(4),
        **{e: s[e] for e in EFFECTS}, "inflated_from": s["inflated_from"], "support_from": s["support_from"],
        "support_group": s["supported"].map({True: "программа"}).fillna(
            s["persistently_low"].map({True: "сравнение", False: ""})),
        "template": s["template"]})
    effects = effect_rows(s, plan.years)
    cols = ["works", "with_journal", "lowered", "confirmed", "raised", "mark2", "at_boundary", "below_boundary"]
    per_sy = stats.groupby(["school_id", "year"], as_index=False)[cols].sum()
    sy = _shares(school_years.merge(per_sy, on=["school_id", "year"], how="left").fillna({c: 0 for c in cols}))
    sy = sy.drop(columns=["lowered", "confirmed", "raised"])
    works = stats.sort_values(["school_id", "year", "subject", "grade"]).reset_index(drop=True)
    agree = agreement_table(stats, plan)
    late = overdue(measures)
    files = {"schools.csv": schools, "effects.csv": effects, "school_years.csv": sy, "school_works.csv": works,
             "agreement.csv": agree, "missing.csv": missing, "measures_overdue.csv": late, "vpr_files.csv": manifest}
    if protocols is not None:
        files["exam_protocols.csv"] = protocols
        files["exam_protocol_schools.csv"] = protocol_schools
    for name, df in files.items():
        df.to_csv(truth_dir / name, index=False, encoding="utf-8", lineterminator="\n")
    # the importer reports this folder's files as not data, should anyone point it at the demo folder itself
    (truth_dir / ".workbench-not-data").write_text("эталон демонстрационного региона (заложенные эффекты)\n",
                                                   encoding="utf-8")
    counts = effects.groupby("effect").size()
    lines = "\n".join(f"- `{e}` — {EFFECT_TITLES_RU[e]}: {schools_ru(int(counts.get(e, 0)))}." for e in EFFECTS)
    (truth_dir / "README.md").write_text(README.format(
        scale=plan.scale, seed=plan.seed, y0=plan.years[0], y1=plan.years[-1], n_mun=len(plan.municipalities),
        n_sch=len(s), ses_slope=K.SES_SLOPE, b_b=K.LEVEL_DIFFICULTY["Б"], b_p=K.LEVEL_DIFFICULTY["П"],
        b_v=K.LEVEL_DIFFICULTY["В"], j_sd=K.JOURNAL_NOISE_SD, j_bias=K.JOURNAL_BIAS, effects=lines,
        support=f"{K.SUPPORT_START} (первая когорта) и {K.SUPPORT_START + 1} (вторая, {K.SUPPORT_LATE_SHARE:.0%} школ программы)",
        support_eff="; ".join(f"{e}-й год поддержки: +{v}" for e, v in sorted(K.SUPPORT_EFFECT.items())),
        as_of=AS_OF.isoformat()), encoding="utf-8")
    region = agree.iloc[0]
    return len(files) + 1, {"lowered": float(region["lowered_share"]), "confirmed": float(region["confirmed_share"]),
                            "raised": float(region["raised_share"])}
