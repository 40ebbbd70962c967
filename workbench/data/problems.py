"""Import problems: one row per (file, sheet, row, column, value, rule) with a Russian message.

Every reader returns its problems as a DataFrame with ``PROBLEM_COLUMNS``. A problem of severity
``error`` sends its row to quarantine; a ``warning`` is reported and the row is kept. ``row`` is the
1-based row number as a user sees it in the file (Excel row / CSV line), or NA for file-level problems.

Example
-------
>>> p = problem("a.csv", None, 7, "grade", "12", "not_allowed", allowed="4–8, 10, 11")
>>> p["message"]
'Значение «12» не входит в допустимые: 4–8, 10, 11'
"""
from __future__ import annotations

from typing import Any

import pandas as pd

PROBLEM_COLUMNS = ["file", "sheet", "row", "column", "value", "rule", "severity", "message"]

# rule -> (severity, Russian message template). Templates use {value} and keyword arguments.
RULES: dict[str, tuple[str, str]] = {
    "file_unreadable": ("fatal", "Файл не удалось прочитать: {detail}"),
    "encrypted": ("fatal", "Файл защищён паролем: {detail}"),
    "empty_file": ("fatal", "Файл пуст: {detail}"),
    "corrupt_file": ("fatal", "Файл повреждён или не является таблицей: {detail}"),
    "unsupported_format": ("fatal", "Формат файла не поддерживается: {detail}"),
    "unknown_format": ("fatal", "Не удалось определить, какая это таблица: {detail}"),
    "no_header": ("fatal", "Не найдена строка заголовка: {detail}"),
    "missing_column": ("fatal", "Нет обязательного столбца «{value}» ({detail})"),
    "missing_metadata": ("fatal", "Не удалось определить: {value} — {detail}"),
    "unknown_column": ("warning", "Неизвестный столбец «{value}» пропущен"),
    "similar_column": ("warning", "Столбец «{value}» не распознан; похоже на {detail}"),
    "no_journal_mark": ("warning", "В файле нет столбца отметки по журналу: объективность по этому файлу не будет рассчитана"),
    "no_task_scores": ("warning", "В файле нет баллов за задания (только первичный балл и отметка): "
                                  "анализ по заданиям по этому файлу невозможен"),
    "duplicate_column": ("fatal", "Столбец «{value}» встречается дважды"),
    "extra_sheet": ("warning", "Лист «{value}» не содержит данных ВПР и пропущен"),
    "empty_row": ("info", "Пустая строка пропущена"),
    "required_empty": ("error", "Пустое значение в обязательном столбце"),
    "not_a_number": ("error", "«{value}» — не число"),
    "not_an_integer": ("error", "«{value}» — не целое число"),
    "not_a_date": ("error", "«{value}» — не дата"),
    "not_a_term": ("error", "«{value}» — не дата и не срок: укажите дату (15.03.2027) или период («декабрь 2026 г.», "
                            "«ноябрь–декабрь 2026 г.», «в течение 2027 г.», «I полугодие 2027 г.», "
                            "«в течение 2026/2027 учебного года»)"),
    "not_a_bool": ("error", "«{value}» — ожидается да/нет"),
    "not_allowed": ("error", "Значение «{value}» не входит в допустимые: {allowed}"),
    "out_of_range": ("error", "Значение «{value}» вне допустимого диапазона: {allowed}"),
    "pattern_mismatch": ("error", "Значение «{value}» не соответствует формату: {allowed}"),
    "id_as_number": ("warning", "Код «{value}» записан в Excel как число: ведущие нули могли потеряться"),
    "duplicate_key": ("error", "Повтор ключа {detail}: строка дублирует строку {other}"),
    "row_rule": ("error", "Нарушено правило {detail}"),
    "score_above_max": ("error", "Балл «{value}» больше максимума задания ({allowed})"),
    "mark_outside_scale": ("error", "Отметка «{value}» вне шкалы 2–5"),
    "primary_mismatch": ("warning", "Первичный балл в файле «{value}» не равен сумме баллов за задания ({detail})"),
    "mark_mismatch": ("warning", "Отметка в файле «{value}» не соответствует шкале перевода ({detail})"),
    "no_scale": ("warning", "Нет шкалы перевода для {detail}: отметка не пересчитана"),
    "task_list_mismatch": ("error", "Состав заданий не совпадает с описанием работы: {detail}"),
    "unknown_school": ("error", "Школа «{value}» не найдена в реестре ОО и в параметрах"),
    "absent_with_scores": ("warning", "Участник отмечен отсутствующим, но в строке есть баллы — баллы не учитываются"),
    # pupil-level ОГЭ/ЕГЭ protocols of regional processing centres (workbench.data.exam_protocol)
    "protocol_block_unresolved": ("error", "Блок протокола (строка заголовка {other}): {detail} — строка не загружена"),
    "short_answers_invalid": ("error", "Задания с кратким ответом «{value}» не разобраны: {detail}"),
    "long_answers_invalid": ("error", "Задания с развёрнутым ответом «{value}» не разобраны: {detail}"),
    "long_score_above_max": ("error", "Задания с развёрнутым ответом «{value}»: балл больше максимума ({detail})"),
    "answers_as_number": ("warning", "Результаты заданий «{value}» записаны в Excel как число: "
                                     "ведущие нули могли потеряться"),
    "task_count_differs": ("warning", "Состав заданий «{value}» отличается от большинства строк блока ({detail})"),
    "protocol_meta_conflict": ("warning", "В файле указано «{value}», используется заданное при загрузке: {detail}"),
    "personal_value_hidden": ("error", "Значение совпадает с персональными данными участника (сдвиг столбцов?) и "
                                       "не загружено — строка не загружена"),
    "personal_data_dropped": ("info", "Персональные данные не загружаются: столбцы {detail} удалены при чтении"),
    "protocol_extra_sheet": ("warning", "Лист «{value}» не содержит протокола результатов ОГЭ/ЕГЭ и пропущен"),
    "protocol_row_outside_block": ("error", "Строка похожа на результат участника, но над ней после заголовка блока "
                                            "нет строки с названиями столбцов (как в строке {other}) — "
                                            "строка не загружена"),
    # file-level outcomes of the importer (workbench.data.importing)
    "not_data": ("info", "Не файл данных, не загружается: {detail}"),
    "duplicate_file": ("warning", "Повтор файла, не загружается: {detail}"),
    "shared_key": ("warning", "Одни и те же ключи ({allowed}) в нескольких файлах: {detail}. Загружены строки всех "
                              "файлов — уберите лишний файл (или исправьте ключи) и загрузите заново"),
}
SEVERITIES = ("fatal", "error", "warning", "info")


def problem(file: str, sheet: str | None, row: int | None, column: str | None, value: Any, rule: str,
            **kw: Any) -> dict[str, Any]:
    """One problem record with its Russian message. Unknown rules raise KeyError (a programming error)."""
    severity, template = RULES[rule]
    text_value = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    message = template.format(value=text_value, **{k: kw.get(k, "") for k in ("detail", "allowed", "other")})
    return {"file": file, "sheet": sheet, "row": row, "column": column, "value": text_value,
            "rule": rule, "severity": severity, "message": message}


def frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Problems as a DataFrame with the standard columns (empty frame when there are none)."""
    if not records:   # the common case, called per file: a copy of one prepared empty frame
        return _EMPTY.copy()
    df = pd.DataFrame.from_records(records, columns=PROBLEM_COLUMNS)
    df["row"] = df["row"].astype("Int64")
    return df


_EMPTY = pd.DataFrame.from_records([], columns=PROBLEM_COLUMNS).astype({"row": "Int64"})
