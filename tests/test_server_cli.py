"""``ketamine-ed-kg serve``: builds if needed, serves on 127.0.0.1 and prints its URL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

from ketamine_ed_kg.paths import ProjectPaths
from support.server import request


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_prints_its_url_and_answers(paths: ProjectPaths) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETAMINE_ED_KG_")}
    cli = Path(sys.executable).parent / "ketamine-ed-kg"
    proc = subprocess.Popen([str(cli), "--root", str(paths.root), "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == f"serving http://127.0.0.1:{port}/sparql"
        url = line.split(" ", 1)[1]
        reply = request(f"{url}?{urlencode({'query': 'ASK { ?s ?p ?o }'})}")
        assert reply.status == 200
        assert json.loads(reply.body)["boolean"] is True
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
