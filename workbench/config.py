"""Parameter files (params/*.yaml) loaded into typed models.

Every rule parameter is a ``Tagged`` value: ``{value: ..., tag: seed|official|secondary|heuristic,
source: "..."}``, so a report can print where each threshold comes from. A bad file stops with
``ParamsError`` whose Russian message names the file, the key path, the value and what is allowed.
Codes and ids must be quoted strings in YAML (unquoted ``0301`` loads as the octal number 193).

Example
-------
>>> from workbench.config import load_municipality
>>> m = load_municipality("municipalities/lesosibirsk.yaml")
>>> m.code, m.identification.preset
('004', 'lesosibirsk')
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, field_validator, model_validator

from workbench import vocab
from workbench.paths import PARAMS_DIR

T = TypeVar("T")
Tag = Literal["seed", "official", "secondary", "heuristic"]
Share = Annotated[float, Field(ge=0, le=1)]
PosInt = Annotated[int, Field(ge=1)]
Code = Annotated[StrictStr, Field(pattern=r"^[0-9A-Za-z_\-]{1,16}$")]
SubjectCode = Literal[tuple(vocab.SUBJECTS)]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tagged(_Strict, Generic[T]):
    """A rule parameter with its provenance tag and source."""

    value: T
    tag: Tag
    source: StrictStr = Field(min_length=3)


# ---------------------------------------------------------------- identification presets (DOMAIN §4)

Decision = Literal["point", "interval", "probability"]


class _Rule(_Strict):
    """Common to every rule: how its criteria decide. ``decision`` None takes ``uncertainty.decision`` of
    ``params/defaults.yaml``; seed and official presets set "point" (the rule as its source writes it), and the
    run shows the uncertainty-adjusted decision beside it (``identify.run_methodology``)."""
    decision: Tagged[Decision] | None = None


class LesosibirskRule(_Rule):
    """Multi-criteria rule of seed 003 §2.1 (7 indicators + three bottom-25% indices)."""
    rule: Literal["multi_criteria"] = "multi_criteria"
    years: Tagged[Annotated[int, Field(ge=1, le=10)]]
    subjects: Tagged[list[SubjectCode]]
    bottom_share: Tagged[Share]
    continue_grade10_min: Tagged[Share]
    below_region_points: Tagged[Annotated[float, Field(ge=0, le=100)]]
    olympiad_share_max: Tagged[Share]
    noko_satisfaction_max: Tagged[Share]
    quality_deviation: Tagged[Share]
    success_deviation: Tagged[Share]
    criteria_required: Tagged[Annotated[int, Field(ge=1, le=7)]]
    index_bottom_share: Tagged[Share]
    reference: Tagged[Literal["region", "municipality"]]


class BelowRegionalMeanRule(_Rule):
    """Kamensk-Uralsky rule of seed 004: below the regional mean per subject in each of the last years."""
    rule: Literal["below_regional_mean"] = "below_regional_mean"
    years: Tagged[Annotated[int, Field(ge=1, le=10)]]
    subjects: Tagged[list[SubjectCode]]
    risk_zone_years: Tagged[Annotated[int, Field(ge=1, le=10)]]
    min_participants: Tagged[Annotated[int, Field(ge=0, le=1000)]]


class StableLowRule(_Rule):
    """Ekaterinburg description (seed 000) made operational: stable low results on all levels + deprivation."""
    rule: Literal["stable_low_deprivation"] = "stable_low_deprivation"
    years: Tagged[Annotated[int, Field(ge=1, le=10)]]
    bottom_share: Tagged[Share]
    levels_required: Tagged[Annotated[int, Field(ge=1, le=3)]]
    deprivation_bottom_share: Tagged[Share]
    polarised_low_share: Tagged[Share]
    polarised_high_share: Tagged[Share]
    reference: Tagged[Literal["region", "municipality"]]
    subjects: Tagged[Annotated[list[SubjectCode], Field(min_length=1)]]
    min_years_assessed: Tagged[Annotated[int, Field(ge=1, le=10)]]


class RiskGroupRule(_Rule):
    """Rosobrnadzor 2025 supervisory risk group (≥30% «2» on ≥2 assessments, same assessment 2 years running)."""
    rule: Literal["mark2_risk_group"] = "mark2_risk_group"
    share_mark2_min: Tagged[Share]
    assessments_min: Tagged[Annotated[int, Field(ge=1, le=20)]]
    consecutive_years: Tagged[Annotated[int, Field(ge=1, le=5)]]


class BottomPercentileRule(_Rule):
    """Bottom-percentile persistence (heuristic defaults, DOMAIN §4.4)."""
    rule: Literal["bottom_percentile"] = "bottom_percentile"
    percentile: Tagged[Share]
    years: Tagged[Annotated[int, Field(ge=1, le=10)]]
    years_required: Tagged[Annotated[int, Field(ge=1, le=10)]]
    subjects: Tagged[list[SubjectCode]]
    min_participants: Tagged[Annotated[int, Field(ge=0, le=1000)]]
    exclude_objectivity_flags: Tagged[bool]
    reference: Tagged[Literal["region", "municipality"]]

    @model_validator(mode="after")
    def _required_within_window(self):
        if self.years_required.value > self.years.value:
            raise ValueError("years_required.value не может быть больше years.value")
        return self


class ContextAdjustedRule(_Rule):
    """Bottom quartile within clusters of schools with a similar social profile (St Petersburg style)."""
    rule: Literal["context_adjusted"] = "context_adjusted"
    clusters: Tagged[Annotated[int, Field(ge=2, le=20)]]
    bottom_share: Tagged[Share]
    years: Tagged[Annotated[int, Field(ge=1, le=10)]]
    subjects: Tagged[list[SubjectCode]]


RULE_MODELS: dict[str, type[_Rule]] = {
    m.model_fields["rule"].default: m
    for m in (LesosibirskRule, BelowRegionalMeanRule, StableLowRule, RiskGroupRule, BottomPercentileRule, ContextAdjustedRule)
}


class Preset(_Strict):
    """A named identification methodology: its rule, Russian title, provenance and parameters."""
    title: StrictStr
    source: StrictStr
    params: LesosibirskRule | BelowRegionalMeanRule | StableLowRule | RiskGroupRule | BottomPercentileRule | ContextAdjustedRule = Field(discriminator="rule")


# ---------------------------------------------------------------- column mappings

PARSERS = ("academic_year_end", "percent", "yes_no", "date_dmy")


class TableMapping(_Strict):
    """How a municipality's own export maps onto a workbench table.

    ``columns`` maps the file's header to the canonical column; ``constants`` fills columns the file does
    not have; ``parse`` names a converter for a canonical column (``academic_year_end``: «2015-2016» → 2016;
    ``percent``: 45,5 → 0.455; ``yes_no``; ``date_dmy``: 31.10.2016); ``values`` recodes a canonical
    column's values (e.g. an okrug's name to its code); ``ignore`` lists the file's headers to skip silently.
    """
    columns: dict[StrictStr, StrictStr] = {}
    constants: dict[StrictStr, StrictStr | int | float | bool] = {}
    parse: dict[StrictStr, Literal["academic_year_end", "percent", "yes_no", "date_dmy"]] = {}
    values: dict[StrictStr, dict[StrictStr, StrictStr]] = {}
    ignore: list[StrictStr] = []
    sheet: StrictStr | None = None
    header_row: Annotated[int, Field(ge=1, le=50)] = 1


def check_mapping(table: str, mapping: TableMapping) -> list[str]:
    """Russian problems of a mapping whose targets are not columns of ``table`` (empty when fine)."""
    from workbench.data.schemas import TABLES, columns_of

    if table not in TABLES:
        return [f"таблица «{table}» неизвестна; допустимые: {', '.join(TABLES)}"]
    allowed = set(columns_of(table))
    out = []
    for where, names in (("columns", mapping.columns.values()), ("constants", mapping.constants),
                         ("parse", mapping.parse), ("values", mapping.values)):
        for n in names:
            if n not in allowed:
                out.append(f"{where}: столбец «{n}» не входит в таблицу {table}; допустимые: {', '.join(sorted(allowed))}")
    return out


# ---------------------------------------------------------------- top-level files

class Privacy(_Strict):
    min_pupils_publication: Tagged[Annotated[int, Field(ge=1, le=100)]]


class SampleSize(_Strict):
    informative: Tagged[Annotated[int, Field(ge=1, le=1000)]]
    rough_minimum: Tagged[Annotated[int, Field(ge=1, le=1000)]]
    group_minimum: Tagged[Annotated[int, Field(ge=1, le=1000)]]


class Uncertainty(_Strict):
    """How sure a flag must be (DOMAIN §4.6): decided on the point estimate, the interval or the probability."""
    decision: Tagged[Decision]
    min_probability: Tagged[Annotated[float, Field(gt=0.5, lt=1)]]
    level: Tagged[Annotated[float, Field(ge=0.5, lt=1)]]
    min_participants: Tagged[Annotated[int, Field(ge=1, le=1000)]]
    prior: Tagged[Literal["normal", "npmle"]]
    prior_min_units: Tagged[Annotated[int, Field(ge=10, le=100000)]]
    # how many schools' worth of the region's spread a group's own spread is pulled toward (defaults.yaml)
    group_spread_pool: Tagged[Annotated[int, Field(ge=0, le=10000)]] = Tagged(
        value=10, tag="heuristic", source="эвристика: разброс группы сравнения сглаживается к региональному с весом "
                                          "10 школ (params/defaults.yaml)")


class Typology(_Strict):
    """Thresholds of the school typology by results, context and value added (DOMAIN §5)."""
    low_results_share: Tagged[Share]
    low_context_share: Tagged[Share]
    min_value_added: Tagged[Annotated[float, Field(ge=0, le=100)]]
    years: Tagged[Annotated[int, Field(ge=1, le=10)]]
    subjects: Tagged[list[SubjectCode]]


class Identification(_Strict):
    preset: StrictStr
    overrides: dict[StrictStr, Any] = {}


class Defaults(_Strict):
    privacy: Privacy
    sample_size: SampleSize
    identification: Identification
    uncertainty: Uncertainty
    typology: Typology
    mark_scales: StrictStr = "mark_scales.csv"


class Municipality(_Strict):
    code: Code
    name: StrictStr
    region: StrictStr
    seed: StrictStr | None = None
    source: StrictStr
    identification: Identification
    columns: dict[StrictStr, TableMapping] = {}
    privacy: Privacy | None = None


class RegionMunicipality(_Strict):
    code: Code
    name: StrictStr
    params: StrictStr | None = None
    demo: dict[StrictStr, Any] = {}


class Region(_Strict):
    code: Code
    name: StrictStr
    years: list[Annotated[int, Field(ge=2000, le=2100)]]
    municipalities: list[RegionMunicipality]
    columns: dict[StrictStr, TableMapping] = {}

    @field_validator("municipalities")
    @classmethod
    def _unique_codes(cls, v: list[RegionMunicipality]):
        codes = [m.code for m in v]
        dup = sorted({c for c in codes if codes.count(c) > 1})
        if dup:
            raise ValueError(f"коды муниципалитетов повторяются: {', '.join(dup)}")
        return v


# ---------------------------------------------------------------- loading with Russian errors

class ParamsError(ValueError):
    """A parameter file is invalid; ``lines`` holds one Russian message per problem."""

    def __init__(self, path: Path, lines: list[str]):
        self.path, self.lines = path, lines
        super().__init__(f"Ошибка в файле параметров {path}:\n" + "\n".join(f"  - {x}" for x in lines))


def _allowed(err: dict) -> str:
    ctx = err.get("ctx") or {}
    t = err["type"]
    if t == "literal_error":
        return f"допустимые значения: {ctx.get('expected')}"
    if t in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤", "less_than": "<"}[t]
        bound = list(ctx.values())[0]
        return f"допустимо: значение {sign} {bound:g}" if isinstance(bound, (int, float)) else f"допустимо: значение {sign} {bound}"
    if t == "string_type":
        return "ожидается строка; коды и идентификаторы пишутся в кавычках, например \"0301\""
    if t in ("int_type", "int_parsing", "int_from_float"):
        return "ожидается целое число"
    if t in ("float_type", "float_parsing"):
        return "ожидается число"
    if t in ("bool_type", "bool_parsing"):
        return "ожидается true или false"
    if t == "string_pattern_mismatch":
        return f"ожидается строка по образцу {ctx.get('pattern')}"
    if t == "string_too_short":
        return f"строка короче {ctx.get('min_length')} символов"
    if t == "missing":
        return "обязательный ключ отсутствует"
    if t == "extra_forbidden":
        return "неизвестный ключ"
    if t in ("list_type", "dict_type", "model_type"):
        return {"list_type": "ожидается список", "dict_type": "ожидается словарь", "model_type": "ожидается словарь ключей"}[t]
    if t == "union_tag_invalid":
        return f"допустимые значения rule: {ctx.get('expected_tags')}"
    return err.get("msg", t)


def _describe(err: dict, allowed_keys: dict[tuple, list[str]], prefix: tuple = ()) -> str:
    loc = prefix + tuple(str(x) for x in err["loc"])
    path = ".".join(loc)
    text = _allowed(err)
    if err["type"] == "extra_forbidden":
        parent = tuple(err["loc"][:-1])
        keys = allowed_keys.get(parent)
        if keys:
            text += f"; допустимые ключи: {', '.join(keys)}"
    value = err.get("input")
    shown = "" if err["type"] in ("missing",) else f" = {value!r}"
    return f"ключ {path or '(корень)'}{shown}: {text}"


def _allowed_keys(model: type[BaseModel], data: Any, prefix: tuple = ()) -> dict[tuple, list[str]]:
    """Map each nested location to the keys its model allows (for 'unknown key' messages)."""
    out = {prefix: list(model.model_fields)}
    if not isinstance(data, dict):
        return out
    for name, field in model.model_fields.items():
        ann = field.annotation
        sub = data.get(name)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.update(_allowed_keys(ann, sub, prefix + (name,)))
    return out


_YAML_CACHE: dict[tuple[str, int, int], Any] = {}


def _read_yaml(path: Path) -> Any:
    """Parsed YAML, cached by path, size and modification time (loaders run on every dashboard action)."""
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
        if key in _YAML_CACHE:
            return copy.deepcopy(_YAML_CACHE[key])
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ParamsError(path, [f"файл не удалось прочитать: {e.strerror}"]) from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ParamsError(path, [f"ошибка синтаксиса YAML: {e}"]) from None
    _YAML_CACHE[key] = data
    return copy.deepcopy(data)


def _validate(model: type[_Strict], data: Any, path: Path, prefix: tuple = ()):
    try:
        return model.model_validate(data)
    except ValidationError as e:
        keys = _allowed_keys(model, data)
        raise ParamsError(path, [_describe(err, keys, prefix) for err in e.errors()]) from None


def _resolve(path: str | Path) -> Path:
    p = Path(path)
    return p if p.is_absolute() or p.exists() else PARAMS_DIR / p


def load_defaults(path: str | Path = "defaults.yaml") -> Defaults:
    """Project-wide defaults (privacy thresholds, sample-size categories, default methodology)."""
    p = _resolve(path)
    return _validate(Defaults, _read_yaml(p), p)


def load_presets(path: str | Path = "methodologies.yaml") -> dict[str, Preset]:
    """All identification presets by name."""
    p = _resolve(path)
    data = _read_yaml(p)
    if not isinstance(data, dict):
        raise ParamsError(p, ["ожидается словарь «имя методики: описание»"])
    errors, out = [], {}
    for name, body in data.items():
        try:
            out[str(name)] = _validate(Preset, body, p, (str(name),))
        except ParamsError as e:
            errors += e.lines
    if errors:
        raise ParamsError(p, errors)
    return out


def resolve_methodology(ident: Identification, presets: dict[str, Preset], path: Path, prefix: str = "identification"):
    """The preset's parameter model with the municipality's overrides applied and re-validated."""
    if ident.preset not in presets:
        raise ParamsError(path, [f"ключ {prefix}.preset = {ident.preset!r}: неизвестная методика; допустимые: {', '.join(presets)}"])
    preset = presets[ident.preset]
    model = type(preset.params)
    merged = preset.params.model_dump() | ident.overrides
    return _validate(model, merged, path, (prefix, "overrides"))


def load_municipality(path: str | Path) -> Municipality:
    """A municipality file, with its methodology overrides and column mappings checked."""
    p = _resolve(path)
    m = _validate(Municipality, _read_yaml(p), p)
    resolve_methodology(m.identification, load_presets(), p)
    errors = [f"ключ columns.{t}: {x}" for t, mp in m.columns.items() for x in check_mapping(t, mp)]
    if errors:
        raise ParamsError(p, errors)
    return m


def load_region(path: str | Path, check_municipalities: bool = True) -> Region:
    """A region file listing its municipalities (each with an optional municipality params file).

    ``check_municipalities=False`` skips loading the municipality files: the runner checks each one in its
    own task, so a broken file fails that municipality alone.
    """
    p = _resolve(path)
    r = _validate(Region, _read_yaml(p), p)
    errors = [f"ключ columns.{t}: {x}" for t, mp in r.columns.items() for x in check_mapping(t, mp)]
    for i, mun in enumerate(r.municipalities if check_municipalities else []):
        if mun.params:
            mp = p.parent.parent / mun.params if not _resolve(mun.params).exists() else _resolve(mun.params)
            if not mp.exists():
                errors.append(f"ключ municipalities.{i}.params = {mun.params!r}: файл не найден")
                continue
            m = load_municipality(mp)
            if m.code != mun.code:
                errors.append(f"ключ municipalities.{i}.code = {mun.code!r}: в файле {mun.params} указан код {m.code!r}")
    if errors:
        raise ParamsError(p, errors)
    return r


def load_yaml_model(model: type[_Strict], path: str | Path):
    """Validate any YAML file against a model with the same Russian error reporting."""
    p = _resolve(path)
    return _validate(model, _read_yaml(p), p)


def override(params: _Strict, **values) -> _Strict:
    """The parameters with some ``Tagged`` rule values replaced (their tag and source kept), validated again:
    for experiments and tests.

    >>> from workbench.risks import load_risk_params
    >>> override(load_risk_params(), level_rule="percentile").level_rule.value
    'percentile'
    """
    data = params.model_dump()
    for key, value in values.items():
        data[key]["value"] = value
    return type(params).model_validate(data)
