"""WSGI entry point: ``application`` for any WSGI server.

    gunicorn -c server/gunicorn.conf.py server.wsgi:application
    waitress-serve --port 5000 server.wsgi:application   (or: ketamine-ed-kg serve)

Configuration comes from ``KETAMINE_ED_KG_*`` variables and ``KETAMINE_ED_KG_CONFIG`` (see
docs/configuration.md). The build must have run (``ketamine-ed-kg build``).
"""

from ketamine_ed_kg.server import create_app

application = create_app()
