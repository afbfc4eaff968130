"""The ``ketamine-ed-kg`` command line.

Each sub-command is thin: it parses options, calls one module and turns the project's errors
into a message on stderr and a documented exit status (0 success, 1 the data is wrong,
2 usage or parse error).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import DataError, KedError, SourceParseError
from .paths import ProjectPaths, project_paths


def _progress(message: str) -> None:
    click.echo(f"  {message}", err=True)


class _Context:
    def __init__(self, root: Path | None) -> None:
        self.paths: ProjectPaths = project_paths(root)


pass_ctx = click.make_pass_decorator(_Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Project checkout to use (default: this checkout or $KETAMINE_ED_KG_ROOT).")
@click.version_option(package_name="ketamine-ed-kg")
@click.pass_context
def cli(ctx: click.Context, root: Path | None) -> None:
    """Build, check and serve the ketamine and eating disorders knowledge graph."""
    ctx.obj = _Context(root)


@cli.command()
@click.option("--force", is_flag=True, help="Rebuild even if the sources have not changed.")
@pass_ctx
def build(ctx: _Context, force: bool) -> None:
    """Write a release (Turtle, N-Triples, RDF/XML, JSON-LD, N-Quads) to build/releases/ and
    switch build/current to it; old releases beyond the last few are pruned."""
    from .build import build as run_build

    result = run_build(ctx.paths, force=force, progress=_progress)
    state = "built" if result.rebuilt else "up to date"
    click.echo(f"{state}: version {result.version} in {result.seconds:.2f} s")
    for key, value in result.counts.items():
        click.echo(f"  {key}: {value}")
    for path in result.files:
        click.echo(f"  {path.relative_to(ctx.paths.root)}")


@cli.command()
@pass_ctx
def stats(ctx: _Context) -> None:
    """Count instances per class (asserted and inferred types)."""
    from .loading import load_sources
    from .stats import class_counts

    ontology, data = load_sources(ctx.paths)
    rows = class_counts(ontology, data)
    width = max((len(name) for name, _ in rows), default=10)
    click.echo(f"{'class'.ljust(width)}  instances")
    for name, count in rows:
        click.echo(f"{name.ljust(width)}  {count}")
    click.echo(f"{'(triples)'.ljust(width)}  {len(data)} asserted, {len(ontology)} ontology")


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "turtle", "json-ld"]), default="text",
              show_default=True, help="Text for curators, or an sh:ValidationReport graph.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report here (the text summary still goes to stdout).")
@click.option("--inference", type=click.Choice(["none", "rdfs"]), default="none", show_default=True,
              help="pyshacl inference; the ontology graph already gives sh:class its subclasses.")
@pass_ctx
def validate(ctx: _Context, files: tuple[Path, ...], fmt: str, output: Path | None,
             inference: str) -> None:
    """Check the graph (or FILES, with graph/shared as context) against shapes/ and the QC queries.

    Exit status: 0 conforms (warnings and notes allowed), 1 violations, 2 usage or parse error.
    """
    from .validation import render_text, validate_project

    outcome = validate_project(ctx.paths, list(files) or None,
                               inference="rdfs" if inference == "rdfs" else "none")
    text = render_text(outcome, ctx.paths.root)
    body = text if fmt == "text" else outcome.report.serialize(format=fmt)
    if output is not None:
        output.write_text(body, encoding="utf-8")
        if fmt != "text":
            click.echo(text, nl=False)
    else:
        click.echo(body, nl=False)
    if not outcome.conforms:
        count = outcome.count("Violation")
        raise DataError(f"{count} violation(s); fix them and run validate again")


@cli.command()
@click.option("--ontology-only", is_flag=True, help="Reason over the ontology without graph/.")
@pass_ctx
def reason(ctx: _Context, ontology_only: bool) -> None:
    """Run HermiT: consistency, unsatisfiable classes, inferred hierarchy, timings.

    Exit status: 0 consistent with no unsatisfiable class, 1 otherwise, 2 when Java is missing.
    """
    from .reasoning import reason as run_reasoner
    from .reasoning import render_text

    result = run_reasoner(ctx.paths, include_data=not ontology_only, progress=_progress)
    click.echo(render_text(result), nl=False)
    result.raise_for_problems()


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None,
              help="TCP port (default 5000; 0: a free port, printed with the URL).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="TOML or INI configuration file (see docs/configuration.md).")
@pass_ctx
def serve(ctx: _Context, host: str | None, port: int | None, config_file: Path | None) -> None:
    """Build if needed, then serve the SPARQL 1.1 endpoint (gunicorn) and print its URL.

    The port is bound first, so a busy one is reported before the build. The release to
    serve is resolved once, here: the configuration every HTTP process is built from names
    ``build/releases/<digest>/dataset.nq``, so a process gunicorn respawns after a rebuild
    still serves the same version (restart to serve a new build). Ctrl-C (SIGINT) or SIGTERM
    stops it with one line, ``stopped serving <url>``, and exit status 0: a stop that was
    asked for is a success.
    """
    from dataclasses import replace

    from .build import build as run_build
    from .config import load_config
    from .release import DATASET_FILE, hold_release, pin_current, pin_dataset
    from .server.run import listen
    from .server.run import serve as run_server

    config = load_config({"host": host, "port": port, "config_file": config_file})
    served: list[str] = []

    def announce(url: str) -> None:
        served.append(url)
        click.echo(f"serving {url}")

    # Closed here if the build fails; once serving, the server owns it (closing is a no-op).
    with listen(config.host, config.port) as listener:
        if config.dataset is None:
            run_build(ctx.paths, progress=_progress)
            hold = pin_current(ctx.paths.build_dir)
            dataset = hold.path / DATASET_FILE
        else:
            dataset = pin_dataset(config.dataset)
            hold = hold_release(dataset.parent)
        with hold:  # a later build must not prune the release this server is pinned to
            click.echo(f"  dataset {dataset}", err=True)
            run_server(replace(config, dataset=dataset), announce=announce, listener=listener,
                       quiet=True)
    click.echo(f"stopped serving {served[0]}" if served else "stopped", err=True)


@cli.command()
@click.option("--write-docs", is_flag=True, help="Also regenerate docs/queries.md.")
@pass_ctx
def queries(ctx: _Context, write_docs: bool) -> None:
    """Run every example query on the built graph and compare it with its expected answer."""
    from .build import build as run_build
    from .build import dataset_file
    from .examples import check_examples, load_examples, render_markdown
    from .store import open_store

    examples = load_examples(ctx.paths.queries_dir)
    if write_docs:
        target = ctx.paths.queries_doc
        target.write_text(render_markdown(examples), encoding="utf-8")
        click.echo(f"wrote {target.relative_to(ctx.paths.root)}")
    run_build(ctx.paths, progress=_progress)
    report = check_examples(open_store(dataset_file(ctx.paths)), examples)
    for example, problems in report:
        click.echo(f"{'PASS' if not problems else 'FAIL'}  {example.name}")
        for line in problems:
            click.echo(f"      {line}")
    passed = sum(1 for _, problems in report if not problems)
    click.echo(f"{passed}/{len(report)} queries match their expected answers")
    if passed != len(report):
        raise DataError(f"{len(report) - passed} example queries disagree with their expected "
                        "answers (see above)")

def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map project errors to exit statuses."""
    try:
        cli.main(args=argv, prog_name="ketamine-ed-kg", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        # Ctrl-C during a command (a build, a validation): one line, the shell's status 130.
        click.echo("interrupted", err=True)
        sys.exit(130)
    except SourceParseError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except DataError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KedError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
