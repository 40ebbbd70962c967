"""Controlled vocabularies shared by schemas, importers, the demo and reports.

Codes are short ASCII identifiers used in data; the Russian labels are what users see.
"""
from __future__ import annotations

SUBJECTS: dict[str, str] = {
    "rus": "Русский язык",
    "math": "Математика",
    "okr": "Окружающий мир",
    "hist": "История",
    "soc": "Обществознание",
    "bio": "Биология",
    "geo": "География",
    "phys": "Физика",
    "chem": "Химия",
    "eng": "Английский язык",
    "deu": "Немецкий язык",
    "lit": "Литература",
    "inf": "Информатика",
}
SUBJECT_BY_LABEL: dict[str, str] = {v.lower(): k for k, v in SUBJECTS.items()}

SCHOOL_TYPES: tuple[str, ...] = ("СОШ", "ООШ", "НОШ", "СОШ с УИОП", "гимназия", "лицей")
SETTLEMENTS: tuple[str, ...] = ("город", "село")
SEXES: tuple[str, ...] = ("М", "Ж")
TASK_LEVELS: tuple[str, ...] = ("Б", "П", "В")  # базовый / повышенный / высокий
EXAMS: tuple[str, ...] = ("ОГЭ", "ЕГЭ")
RESPONDENTS: tuple[str, ...] = ("директор", "учитель", "ученик", "родитель")
PROVENANCE_TAGS: tuple[str, ...] = ("seed", "official", "secondary", "heuristic")
ROADMAP_DIRECTIONS: tuple[str, ...] = (
    "нормативно-правовое",
    "диагностико-аналитическое",
    "информационно-методическое",
    "организационно-содержательное",
    "кадровое",
    "психолого-педагогическое",
    "материально-техническое",
    "работа с родителями",
)
MEASURE_STATUSES: tuple[str, ...] = ("запланировано", "выполняется", "выполнено", "отменено")
# The eight monitoring indicators of seed 004 (DOMAIN §9): code -> Russian wording.
MONITORING_INDICATORS: dict[str, str] = {
    "positive_results": "ШНОР с положительной динамикой образовательных результатов",
    "positive_competences": "ШНОР с положительной динамикой профессиональных компетенций учителей",
    "deficit_diagnostics": "Учителя ШНОР, прошедшие диагностику профессиональных дефицитов",
    "deficit_dynamics": "Учителя ШНОР с положительной динамикой по итогам диагностики",
    "methodical_support": "ШНОР, охваченные методическим сопровождением",
    "network": "ШНОР в сетевом взаимодействии со школами-лидерами",
    "targeted_help": "ШНОР, получившие адресную методическую помощь",
    "seminars": "ШНОР — участники семинаров и круглых столов",
}
# Generic responsible bodies of the measures catalogue (drop-down in the roadmap workbook; other text allowed).
RESPONSIBLE_ROLES: tuple[str, ...] = (
    "Управление образования", "Муниципальный методический центр", "Центр психолого-педагогической помощи",
    "Руководитель ОО", "Муниципальный координатор", "Школа-лидер", "Региональный институт развития образования",
)
MARKS: tuple[int, ...] = (2, 3, 4, 5)
VPR_GRADES: tuple[int, ...] = (4, 5, 6, 7, 8, 10, 11)
MAX_TASK_SLOTS = 40
"""Task scores of one work are stored wide in slots task_01..task_40; vpr_tasks maps a slot to its task label."""

TASK_COLUMNS: tuple[str, ...] = tuple(f"task_{i:02d}" for i in range(1, MAX_TASK_SLOTS + 1))
