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
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fail-on", type=click.Choice(["ERROR", "WARN", "INFO", "none"]), default="ERROR",
              show_default=True, help="Exit 1 when a problem of this level or worse is found.")
@click.option("--list", "list_level", type=click.Choice(["ERROR", "WARN", "INFO"]),
              default="WARN", show_default=True, help="List problems of this level or worse.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write every problem, as ROBOT's TSV report, here.")
@pass_ctx
def report(ctx: _Context, files: tuple[Path, ...], fail_on: str, list_level: str,
           output: Path | None) -> None:
    """OBO report (ROBOT's `report` checks, queries/report/) on FILES, by default on every
    file of the current release (build/current).

    Exit status: 0 nothing at --fail-on or worse, 1 otherwise, 2 usage or parse error.
    """
    from .build import RELEASE_FILES
    from .release import resolve_release
    from .validation import load_report_queries, report_file
    from .validation.obo_report import LEVELS, render_tsv

    queries = load_report_queries(ctx.paths.report_queries_dir)
    if not files:
        release = resolve_release(ctx.paths.build_dir)
        files = tuple(release / name for name in RELEASE_FILES)
    reports = [report_file(path, queries) for path in files]
    for one in reports:
        for row in one.at_least(list_level):
            click.echo(row.tsv())
        counts = one.counts()
        click.echo(f"{one.path}: " + ", ".join(f"{counts[lvl]} {lvl}" for lvl in LEVELS))
    if output is not None:
        output.write_text(render_tsv(reports), encoding="utf-8")
    failing = 0 if fail_on == "none" else sum(len(r.at_least(fail_on)) for r in reports)
    if failing:
        raise DataError(f"{failing} problem(s) at level {fail_on} or worse in "
                        f"{len(reports)} file(s) ({len(queries)} rules)")


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
@click.option("--port", type=int, default=None, help="TCP port (default 5000).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="TOML or INI configuration file (see docs/configuration.md).")
@pass_ctx
def serve(ctx: _Context, host: str | None, port: int | None, config_file: Path | None) -> None:
    """Build if needed, then serve the SPARQL 1.1 endpoint (gunicorn) and print its URL.

    The release to serve is resolved once, here: the configuration every HTTP process is
    built from names ``build/releases/<digest>/dataset.nq``, so a process gunicorn respawns
    after a rebuild still serves the same version (restart to serve a new build).
    """
    from dataclasses import replace

    from .build import build as run_build
    from .config import load_config
    from .release import DATASET_FILE, hold_release, pin_current, pin_dataset
    from .server.run import serve as run_server

    config = load_config({"host": host, "port": port, "config_file": config_file})
    if config.dataset is None:
        run_build(ctx.paths, progress=_progress)
        hold = pin_current(ctx.paths.build_dir)
        dataset = hold.path / DATASET_FILE
    else:
        dataset = pin_dataset(config.dataset)
        hold = hold_release(dataset.parent)
    with hold:  # a later build must not prune the release this server is pinned to
        click.echo(f"  dataset {dataset}", err=True)
        run_server(replace(config, dataset=dataset),
                   announce=lambda url: click.echo(f"serving {url}", err=False))


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


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--triples", default="100k", show_default=True,
              help="About how many asserted triples: 10k, 100k, 1M, 5M or a number.")
@click.option("--seed", default=0, show_default=True, help="Same seed and size, same graph.")
@pass_ctx
def synth(ctx: _Context, folder: Path, triples: str, seed: int) -> None:
    """Write a project folder with a seeded synthetic graph shaped like the curated one (for
    benchmarks); build and serve it with ``ketamine-ed-kg --root FOLDER build | serve``."""
    from .synthetic import generate, parse_size

    stats = generate(ctx.paths, folder, parse_size(triples), seed)
    click.echo(f"wrote {stats.triples} triples ({stats.copies} study copies, seed {seed}) "
               f"in {len(stats.files)} files under {folder / 'graph' / 'synthetic'}")


@cli.group()
def ledger() -> None:
    """The sentence ledgers of graph/ledger/: every sentence of a source text backs a claim or
    is excused with a reason (docs/ledger.md)."""


_TEXTS = click.option(
    "--texts", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
    help="Folder of the source texts, named by kedo:fileName (default: ../shared/seeds).")


def _texts_dir(ctx: _Context, texts: Path | None) -> Path:
    folder = texts if texts is not None else ctx.paths.shared_dir / "seeds"
    if not folder.is_dir():
        raise DataError(f"no source texts at {folder}; give --texts DIR")
    return folder


@ledger.command("check")
@_TEXTS
@pass_ctx
def ledger_check(ctx: _Context, texts: Path | None) -> None:
    """Hold every ledger against its text and claims; print coverage per source.

    Exit status: 0 every sentence covered or excused, 1 otherwise.
    """
    from .ledger import check_all, render_reports
    from .loading import load_data

    folder = _texts_dir(ctx, texts)
    reports = check_all(load_data(ctx.paths.graph_files()), folder, ctx.paths.ledger_dir)
    for report in reports:
        for problem in report.problems:
            click.echo(f"{report.source}: {problem}")
    click.echo(render_reports(reports), nl=False)
    problems = sum(len(report.problems) for report in reports)
    if problems:
        raise DataError(f"{problems} ledger problem(s); see above")


@ledger.command("draft")
@click.argument("source")
@_TEXTS
@pass_ctx
def ledger_draft(ctx: _Context, source: str, texts: Path | None) -> None:
    """Write graph/ledger/SOURCE.tsv (SOURCE like source-005): sentences a claim quotes are
    covered, excuses already in the file are kept, every other sentence is todo."""
    from .ledger import check, draft, find_source, ledger_path, read_ledger, render_ledger
    from .loading import load_data

    folder = _texts_dir(ctx, texts)
    found = find_source(load_data(ctx.paths.graph_files()), source)
    text_file = folder / found.file_name
    if not text_file.is_file():
        raise DataError(f"no text {text_file} for ked:{found.name}")
    text = text_file.read_text(encoding="utf-8")
    path = ledger_path(ctx.paths.ledger_dir, found)
    existing = read_ledger(path) if path.is_file() else []
    entries = draft(text, found, existing)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_ledger(found, entries), encoding="utf-8")
    report = check(text, found, entries)
    todo = sum(1 for entry in entries if entry.status == "todo")
    click.echo(f"wrote {path}: {report.sentences} sentences, {report.covered} covered, "
               f"{sum(report.excused.values())} excused, {todo} todo")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map project errors to exit statuses."""
    try:
        cli.main(args=argv, prog_name="ketamine-ed-kg", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
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
