"""gunicorn configuration for running the service by hand:

    gunicorn -c server/gunicorn.conf.py server.wsgi:application

Every setting comes from ``ketamine_ed_kg.server.run.gunicorn_options`` applied to the service
configuration (``KETAMINE_ED_KG_*`` variables and the file named by ``KETAMINE_ED_KG_CONFIG``,
see docs/configuration.md), the same function ``ketamine-ed-kg serve`` uses, so the two cannot
drift apart. ``server/wsgi.py`` builds the app from the same configuration. Each gunicorn
process builds its own app, hence its own zygote and query processes.

The release is resolved once, here, and pinned through ``KETAMINE_ED_KG_DATASET``: a process
gunicorn respawns after a rebuild still serves the version the others serve.
"""

import os

from ketamine_ed_kg.config import load_config
from ketamine_ed_kg.server.run import gunicorn_options

_config = load_config()
os.environ["KETAMINE_ED_KG_DATASET"] = str(_config.dataset_path())
globals().update(gunicorn_options(_config))
