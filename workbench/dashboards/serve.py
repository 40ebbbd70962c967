"""Serve a Voila dashboard of ``notebooks/dashboards/`` on 127.0.0.1 (one view per server: :data:`NOTEBOOKS`).

Settings live in the committed ``voila.json`` at the project root: bound to 127.0.0.1, no browser,
tracebacks hidden from users (``VoilaConfiguration.show_tracebacks: false``), template ``lab``, idle kernels
culled (``MappingKernelManager.cull_idle_timeout`` 1800 s, checked every ``cull_interval`` 120 s, also when a
forgotten tab is still connected: ``cull_connected``).

What Voila 0.5.13 does with that file (checked on this machine with real runs):

* ``voila`` looks for ``voila.json`` in ``Voila.config_file_paths``, which defaults to the *current directory*
  plus the Jupyter config dirs. Started from the project root it logs ``Loaded config file: …/voila.json``;
  started from anywhere else the file is silently ignored (it then listened on ``localhost``).
* Voila has no ``--config`` option. What works from any directory is ``--Voila.config_file_paths=<root>``
  (it replaces the default search path, so a personal ``~/.jupyter/voila.json`` cannot change the served
  settings); :func:`voila_command` passes it, and repeats ``ip`` and ``--no-browser`` on the command line,
  which wins over the file.
* Culling is active when the log shows ``Culling kernels with idle durations > 1800 seconds at 120 second
  intervals`` (printed when the first kernel starts). With ``show_tracebacks: false`` a failing cell shows
  only «There was an error when executing cell»; the dashboard itself turns its own errors into Russian messages.
* ``--Voila.port_retries=0``: a busy port is an error instead of a silent move to another port.
* ``MPLBACKEND`` is removed from the kernel's environment: a forced ``agg`` backend makes figures vanish.
* ``VoilaConfiguration.preheat_kernel`` with ``default_pool_size: 2``: two kernels are kept with the app already
  rendered, so an official's page opens without a kernel start (1.0–1.8 s on the scale-1 store; the log says
  ``Using pre-heated kernel``); the pool is refilled ``VoilaKernelManager.fill_delay`` (5 s) after a visit. With
  one kernel, a colleague who opened the address within seconds of another waited for the refill (4–7 s);
  each kept kernel holds about 550 MB on the scale-1 store.
* Template ``workbench`` (``jupyter/voila/templates/workbench`` beside this module, on ``JUPYTER_PATH``): the
  lab template plus a watchdog. A page whose dashboard has not appeared within 60 s (a kernel that died,
  hung or never answered) shows «Панель не открылась» with a «Повторить» button instead of an endless
  spinner; Voila's error page says the same in Russian.

Exposing the dashboard beyond this machine: keep Voila on 127.0.0.1 and put an authenticating reverse proxy in
front (e.g. nginx with ``auth_basic`` or the organisation's SSO via ``auth_request``, TLS on the proxy), start
Voila with ``base_url="/dashboard/"`` and proxy ``location /dashboard/`` to ``http://127.0.0.1:8866/dashboard/``
including websocket upgrade headers (``proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade;
proxy_set_header Connection "upgrade";``). Never bind Voila to 0.0.0.0: it has no authentication of its own.

Example
-------
>>> from pathlib import Path
>>> argv, env = voila_command(Path("notebooks/dashboards/overview.ipynb"), 8866, store=Path("/data/store"))
>>> "--no-browser" in argv and "--Voila.ip=127.0.0.1" in argv, env["WORKBENCH_STORE"]
(True, '/data/store')
>>> serve(8866)        # blocks until Ctrl+C                                    # doctest: +SKIP
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from workbench.paths import ROOT

DASHBOARDS_DIR = ROOT / "notebooks" / "dashboards"
NOTEBOOKS = {"app": DASHBOARDS_DIR / "app.ipynb",                        # одно приложение: все разделы
             "overview": DASHBOARDS_DIR / "overview.ipynb",              # ВПР: муниципалитет на фоне региона
             "identification": DASHBOARDS_DIR / "identification.ipynb"}  # выявление ШНОР/ШНСУ по методикам
NOTEBOOK = NOTEBOOKS["overview"]  # the default view
VIEW_TITLES = {"app": "приложение: обзор, идентификация ШНОР/ШНСУ, объективность",
               "overview": "результаты ВПР: муниципалитет на фоне региона",
               "identification": "выявление ШНОР и ШНСУ по методикам, карточка школы"}
CONFIG_DIR = ROOT  # where voila.json lives
TEMPLATES_DIR = Path(__file__).resolve().parent / "jupyter"   # voila/templates/workbench/ inside
HOST = "127.0.0.1"


def _base_url(base_url: str) -> str:
    """``dashboard`` → ``/dashboard/`` (Voila wants both slashes)."""
    return "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"


def voila_command(notebook: Path, port: int, *, base_url: str = "/",
                  store: Path | None = None) -> tuple[list[str], dict]:
    """The argv and environment that serve ``notebook`` with Voila on 127.0.0.1:``port`` using ``voila.json``.

    ``store`` becomes ``WORKBENCH_STORE`` for the kernel (the dashboard's data); without it the kernel inherits
    the variable or falls back to ``data/store``.

    >>> argv, env = voila_command(Path("nb.ipynb"), 9000, base_url="x")
    >>> "--port=9000" in argv, "--Voila.base_url=/x/" in argv
    (True, True)
    """
    argv = [sys.executable, "-m", "voila", str(Path(notebook).resolve()), f"--port={int(port)}", "--no-browser",
            f"--Voila.ip={HOST}", f"--Voila.base_url={_base_url(base_url)}", "--Voila.port_retries=0",
            f"--Voila.config_file_paths={CONFIG_DIR}"]
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the kernel must pick the inline backend, or figures vanish
    # the project's Voila template («workbench» in voila.json) lives in the package, found through JUPYTER_PATH
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(TEMPLATES_DIR), env.get("JUPYTER_PATH", "")) if p)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    # one page per kernel: the kernel need not echo each state the page sends back (a figure's Output sends its
    # whole image back, and the echo sent it to the page a second time)
    env["JUPYTER_WIDGETS_ECHO"] = "0"
    if store is not None:
        env["WORKBENCH_STORE"] = str(Path(store).resolve())
    return argv, env


def serve(port: int = 8866, store: Path | None = None, base_url: str = "/", view: str = "app") -> int:
    """Run Voila for one dashboard (``view``: a key of :data:`NOTEBOOKS`) until Ctrl+C; returns Voila's exit code.

    >>> serve(8866, store=Path("data/store"), view="identification")          # doctest: +SKIP
    """
    if view not in NOTEBOOKS:
        raise ValueError(f"неизвестная панель «{view}»; допустимые: {', '.join(NOTEBOOKS)}")
    argv, env = voila_command(NOTEBOOKS[view], port, base_url=base_url, store=store)
    shown = env.get("WORKBENCH_STORE") or str(ROOT / "data" / "store")
    print(f"Панель «{VIEW_TITLES.get(view, view)}»: http://{HOST}:{port}{_base_url(base_url)}  (хранилище: {shown}; "
          "остановить — Ctrl+C)", flush=True)
    proc = subprocess.Popen(argv, env=env, cwd=ROOT)
    previous = _on_sigterm(_interrupt)  # a service manager's SIGTERM must not orphan Voila and its kernels
    try:
        return proc.wait()
    except KeyboardInterrupt:
        print("Остановка панели…", flush=True)
        return _stop(proc)
    finally:
        _on_sigterm(previous)
        if proc.poll() is None:
            _stop(proc)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _on_sigterm(handler):
    """Install a SIGTERM handler (main thread only); returns the previous one."""
    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler)


def _stop(proc: subprocess.Popen, grace: float = 10.0) -> int:
    """SIGTERM (Voila then shuts its kernels down), SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()
