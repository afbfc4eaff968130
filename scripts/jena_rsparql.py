#!/usr/bin/env python3
"""Write ``clients/jena/rsparql``: Apache Jena's ``rsparql`` from Debian's ``libapache-jena-java``.

Debian packages Jena 4.5.0 as jars only (no ``bin/`` scripts, no ``Class-Path`` in the
manifests), so the command is ``java -cp <jars> arq.rsparql``. This script builds that class
path and works around the package's Xerces resource bug (docs/clients.md has the details):

* **The class path.** The jars of ``libapache-jena-java`` and of every Java package it depends
  on, recursively, as dpkg lists them, each once. ``libslf4j-java`` ships every SLF4J binding and
  bridge, and with all of them on the class path SLF4J refuses to start ("Detected both
  log4j-over-slf4j.jar AND bound slf4j-log4j12.jar"): only ``slf4j-api`` and ``slf4j-simple``
  are kept.
* **The Xerces resources.** Jena carries a copy of Xerces' datatype code. Upstream it lives in
  ``org.apache.jena.ext.xerces``; Debian's build moves the classes to the package ``xerces``
  but leaves their message resources under ``org/apache/jena/ext/xerces/``, so the classes look
  for ``xerces.impl.xpath.regex.message`` and ``xerces.impl.msg.XMLSchemaMessages`` and find
  nothing. The first use of an XSD datatype (every Jena command, at start-up) then fails::

      java.lang.ExceptionInInitializerError
        at xerces.impl.dv.SchemaDVFactory.<clinit>(SchemaDVFactory.java:45)
        ...
      Caused by: java.lang.RuntimeException: internal error
        at xerces.impl.dv.xs.XSSimpleTypeDecl.applyFacets1(XSSimpleTypeDecl.java:768)

  The workaround copies those ``.properties`` files out of ``jena-core.jar`` to where the
  classes look (``clients/jena/xerces-resources/xerces/...``) and puts that folder first on
  the class path. Nothing in the system's jars is changed.

The wrapper also passes ``-XX:-UsePerfData`` (no ``/tmp/hsperfdata_*`` file) and
``-Djava.io.tmpdir=$TMPDIR``, so a test that sets ``TMPDIR`` keeps Java's files in it.

Run by ``scripts/setup.sh`` when the wrapper is missing or older than Jena's jars or than this
script. Usage: ``python3 scripts/jena_rsparql.py [--out clients/jena]``.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE = "libapache-jena-java"
JAVA_DIR = Path("/usr/share/java")
MAIN = "arq.rsparql"
SLF4J_KEPT = {"slf4j-api", "slf4j-simple"}
"""Of libslf4j-java's jars, the API and one binding (the others fight each other)."""
SLF4J_DROPPED = re.compile(r"^(slf4j-[a-z0-9]+|log4j-over-slf4j|jcl-over-slf4j|jul-to-slf4j)$")
VERSION = re.compile(r"-[0-9][A-Za-z0-9.~+-]*$")
"""A version at the end of a jar's name (slf4j-nop-1.7.32, guava-31.1-jre)."""
XERCES_UPSTREAM = "org/apache/jena/ext/xerces/"
"""Where Debian's jena-core.jar keeps the Xerces resources (upstream's package)."""
XERCES_DEBIAN = "xerces/"
"""Where Debian's relocated Xerces classes look for them."""


def dpkg(*args: str) -> str:
    return subprocess.run(["dpkg-query", *args], check=True, capture_output=True,
                          text=True).stdout


def java_packages(root: str) -> list[str]:
    """``root`` and the Java library packages it depends on, recursively (dpkg's view)."""
    seen: list[str] = []
    queue = [root]
    while queue:
        package = queue.pop(0)
        if package in seen:
            continue
        seen.append(package)
        depends = dpkg("-W", "-f=${Depends}", package)
        for clause in depends.split(","):
            name = clause.split("|")[0].split("(")[0].split(":")[0].strip()
            if name.startswith("lib") and name.endswith("-java") and name not in seen:
                queue.append(name)
    return seen


def jars(packages: list[str]) -> list[Path]:
    """The jars in /usr/share/java that ``packages`` install, each real file once."""
    found: dict[Path, Path] = {}
    for package in packages:
        for line in dpkg("-L", package).splitlines():
            path = Path(line)
            if path.parent != JAVA_DIR or path.suffix != ".jar" or not path.exists():
                continue
            stem = VERSION.sub("", path.stem)
            if SLF4J_DROPPED.match(stem) and stem not in SLF4J_KEPT:
                continue
            real = path.resolve()
            # Prefer the unversioned name (foo.jar over foo-1.2.jar): both are the same file.
            if real not in found or len(path.name) < len(found[real].name):
                found[real] = path
    return sorted(found.values())


def copy_xerces_resources(jena_core: Path, target: Path) -> int:
    """Copy jena-core's Xerces ``.properties`` to the package its classes use; return how many."""
    count = 0
    with zipfile.ZipFile(jena_core) as archive:
        for name in archive.namelist():
            if name.startswith(XERCES_UPSTREAM) and name.endswith(".properties"):
                dest = target / XERCES_DEBIAN / name[len(XERCES_UPSTREAM):]
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(archive.read(name))
                count += 1
    return count


def wrapper(classpath: list[str], version: str) -> str:
    cp = shlex.quote(":".join(classpath))
    return (
        "#!/bin/sh\n"
        f"# Apache Jena rsparql {version} (Debian's {PACKAGE}), written by scripts/setup.sh\n"
        "# (scripts/jena_rsparql.py): Debian's jars plus the Xerces resources it misplaces.\n"
        f'exec java -XX:-UsePerfData "-Djava.io.tmpdir=${{TMPDIR:-/tmp}}" -cp {cp} '
        f'{MAIN} "$@"\n'
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent.parent / "clients" / "jena")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    try:
        version = dpkg("-W", "-f=${Version}", PACKAGE).strip()
    except subprocess.CalledProcessError:
        print(f"jena_rsparql: {PACKAGE} is not installed (apt-get install {PACKAGE})",
              file=sys.stderr)
        return 1
    found = jars(java_packages(PACKAGE))
    jena_core = JAVA_DIR / "jena-core.jar"
    resources = out / "xerces-resources"
    shutil.rmtree(resources, ignore_errors=True)
    resources.mkdir(parents=True, exist_ok=True)
    if copy_xerces_resources(jena_core, resources) == 0:
        print(f"jena_rsparql: no Xerces resources under {XERCES_UPSTREAM} in {jena_core}",
              file=sys.stderr)
        return 1
    script = out / "rsparql"
    script.write_text(wrapper([str(resources), *map(str, found)], version), encoding="utf-8")
    script.chmod(0o755)
    return 0


if __name__ == "__main__":
    sys.exit(main())
