"""ketamine-ed-kg: a knowledge graph of ketamine treatment of eating disorders.

The package holds all the Python code; the top-level folders ``ontology/``, ``graph/``,
``shapes/`` and ``queries/`` hold the data curators edit, and ``server/`` the WSGI entry point.
"""

__version__ = "0.1.0"
