"""The ``workbench`` command: demo region, import into the store, parameter checks. Messages in Russian."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from workbench.config import ParamsError


class _RuFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, prefix or "Использование: ")


class _Parser(argparse.ArgumentParser):
    def __init__(self, *a, **kw):
        kw.setdefault("formatter_class", _RuFormatter)
        kw.setdefault("add_help", False)
        super().__init__(*a, **kw)
        self._positionals.title = "аргументы"
        self._optionals.title = "параметры"
        self.add_argument("-h", "--help", action="help", help="показать эту справку и выйти")

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: ошибка вызова: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="workbench", description="Рабочее место аналитика: ШНОР/ШНСУ, разрывы, объективность ВПР, планы поддержки.")
    sub = p.add_subparsers(dest="command", title="команды", metavar="КОМАНДА", parser_class=_Parser)

    d = sub.add_parser("demo", prog="workbench demo", help="сгенерировать демонстрационный регион (сырые выгрузки и эталон)",
                       description="Генерирует сырые файлы демо-региона (выгрузки ВПР ФИС ОКО, ОГЭ/ЕГЭ, контекст, кадры, "
                                   "ресурсы, анкеты, дорожная карта) в DIR/raw и эталон заложенных эффектов в DIR/truth.")
    d.add_argument("--out", required=True, type=Path, help="папка для результата")
    d.add_argument("--scale", type=float, default=1.0, help="масштаб региона (1 — по умолчанию, 10 — для замеров)")
    d.add_argument("--seed", type=int, default=2026, help="зерно генератора: одинаковое зерно — одинаковые файлы")

    i = sub.add_parser("import", prog="workbench import", help="проверить и загрузить файлы в хранилище",
                       description="Проверяет файлы (все ошибки сразу), принятые строки пишет в хранилище (parquet по "
                                   "муниципалитетам), отклонённые — в карантин с причиной; пишет отчёт о проблемах CSV.\n"
                                   "Загрузка атомарна: хранилище меняется целиком в конце или не меняется вовсе "
                                   "(даже при обрыве). Каждый файл либо загружен, либо назван с причиной.\n"
                                   "Код выхода: 0 — все строки приняты, 1 — часть строк в карантине, 2 — файл не прочитан "
                                   "или не распознан, или вызов неверен.")
    i.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="файлы или папки (.xlsx, .xlsm, .xls, .ods, .csv, .txt)")
    i.add_argument("--store", required=True, type=Path, help="папка хранилища")
    i.add_argument("--params", type=Path, default=None, help="файл региона (params/regions/*.yaml): муниципалитеты и сопоставления столбцов")
    i.add_argument("--table", default=None, help="принудительно указать таблицу (иначе определяется по заголовкам)")
    i.add_argument("--mapping", type=Path, default=None, help="файл сопоставления столбцов (params/mappings/*.yaml)")
    i.add_argument("--replace", action="store_true", help="начать с пустого хранилища (иначе файлы добавляются; "
                                                         "повторно загруженный файл заменяет свои строки)")
    i.add_argument("--status", action="store_true", help="не загружать, а показать, что в хранилище (как workbench store)")
    i.add_argument("--year", type=int, default=None, help="год ВПР для форм, где он не указан (например 2026)")
    i.add_argument("--subject", default=None, help="предмет ВПР для форм, где он не указан (код или название: math, «Математика»)")
    i.add_argument("--grade", type=int, default=None, help="класс (параллель) ВПР для форм, где он не указан")
    i.add_argument("--school", default=None, metavar="LOGIN", help="логин ОО (eduNNNNNN) для формы одной школы")
    i.add_argument("--jobs", type=int, default=None, help="процессов чтения для больших загрузок (по умолчанию — число ядер)")

    s = sub.add_parser("store", prog="workbench store", help="что хранится в хранилище",
                       description="Показывает по-русски: таблицы, строки, годы, муниципалитеты, файлы-источники, "
                                   "карантин, время последней завершённой загрузки и прерванные загрузки.")
    s.add_argument("--store", type=Path, default=Path("data/store"), help="папка хранилища")

    r = sub.add_parser("run", prog="workbench run", help="основная работа: отчёты по муниципалитетам (papermill)",
                       description="Исполняет производственные блокноты notebooks/NN_*.ipynb для каждого муниципалитета "
                                   "в outputs/<запуск>/<код>/: отчёт HTML, таблицы Excel, рисунки, исполненные блокноты; "
                                   "index.html и manifest.json запуска; outputs/latest — последний запуск.\n"
                                   "Код выхода не нулевой, если хотя бы один муниципалитет завершился ошибкой.")
    r.add_argument("--municipality", nargs="+", default=None, metavar="CODE", help="коды муниципалитетов (по умолчанию — все)")
    r.add_argument("--year", type=int, default=None, help="год (по умолчанию — последний в данных)")
    r.add_argument("--jobs", type=int, default=None, help="параллельных процессов (по умолчанию — число ядер)")
    r.add_argument("--resume", action="store_true", help="продолжить последний запуск: пропустить готовые с теми же входами")
    r.add_argument("--out", type=Path, default=None, help="папка результатов (по умолчанию outputs/)")
    r.add_argument("--store", type=Path, default=Path("data/store"), help="папка хранилища")
    r.add_argument("--timeout", type=int, default=900, help="предел времени исполнения одной ячейки, с")

    b = sub.add_parser("dashboard", prog="workbench dashboard", help="дашборд для руководителей (Voila, 127.0.0.1)",
                       description="Запускает Voila с дашбордами notebooks/dashboards/ на 127.0.0.1 (настройки — voila.json). "
                                   "Открыть снаружи — только за обратным прокси с аутентификацией (см. README).")
    b.add_argument("--port", type=int, default=8866, help="порт (по умолчанию 8866)")
    b.add_argument("--store", type=Path, default=None, help="папка хранилища (по умолчанию data/store)")
    b.add_argument("--base-url", default="/", help="префикс адреса за обратным прокси, например /shnor/")
    b.add_argument("--view", default="app", metavar="{app,overview,identification}",
                   help="что открыть: app — одно приложение с разделами «Обзор», «Идентификация», «Объективность» "
                        "(по умолчанию); overview, identification — отдельные панели")

    c = sub.add_parser("params", prog="workbench params", help="проверить файлы параметров",
                       description="Загружает файлы параметров и сообщает о каждой ошибке: файл, ключ, значение, допустимое.")
    c.add_argument("files", nargs="*", type=Path, metavar="FILE", help="файлы (по умолчанию — все в params/)")
    return p


def cmd_demo(args) -> int:
    from workbench.demo import generate_demo

    summary = generate_demo(args.out, scale=args.scale, seed=args.seed)
    print("\n".join(summary.lines_ru()))
    return 0


def cmd_store(args) -> int:
    from workbench.data.store import Store

    status = Store(args.store).status()
    print("\n".join(status.lines_ru()))
    return 0 if status.problem_ru() is None else 1


def cmd_import(args) -> int:
    from workbench.config import TableMapping, check_mapping, load_region, load_yaml_model
    from workbench.data.importing import import_paths
    from workbench.data.schemas import TABLES
    from workbench.data.store import StoreError

    if args.status:
        return cmd_store(args)
    if not args.paths:
        print("Ошибка вызова: укажите файлы или папки для загрузки (или --status)", file=sys.stderr)
        return 2

    if args.table and args.table not in TABLES:
        print(f"Ошибка вызова: --table {args.table!r} — неизвестная таблица; допустимые: {', '.join(TABLES)}", file=sys.stderr)
        return 2
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"Ошибка вызова: не найдено: {', '.join(missing)}", file=sys.stderr)
        return 2
    region = load_region(args.params) if args.params else None
    mapping = None
    if args.mapping:
        if not args.table:
            print("Ошибка вызова: --mapping требует --table", file=sys.stderr)
            return 2
        mapping = load_yaml_model(TableMapping, args.mapping)
        errs = check_mapping(args.table, mapping)
        if errs:
            raise ParamsError(args.mapping, errs)
    overrides = {"year": args.year, "subject": args.subject, "grade": args.grade, "school_id": args.school}
    if args.subject:
        from workbench.data.fisoko import subject_code

        overrides["subject"] = subject_code(args.subject)
        if overrides["subject"] is None:
            print(f"Ошибка вызова: --subject {args.subject!r} — неизвестный предмет", file=sys.stderr)
            return 2
    t0 = time.perf_counter()
    try:
        result = import_paths(args.paths, args.store, region=region, table=args.table, mapping=mapping,
                              replace=args.replace, overrides=overrides, jobs=args.jobs)
    except StoreError as e:
        print(f"Ошибка: {e}", file=sys.stderr)
        return 2
    print("\n".join(result.summary_ru()))
    print(f"Время: {time.perf_counter() - t0:.1f} с. Код выхода: {result.exit_code}.")
    return result.exit_code


def cmd_run(args) -> int:
    from workbench.runner import run
    from workbench.data.store import StoreError

    t0 = time.perf_counter()
    try:
        manifest = run(args.municipality, year=args.year, store=args.store, jobs=args.jobs, resume=args.resume,
                       out=args.out, timeout=args.timeout)
    except (ValueError, StoreError) as e:
        print(f"Ошибка: {e}", file=sys.stderr)
        return 2
    ms = manifest["municipalities"]
    failed = {c: m for c, m in ms.items() if m["status"] != "ok"}
    skipped = sum(1 for m in ms.values() if m.get("skipped"))
    run_dir = (args.out or Path("outputs")) / manifest["run_id"]
    print(f"Запуск {manifest['run_id']} ({manifest['year']} год): готово {len(ms) - len(failed)} из {len(ms)}"
          + (f", пропущено как готовые: {skipped}" if skipped else "") + f"; {time.perf_counter() - t0:.0f} с.")
    print(f"Оглавление: {run_dir / 'index.html'}")
    for c, m in sorted(failed.items()):
        print(f"ОШИБКА {c} ({m.get('name', '')}): {m.get('error')}", file=sys.stderr)
    return 1 if failed else 0


def cmd_dashboard(args) -> int:
    from workbench.dashboards.serve import NOTEBOOKS, serve

    if args.view not in NOTEBOOKS:
        print(f"Ошибка вызова: --view {args.view!r} — неизвестная панель; допустимые: {', '.join(NOTEBOOKS)}",
              file=sys.stderr)
        return 2
    return serve(port=args.port, store=args.store, base_url=args.base_url, view=args.view) or 0


def cmd_params(args) -> int:
    from workbench.config import TableMapping, load_defaults, load_municipality, load_presets, load_region, load_yaml_model
    from workbench.paths import PARAMS_DIR

    files = args.files or sorted(PARAMS_DIR.glob("**/*.yaml"))
    bad = 0
    for f in files:
        f = Path(f)
        try:
            if f.name == "defaults.yaml":
                load_defaults(f)
            elif f.name == "methodologies.yaml":
                load_presets(f)
            elif f.parent.name == "regions":
                load_region(f)
            elif f.parent.name == "municipalities":
                load_municipality(f)
            elif f.parent.name == "mappings":
                load_yaml_model(TableMapping, f)
            else:
                continue
            print(f"OK  {f}")
        except ParamsError as e:
            bad += 1
            print(str(e), file=sys.stderr)
    return 2 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return {"demo": cmd_demo, "import": cmd_import, "store": cmd_store, "run": cmd_run, "dashboard": cmd_dashboard,
                "params": cmd_params}[args.command](args)
    except ParamsError as e:
        print(str(e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
