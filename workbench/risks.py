"""Risk profiles of schools: the ten risk factors of the FIOKO «500+» project (DOMAIN §8, seed 002).

A factor is built from indicators — shares from the questionnaires of the director, the teachers, the pupils
and the parents (table ``surveys``), columns of the administrative tables (``context``, ``staff``,
``resources``), the share of teachers with professional deficits at the latest diagnostics (``deficits``) and
the share of «2» on the year's ВПР — through the year-keyed mapping of ``params/risks.yaml`` (the factor list
and its indicators changed between years). Each indicator has a direction (``+``: more is riskier) and a weight.

The steps, every one a parameter:

1. Survey shares of a group with fewer respondents than ``min_respondents`` are not used; the others are pulled
   toward the reference mean, (n·p + m·p̄)/(n + m) — the posterior mean of a beta-binomial model with prior
   strength m (``shrinkage``), so a school where 6 pupils answered does not top the list by chance.
2. Each indicator is standardised against the reference set (the region's schools of the year, or the
   municipality's) with the population SD, signed so that + is riskier: ``z``. Fewer than ``min_reference``
   schools with the indicator, or no variation, leave it unstandardised (and unused), with the reason.
3. The factor composite is the weighted mean of the z the school has, weights re-normalised over them; below
   ``min_coverage`` of the factor's weight present the level is «нет данных» — never a zero.
4. The level (высокий / средний / низкий) by one of three interchangeable rules, all heuristic since the official
   cut-offs are not public: ``zscore`` (the composite standardised again against the reference set),
   ``percentile`` (mid-rank percentile of the composite) or ``share_flagged`` (weighted share of the factor's
   indicators with z ≥ ``indicator_z``).

Example
-------
>>> ind = pd.DataFrame({"year": 2026, "municipality": "001", "school_id": list("abcde"), "factor": "wellbeing",
...                     "code": "ученик:bullying", "title": "Буллинг", "source": "survey", "risk": "+",
...                     "weight": 1.0, "value": [0.1, 0.2, 0.3, 0.4, 0.5], "status": "ok"})
>>> params = override(load_risk_params(), min_reference=2)   # five schools here; the default asks for 10
>>> prof = risk_profiles(standardise(ind, params), params)
>>> prof[["school_id", "score", "level"]].round(3).values.tolist()[-2:]
[['d', 0.707, 'средний'], ['e', 1.414, 'высокий']]
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field, StrictStr, model_validator

from workbench import formatting as fmt
from workbench import vocab
from workbench.config import Share, Tag, Tagged, _Strict, load_yaml_model, override
from workbench.data.schemas import columns_of

LEVELS: tuple[str, ...] = ("высокий", "средний", "низкий", "нет данных")
LEVEL_ORDER = {lv: i for i, lv in enumerate(LEVELS)}
SOURCES = ("survey", "context", "staff", "resources", "deficits", "vpr")
DERIVED_COLUMNS = {"deficits": ("share_with_deficits",), "vpr": ("share_two",)}
Respondent = Literal[tuple(vocab.RESPONDENTS)]  # type: ignore[valid-type]
Direction = Literal[tuple(vocab.ROADMAP_DIRECTIONS)]  # type: ignore[valid-type]


# ---------------------------------------------------------------- parameters (params/risks.yaml)

class Thresholds(_Strict):
    high: float
    medium: float

    @model_validator(mode="after")
    def _ordered(self):
        if self.medium > self.high:
            raise ValueError("порог среднего риска (medium) не может быть выше порога высокого (high)")
        return self


class ShareFlagged(Thresholds):
    indicator_z: float
    high: Share
    medium: Share


class Indicator(_Strict):
    """One indicator of a factor: where its value comes from, its direction and weight."""
    source: Literal[SOURCES]  # type: ignore[valid-type]
    respondent: Respondent | None = None
    indicator: Annotated[StrictStr, Field(pattern=r"^[a-z0-9_]{1,64}$")] | None = None
    column: StrictStr | None = None
    ratio_to: StrictStr | None = None
    transform: Literal["log1p"] | None = None
    risk: Literal["+", "-"]
    weight: Annotated[float, Field(gt=0, le=100)] = 1.0
    title: StrictStr = Field(min_length=3)

    @model_validator(mode="after")
    def _complete(self):
        if self.source == "survey":
            if self.respondent is None or self.indicator is None:
                raise ValueError("показатель анкеты требует respondent и indicator")
            return self
        if self.column is None:
            raise ValueError(f"показатель источника {self.source} требует column")
        allowed = DERIVED_COLUMNS.get(self.source) or tuple(columns_of(self.source))
        for col in (self.column, self.ratio_to):
            if col is not None and col not in allowed:
                raise ValueError(f"в источнике {self.source} нет столбца {col!r}; есть: {', '.join(allowed)}")
        return self

    @property
    def code(self) -> str:
        return f"{self.respondent}:{self.indicator}" if self.source == "survey" else f"{self.source}:{self.column}"


class FactorInfo(_Strict):
    title: StrictStr
    short: StrictStr
    directions: Annotated[list[Direction], Field(min_length=1)]


class Mapping(_Strict):
    from_year: Annotated[int, Field(ge=2000, le=2100)]
    tag: Tag
    source: StrictStr = Field(min_length=3)
    factors: dict[StrictStr, Annotated[list[Indicator], Field(min_length=1)]]


class RiskParams(_Strict):
    """``params/risks.yaml``: the level rule and its thresholds, the reference set, the survey rules, the
    factors and the year-keyed mappings of indicators to factors."""
    level_rule: Tagged[Literal["zscore", "percentile", "share_flagged"]]
    zscore: Tagged[Thresholds]
    percentile: Tagged[Thresholds]
    share_flagged: Tagged[ShareFlagged]
    reference: Tagged[Literal["region", "municipality"]]
    min_reference: Tagged[Annotated[int, Field(ge=2, le=10000)]]
    min_coverage: Tagged[Annotated[float, Field(gt=0, le=1)]]
    max_age: Tagged[Annotated[int, Field(ge=0, le=10)]]
    min_respondents: Tagged[dict[Respondent, Annotated[int, Field(ge=1)]]]
    unknown_respondents: Tagged[Literal["accept", "reject"]]
    shrinkage: Tagged[dict[Respondent, Annotated[float, Field(ge=0)]]]
    factors: dict[StrictStr, FactorInfo]
    mappings: Annotated[list[Mapping], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self):
        years = [m.from_year for m in self.mappings]
        if len(set(years)) != len(years):
            raise ValueError(f"год from_year повторяется в mappings: {years}")
        for m in self.mappings:
            unknown = sorted(set(m.factors) - set(self.factors))
            if unknown:
                raise ValueError(f"в mappings (from_year {m.from_year}) факторы {unknown} не описаны в factors; "
                                 f"есть: {', '.join(self.factors)}")
            codes = [i.code for ind in m.factors.values() for i in ind]
            if len(set(codes)) != len(codes):
                raise ValueError(f"в mappings (from_year {m.from_year}) показатель указан дважды")
        return self

    def mapping_for(self, year: int) -> Mapping:
        """The mapping in force in ``year``: the latest with ``from_year`` ≤ year.

        >>> load_risk_params().mapping_for(2026).from_year
        2021
        """
        valid = [m for m in self.mappings if m.from_year <= year]
        if not valid:
            first = min(m.from_year for m in self.mappings)
            raise ValueError(f"для {year} года нет набора показателей факторов риска (params/risks.yaml, mappings "
                             f"начинаются с {first} года)")
        return max(valid, key=lambda m: m.from_year)


def load_risk_params(path: str | Path = "risks.yaml") -> RiskParams:
    """The risk-profile parameters; a bad file raises ``ParamsError`` naming the key and what is allowed.

    >>> p = load_risk_params()
    >>> p.level_rule.value, p.zscore.value.high, len(p.factors)
    ('zscore', 1.0, 10)
    """
    return load_yaml_model(RiskParams, path)


# ---------------------------------------------------------------- indicator values

def latest_rows(rows: pd.DataFrame, year: int, max_age: int, keys: list[str]) -> pd.DataFrame:
    """Per ``keys`` the row of the latest year in [year − max_age, year] (``year`` column kept as found).

    >>> r = pd.DataFrame({"school_id": ["a", "a", "b"], "year": [2024, 2026, 2021], "v": [1, 2, 3]})
    >>> latest_rows(r, 2026, 2, ["school_id"]).v.tolist()
    [2]
    """
    r = rows[(rows["year"] >= year - max_age) & (rows["year"] <= year)]
    return r.sort_values([*keys, "year"], kind="stable").drop_duplicates(keys, keep="last").reset_index(drop=True)


def deficit_shares(deficits: pd.DataFrame, year: int, max_age: int) -> pd.DataFrame:
    """Per school the share of teachers with professional deficits at its latest diagnostics in
    [year − max_age, year] (all subjects of that date pooled): ``school_id, share_with_deficits, year``.

    >>> d = pd.DataFrame({"school_id": ["a", "a", "a"], "date": pd.to_datetime(["2024-11-01", "2025-11-02", "2025-11-02"]),
    ...                   "teachers_tested": [4, 5, 5], "teachers_with_deficits": [4, 1, 2]})
    >>> deficit_shares(d, 2026, 2).share_with_deficits.tolist()
    [0.3]
    """
    if deficits.empty:
        return pd.DataFrame(columns=["school_id", "share_with_deficits", "year"])
    d = deficits.assign(year=pd.to_datetime(deficits["date"]).dt.year)
    d = d[(d["year"] >= year - max_age) & (d["year"] <= year)]
    last = d.groupby("school_id")["date"].transform("max")
    d = d[d["date"] == last]
    g = d.groupby("school_id", as_index=False).agg(tested=("teachers_tested", "sum"),
                                                   found=("teachers_with_deficits", "sum"), year=("year", "max"))
    g = g[g["tested"] > 0]
    return pd.DataFrame({"school_id": g["school_id"].astype(str),
                         "share_with_deficits": (g["found"] / g["tested"]).astype(float), "year": g["year"]})


def vpr_share_two(cells: pd.DataFrame, year: int) -> pd.DataFrame:
    """Per school the share of «2» among its marked ВПР works of ``year`` (all subjects and grades):
    ``school_id, share_two, works``. ``cells`` as ``identify.vpr_cells``.

    >>> c = pd.DataFrame({"year": 2026, "school_id": ["a", "a"], "n2": [1, 3], "n3": [5, 3], "n4": [3, 2], "n5": [1, 2]})
    >>> vpr_share_two(c, 2026).share_two.tolist()
    [0.2]
    """
    c = cells[cells["year"] == year]
    g = c.groupby("school_id", as_index=False)[["n2", "n3", "n4", "n5"]].sum()
    works = g[["n2", "n3", "n4", "n5"]].sum(axis=1)
    g = g[works > 0]
    return pd.DataFrame({"school_id": g["school_id"].astype(str), "share_two": (g["n2"] / works[works > 0]).astype(float),
                         "works": works[works > 0].astype(int)})


def _as_float(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.astype("Float64") if s.dtype == "boolean" else s, errors="coerce").astype(float)


def indicator_values(schools: pd.DataFrame, surveys: pd.DataFrame, derived: dict[str, pd.DataFrame], year: int,
                     params: RiskParams) -> pd.DataFrame:
    """The value of every indicator of the year's mapping for every school, long: ``year, municipality,
    school_id, factor, code, title, source, risk, weight, value, raw, respondents, status``.

    ``schools`` is ``context.school_frame`` (one row per school with that year's context, staff and resources
    columns), ``surveys`` the ``surveys`` table rows of the years up to ``year``, ``derived`` the frames of
    :func:`deficit_shares` (key ``deficits``) and :func:`vpr_share_two` (key ``vpr``). ``status`` is «ok» or
    the Russian reason the value is missing; ``value`` is the survey share after shrinkage (``raw`` before).
    """
    mapping = params.mapping_for(year)
    base = schools[["school_id", "municipality"]].astype(str).reset_index(drop=True)
    sv = latest_rows(surveys, year, params.max_age.value, ["school_id", "respondent", "indicator"]) \
        if not surveys.empty else surveys
    rows = []
    for factor, indicators in mapping.factors.items():
        for ind in indicators:
            part = base.copy()
            part["respondents"] = np.nan
            if ind.source == "survey":
                s = sv[(sv["respondent"] == ind.respondent) & (sv["indicator"] == ind.indicator)] if len(sv) else sv
                s = s.assign(school_id=s["school_id"].astype(str)) if len(s) else pd.DataFrame(columns=["school_id"])
                part = part.merge(s[["school_id", "value", "respondents"]].rename(columns={"respondents": "n"})
                                  if len(s) else pd.DataFrame(columns=["school_id", "value", "n"]),
                                  on="school_id", how="left")
                part["raw"] = _as_float(part["value"])
                part["respondents"] = _as_float(part["n"])
                minimum = params.min_respondents.value.get(ind.respondent, 1)
                few = part["respondents"].notna() & (part["respondents"] < minimum)
                unknown = part["raw"].notna() & part["respondents"].isna()
                status = np.where(part["raw"].isna(), "нет анкеты за последние годы",
                                  np.where(few, f"ответили меньше {minimum}", "ok"))
                if params.unknown_respondents.value == "reject":
                    status = np.where(unknown & (status == "ok"), "не указано число ответивших", status)
                part["status"] = status
                part = part.drop(columns=["value", "n"])
            elif ind.source in DERIVED_COLUMNS:
                d = derived.get(ind.source, pd.DataFrame(columns=["school_id", ind.column]))
                part = part.merge(d[["school_id", ind.column]], on="school_id", how="left")
                part["raw"] = _as_float(part[ind.column])
                why = "нет диагностики профессиональных дефицитов за последние годы" if ind.source == "deficits" \
                    else "нет результатов ВПР за год"
                part["status"] = np.where(part["raw"].isna(), why, "ok")
                part = part.drop(columns=[ind.column])
            else:
                col = schools[ind.column] if ind.column in schools else pd.Series(np.nan, index=schools.index)
                raw = _as_float(col).reset_index(drop=True)
                if ind.ratio_to is not None:
                    den = _as_float(schools[ind.ratio_to]).reset_index(drop=True) if ind.ratio_to in schools \
                        else pd.Series(np.nan, index=raw.index)
                    raw = raw / den.where(den > 0)
                if ind.transform == "log1p":
                    raw = np.log1p(raw.clip(lower=0))
                part["raw"] = raw.to_numpy()
                part["status"] = np.where(part["raw"].isna(), f"нет данных в таблице {ind.source}", "ok")
            part["factor"], part["code"], part["title"] = factor, ind.code, ind.title
            part["source"], part["risk"], part["weight"] = ind.source, ind.risk, float(ind.weight)
            rows.append(part)
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "year", year)
    out["value"] = out["raw"].where(out["status"] == "ok")
    _shrink(out, params)
    return out[["year", "municipality", "school_id", "factor", "code", "title", "source", "risk", "weight", "value",
                "raw", "respondents", "status"]]


def _reference_key(df: pd.DataFrame, params: RiskParams) -> pd.Series:
    return df["municipality"] if params.reference.value == "municipality" else pd.Series("region", index=df.index)


def _shrink(out: pd.DataFrame, params: RiskParams) -> None:
    """Survey shares pulled toward the reference mean of the indicator, in place (see the module text)."""
    prior = params.shrinkage.value
    survey = out["source"] == "survey"
    group = out["code"].str.split(":").str[0]
    m = group.map(prior).fillna(0.0).where(survey, 0.0)
    ref = out["value"].groupby([out["code"], _reference_key(out, params)]).transform("mean")
    n = out["respondents"]
    pull = survey & out["value"].notna() & n.notna() & (m > 0)
    out.loc[pull, "value"] = (n * out["value"] + m * ref)[pull] / (n + m)[pull]


# ---------------------------------------------------------------- standardising and levels

def _group_z(x: pd.Series, groups: pd.Series, minimum: int) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    g = x.groupby(groups)
    mean, sd, count = g.transform("mean"), g.transform("std", ddof=0), g.transform("count")
    ok = (count >= minimum) & (sd > 1e-12)
    return ((x - mean) / sd).where(ok & x.notna()), mean, count, sd


def standardise(values: pd.DataFrame, params: RiskParams) -> pd.DataFrame:
    """``values`` (from :func:`indicator_values`) with ``reference_mean`` and the signed ``z`` (+ is riskier)
    against the reference set; an indicator present at fewer than ``min_reference`` schools of the set, or
    equal everywhere, gets no z and ``status`` says why."""
    v = values.copy()
    keys = [v["code"], _reference_key(v, params)]
    z, mean, count, sd = _group_z(v["value"], pd.Series(list(zip(*keys)), index=v.index),
                                  params.min_reference.value)
    sign = np.where(v["risk"] == "+", 1.0, -1.0)
    v["reference_mean"] = mean
    v["z"] = z * sign
    few = v["value"].notna() & (count < params.min_reference.value)
    flat = v["value"].notna() & ~few & ~(sd > 1e-12)
    v.loc[few, "status"] = f"показатель есть меньше чем у {params.min_reference.value} школ для сравнения"
    v.loc[flat, "status"] = "одинаков у всех школ для сравнения"
    return v


def _percentile(x: pd.Series, groups: pd.Series) -> pd.Series:
    """Mid-rank percentile within groups: 100 · (below + ½ · equal) / n."""
    r = x.groupby(groups).rank(method="average")
    n = x.groupby(groups).transform("count")
    return 100 * (r - 0.5) / n


def risk_profiles(standardised: pd.DataFrame, params: RiskParams) -> pd.DataFrame:
    """One row per school × factor: ``composite`` (weighted mean z), ``coverage`` (share of the factor's weight
    present), ``flagged_share``, the ``score`` of the level rule, the ``level``, the indicators used and
    missing, and ``explain`` — the two indicators that raise the risk most, with the school's and the reference
    values. ``rule`` and ``tag`` (heuristic) name the rule."""
    v = standardised
    keys = ["year", "municipality", "school_id", "factor"]
    used = v["z"].notna()
    w = v["weight"]
    thr = params.share_flagged.value.indicator_z
    agg = pd.DataFrame({"wz": (w * v["z"]).where(used, 0.0), "w_used": w.where(used, 0.0), "w_all": w,
                        "flag_w": w.where(used & (v["z"] >= thr), 0.0), "n_used": used.astype(int), "n_all": 1})
    g = pd.concat([v[keys], agg], axis=1).groupby(keys, sort=False, as_index=False).sum()
    g["coverage"] = g["w_used"] / g["w_all"]
    enough = g["coverage"] >= params.min_coverage.value - 1e-12
    g["composite"] = (g["wz"] / g["w_used"]).where(enough & (g["w_used"] > 0))
    g["flagged_share"] = (g["flag_w"] / g["w_used"]).where(g["composite"].notna())
    ref = pd.Series(list(zip(g["factor"], _reference_key(g, params))), index=g.index)
    rule = params.level_rule.value
    if rule == "zscore":
        z, *_ = _group_z(g["composite"], ref, 2)
        # a factor whose composite is the same everywhere carries no risk signal: z 0, not «нет данных»
        g["score"] = z.where(z.notna() | g["composite"].isna(), 0.0)
        t = params.zscore.value
    elif rule == "percentile":
        g["score"] = _percentile(g["composite"], ref)
        t = params.percentile.value
    else:
        g["score"] = g["flagged_share"]
        t = params.share_flagged.value
    eps = 1e-9   # thresholds are inclusive; guard float noise (√2/2 computed as 0.70710678...)
    g["level"] = np.select([g["score"].isna(), g["score"] >= t.high - eps, g["score"] >= t.medium - eps],
                           ["нет данных", "высокий", "средний"], "низкий")
    g["rule"], g["tag"] = rule, params.level_rule.tag
    info = params.factors
    g["title"] = g["factor"].map(lambda f: info[f].title)
    g["short"] = g["factor"].map(lambda f: info[f].short)
    g["directions"] = g["factor"].map(lambda f: ", ".join(info[f].directions))
    notes = _notes(v, keys)
    g = g.merge(notes, on=keys, how="left")
    order = {f: i for i, f in enumerate(info)}
    g = g.assign(_o=g["factor"].map(order)).sort_values(["year", "municipality", "school_id", "_o"], kind="stable")
    return g[[*keys, "title", "short", "level", "score", "composite", "coverage", "flagged_share", "n_used", "n_all",
              "explain", "missing", "directions", "rule", "tag"]].reset_index(drop=True)


def _fmt_value(source: str, code: str, x: float) -> str:
    col = code.split(":", 1)[1]
    if source == "survey" or col.startswith("share_"):
        return fmt.share(x, 0)
    if col.startswith("has_"):
        return "да" if x >= 0.5 else "нет"
    if col == "vacancies":
        return fmt.number(x, 2)
    if col == "internet_mbps":
        return fmt.number(np.expm1(x), 0, unit="Мбит/с")
    return fmt.number(x, 2)


def _notes(v: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per school × factor: the two strongest risk-raising indicators (z > 0) and the missing ones."""
    top = v[v["z"] > 0].sort_values("z", ascending=False, kind="stable").groupby(keys, sort=False).head(2)
    top = top.assign(text=[f"{t}: {_fmt_value(s, c, x)} (в среднем {_fmt_value(s, c, m)})" for t, s, c, x, m in
                           zip(top["title"], top["source"], top["code"], top["value"], top["reference_mean"])])
    miss = v[v["z"].isna()]
    miss = miss.assign(text=[f"{t} — {why}" for t, why in zip(miss["title"], miss["status"])])
    out = v[keys].drop_duplicates()
    for name, part in (("explain", top), ("missing", miss)):
        joined = part.groupby(keys, sort=False)["text"].agg("; ".join).rename(name).reset_index()
        out = out.merge(joined, on=keys, how="left")
        out[name] = [x if isinstance(x, str) else "" for x in out[name]]
    return out


