"""``ketamine-ed-kg serve``: builds if needed, serves on 127.0.0.1 and prints its URL.

It runs in the session's built copy of the checkout (``built_dataset``), so it finds the build
up to date and never writes into this checkout's ``build/``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest

from support.project import BuiltDataset
from support.server import free_port, request, stop_process


def _serve_command(built_dataset: BuiltDataset, port: int) -> list[str]:
    cli = Path(sys.executable).parent / "ketamine-ed-kg"
    return [str(cli), "--root", str(built_dataset.checkout.root), "serve", "--port", str(port)]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KETAMINE_ED_KG_")}


def test_serve_prints_its_url_and_answers(built_dataset: BuiltDataset) -> None:
    port = free_port()
    proc = subprocess.Popen(_serve_command(built_dataset, port), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=_env())
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == f"serving http://127.0.0.1:{port}/sparql"
        url = line.split(" ", 1)[1]
        reply = request(f"{url}?{urlencode({'query': 'ASK { ?s ?p ?o }'})}")
        assert reply.status == 200
        assert json.loads(reply.body)["boolean"] is True
    finally:
        stop_process(proc, signal.SIGINT)


def test_a_busy_port_is_named_with_the_way_out(built_dataset: BuiltDataset) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(_serve_command(built_dataset, port), capture_output=True,
                              text=True, env=_env(), timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (f"error: port {port} on 127.0.0.1 is in use (another server is "
                           f"listening there): choose another with --port N, or --port 0 for "
                           f"a free one\n")


IGNORING_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                   "os.execv(sys.argv[1], sys.argv[1:])")
"""Runs a command with SIGINT ignored, as a non-interactive shell starts a background job
(``serve &`` in a script): the disposition is inherited through exec, and Python then installs
no KeyboardInterrupt handler of its own."""


@pytest.mark.slow
@pytest.mark.parametrize("sigint_ignored_at_start", [False, True],
                         ids=["from a terminal", "started with SIGINT ignored"])
@pytest.mark.parametrize("server", ["gunicorn", "waitress"])
def test_ctrl_c_after_port_0_stops_with_one_line(built_dataset: BuiltDataset, tmp_path: Path,
                                                 server: str,
                                                 sigint_ignored_at_start: bool) -> None:
    """``--port 0`` serves on a free port and prints it; Ctrl-C (SIGINT to the whole process
    group, as a terminal sends it, query processes included) stops everything with one line
    and exit status 0: no traceback, no server chatter. With either HTTP server, and also
    when it was started from a script in the background (SIGINT ignored on entry), where
    ``kill -INT`` is how it gets stopped."""
    errors = tmp_path / "stderr"
    command = _serve_command(built_dataset, 0)
    if sigint_ignored_at_start:
        command = [sys.executable, "-c", IGNORING_SIGINT, *command]
    with errors.open("w", encoding="utf-8") as sink:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE,
                                stderr=sink, text=True, start_new_session=True,
                                env={**_env(), "KETAMINE_ED_KG_SERVER": server})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        match = re.fullmatch(r"serving (http://127\.0\.0\.1:([0-9]+)/sparql)", line)
        assert match, line
        url, port = match.group(1), int(match.group(2))
        assert port != 0
        reply = request(f"{url}?{urlencode({'query': 'ASK { ?s ?p ?o }'})}", timeout=120)
        assert json.loads(reply.body)["boolean"] is True
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert proc.stdout.read() == ""
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    said = errors.read_text(encoding="utf-8").splitlines()
    progress = [text for text in said if text.startswith("  ")]  # build and dataset lines
    assert [text for text in said if text not in progress] == [f"stopped serving {url}"]
