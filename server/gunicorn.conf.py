"""gunicorn configuration for running the service by hand:

    gunicorn -c server/gunicorn.conf.py server.wsgi:application

``ketamine-ed-kg serve`` starts gunicorn with the same settings from Python
(``ketamine_ed_kg.server.run.gunicorn_options``). Each gunicorn worker process builds its own
app, hence its own zygote and query processes; threads stream responses while queries run in
the killable workers. Chosen over waitress by measurement on 2 cores (docs/benchmarks.md).
"""

import os

_host = os.environ.get("KETAMINE_ED_KG_HOST", "127.0.0.1")
bind = f"{_host}:{os.environ.get('KETAMINE_ED_KG_PORT', '5000')}"
worker_class = "gthread"
workers = int(os.environ.get("KETAMINE_ED_KG_GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("KETAMINE_ED_KG_THREADS", "8"))
# The query deadline is enforced by killing query processes; the HTTP worker must outlive it.
timeout = int(float(os.environ.get("KETAMINE_ED_KG_DEADLINE", "30")) * 10 + 30)
graceful_timeout = 10
preload_app = False
accesslog = "-"