def factors_to_address(profiles: pd.DataFrame) -> pd.DataFrame:
    """Per school the factors at high or medium risk, ranked (high first, then by score): ``rank`` from 1,
    with the roadmap directions that address each.

    >>> p = pd.DataFrame({"school_id": ["a", "a", "a"], "factor": ["x", "y", "z"], "level": ["средний", "высокий", "низкий"],
    ...                   "score": [0.7, 1.2, 0.1], "title": ["X", "Y", "Z"], "directions": ["кадровое", "кадровое", "кадровое"]})
    >>> factors_to_address(p)[["factor", "rank"]].values.tolist()
    [['y', 1], ['x', 2]]
    """
    p = profiles[profiles["level"].isin(["высокий", "средний"])].copy()
    p["_l"] = p["level"].map(LEVEL_ORDER)
    p = p.sort_values(["school_id", "_l", "score", "factor"], ascending=[True, True, False, True], kind="stable")
    p["rank"] = p.groupby("school_id").cumcount() + 1
    return p.drop(columns="_l").reset_index(drop=True)


def heatmap(profiles: pd.DataFrame, names: pd.Series | None = None) -> pd.DataFrame:
    """School × factor table of levels (columns: the factors' short names in the parameters' order; index: the
    school's name when ``names`` maps ids to names, else the id).

    >>> p = pd.DataFrame({"school_id": ["a", "a"], "factor": ["x", "y"], "short": ["X", "Y"], "level": ["высокий", "нет данных"]})
    >>> heatmap(p).values.tolist()
    [['высокий', 'нет данных']]
    """
    order = list(dict.fromkeys(profiles["short"]))
    t = profiles.pivot(index="school_id", columns="short", values="level").reindex(columns=order)
    if names is not None:
        t.index = [names.get(i, i) for i in t.index]
    t.columns.name = None
    return t


# ---------------------------------------------------------------- from the store

def region_risks(store, year: int, params: RiskParams | None = None, cells: pd.DataFrame | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(standardised indicator values, profiles) of every school of the region for ``year``.

    >>> ind, prof = region_risks(Store("data/store"), 2026)                  # doctest: +SKIP
    """
    from workbench import context, identify

    params = params or load_risk_params()
    age = params.max_age.value
    schools = context.school_frame(store, year, max_age=age)
    have = set(store.tables())
    surveys = store.query("SELECT * FROM surveys WHERE year BETWEEN ? AND ?", [year - age, year]) \
        if "surveys" in have else pd.DataFrame(columns=["school_id", "year", "respondent", "indicator", "value", "respondents"])
    deficits = store.query("SELECT * FROM deficits") if "deficits" in have else pd.DataFrame()
    if cells is None:
        cells = identify.vpr_cells(store, year, years=1) if "vpr" in have else pd.DataFrame(
            columns=["year", "school_id", "n2", "n3", "n4", "n5"])
    derived = {"deficits": deficit_shares(deficits, year, age), "vpr": vpr_share_two(cells, year)}
    ind = standardise(indicator_values(schools, surveys, derived, year, params), params)
    return ind, risk_profiles(ind, params)
