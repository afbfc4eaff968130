"""``ketamine-ed-kg serve``: builds if needed, serves on 127.0.0.1 and prints its URL.

It runs in the session's built copy of the checkout (``built_dataset``), so it finds the build
up to date and never writes into this checkout's ``build/``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

from support.project import BuiltDataset
from support.server import free_port, request, stop_process


def test_serve_prints_its_url_and_answers(built_dataset: BuiltDataset) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETAMINE_ED_KG_")}
    cli = Path(sys.executable).parent / "ketamine-ed-kg"
    root = built_dataset.checkout.root
    proc = subprocess.Popen([str(cli), "--root", str(root), "serve", "--port", str(port)],
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
        stop_process(proc, signal.SIGINT)
