"""Parameter files: all shipped files load; every kind of mistake names file, key, value and what is allowed."""
from pathlib import Path

import pytest

from workbench import config
from workbench.config import ParamsError, load_municipality, load_presets, load_region
from workbench.paths import PARAMS_DIR

SEED_FILES = {
    "ekaterinburg_ordzhonikidzevsky.yaml": ("001", "000", "ekaterinburg"),
    "uryupinsky.yaml": ("002", "001", "bottom_percentile"),
    "kaluga_district.yaml": ("003", "002", "rosobrnadzor_2025"),
    "lesosibirsk.yaml": ("004", "003", "lesosibirsk"),
    "kamensk_uralsky.yaml": ("005", "004", "kamensk_uralsky"),
}


@pytest.mark.parametrize("name", sorted(SEED_FILES))
def test_seed_municipalities_load(name):
    m = load_municipality(PARAMS_DIR / "municipalities" / name)
    assert (m.code, m.seed, m.identification.preset) == SEED_FILES[name]


def test_presets_carry_provenance_on_every_parameter():
    presets = load_presets()
    assert set(presets) == {"lesosibirsk", "kamensk_uralsky", "ekaterinburg", "rosobrnadzor_2025",
                            "bottom_percentile", "context_adjusted"}
    les = presets["lesosibirsk"].params
    assert les.continue_grade10_min.value == 0.60 and les.continue_grade10_min.tag == "seed"
    assert les.criteria_required.tag == "heuristic"  # seed 003 does not fix it
    assert presets["rosobrnadzor_2025"].params.share_mark2_min.tag == "official"
    for p in presets.values():
        for name, field in p.params:
            if name != "rule":
                assert field.tag in ("seed", "official", "secondary", "heuristic") and len(field.source) > 3


def _write(tmp_path: Path, text: str, name="m.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


BASE = """code: "0301"
name: "Тест"
region: "Тестовая область"
source: "тест"
identification:
  preset: "lesosibirsk"
"""


def test_unquoted_code_is_rejected_with_a_hint(tmp_path):
    p = _write(tmp_path, BASE.replace('code: "0301"', "code: 0301"))
    with pytest.raises(ParamsError) as e:
        load_municipality(p)
    msg = str(e.value)
    assert str(p) in msg and "ключ code = 193" in msg and "в кавычках" in msg


def test_unknown_key_lists_allowed_keys(tmp_path):
    p = _write(tmp_path, BASE + "treshold: 3\n")
    with pytest.raises(ParamsError) as e:
        load_municipality(p)
    assert e.value.lines == [
        "ключ treshold = 3: неизвестный ключ; допустимые ключи: code, name, region, seed, source, identification, columns, privacy"]


def test_out_of_range_override_names_key_path_and_bound(tmp_path):
    p = _write(tmp_path, BASE + "  overrides:\n    bottom_share: {value: 1.5, tag: seed, source: \"seed 003\"}\n")
    with pytest.raises(ParamsError) as e:
        load_municipality(p)
    assert e.value.lines == ["ключ identification.overrides.bottom_share.value = 1.5: допустимо: значение ≤ 1"]


def test_wrong_tag_lists_allowed_tags(tmp_path):
    p = _write(tmp_path, BASE + "  overrides:\n    years: {value: 2, tag: guess, source: \"мы решили\"}\n")
    with pytest.raises(ParamsError) as e:
        load_municipality(p)
    assert len(e.value.lines) == 1
    assert e.value.lines[0].startswith("ключ identification.overrides.years.tag = 'guess': допустимые значения: 'seed'")


def test_wrong_type_and_unknown_preset(tmp_path):
    p = _write(tmp_path, BASE + "  overrides:\n    years: {value: \"три\", tag: seed, source: \"seed 003\"}\n")
    with pytest.raises(ParamsError) as e:
        load_municipality(p)
    assert e.value.lines == ["ключ identification.overrides.years.value = 'три': ожидается целое число"]
    p = _write(tmp_path, BASE.replace('"lesosibirsk"', '"moscow"'))
    with pytest.raises(ParamsError) as e:
        load_municipality(p)
    assert "неизвестная методика; допустимые: lesosibirsk, kamensk_uralsky" in e.value.lines[0]


def test_mapping_to_unknown_column_is_rejected(tmp_path):
    p = _write(tmp_path, BASE + "columns:\n  staff:\n    columns: {\"Педагогов\": teacher_count}\n")
    with pytest.raises(ParamsError) as e:
        load_municipality(p)
    assert e.value.lines[0].startswith("ключ columns.staff: columns: столбец «teacher_count» не входит в таблицу staff")


def test_region_file_checks_codes_against_municipality_files(tmp_path):
    region = tmp_path / "r.yaml"
    region.write_text(
        'code: "r"\nname: "Р"\nyears: [2024]\nmunicipalities:\n'
        f'  - {{code: "009", name: "Лесосибирск", params: "{PARAMS_DIR / "municipalities" / "lesosibirsk.yaml"}"}}\n'
        '  - {code: "009", name: "Дубль"}\n', encoding="utf-8")
    with pytest.raises(ParamsError) as e:
        load_region(region)
    assert "коды муниципалитетов повторяются: 009" in e.value.lines[0]


def test_every_shipped_yaml_is_valid():
    from workbench.cli import main

    assert main(["params"]) == 0


def test_overrides_apply():
    presets = load_presets()
    ident = config.Identification(preset="lesosibirsk", overrides={
        "criteria_required": {"value": 2, "tag": "seed", "source": "решение муниципалитета"}})
    rule = config.resolve_methodology(ident, presets, Path("x.yaml"))
    assert rule.criteria_required.value == 2 and rule.bottom_share.value == 0.25
