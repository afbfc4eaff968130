"""The ``ketamine-ed-kg validate`` command: report layout, output formats and exit statuses.

Each test builds a small project (the real ontology, shapes and QC queries; a graph written
here from facts seed 003 states) so that the expected statuses do not depend on the curated
graph of the day.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import RDF

from ketamine_ed_kg.namespaces import SH
from ketamine_ed_kg.paths import ProjectPaths
from support.project import VALIDATION_SOURCES, copy_checkout, run_cli

PREFIXES = """\
@prefix kedo: <https://w3id.org/ketamine-ed/ontology/> .
@prefix ked: <https://w3id.org/ketamine-ed/resource/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
"""

SOURCES = PREFIXES + """
ked:source-003 a kedo:SourceDocument ;
    dcterms:title "Ketamine for Eating Disorders: History" ;
    dcterms:language "en"^^xsd:language ;
    kedo:documentKind kedo:EncyclopediaEntry ;
    kedo:fileName "003_d45dc2f78d13051a.txt" .
"""

# Seed 003, Table 1: "Dechant et al. [139] Case study N = 1, 29 AN-R + MDD IV ketamine,
# 9 x 0.5 mg/kg over 40 min Partial remission: depression and suicidality".
DECHANT = PREFIXES + """
ked:dechant-undated a kedo:HumanStudy ;
    kedo:hasDesign kedo:CaseReportDesign ;
    kedo:describedIn ked:source-003 ;
    kedo:referenceNumberIn "[139]" ;
    kedo:hasRegimen ked:dechant-undated-regimen ;
    kedo:hasOutcome ked:dechant-undated-outcome .

ked:dechant-undated-ketamine a kedo:Ketamine .

ked:dechant-undated-regimen a kedo:DosingRegimen ;
    kedo:hasDrug ked:dechant-undated-ketamine ;
    kedo:route kedo:Intravenous ;
    kedo:hasDose [ a kedo:Dose ; kedo:doseValue 0.5 ; kedo:doseUnit kedo:MilligramPerKilogram ] ;
    kedo:sessionCountMin 9 ; kedo:sessionCountMax 9 .

ked:dechant-undated-outcome a kedo:Outcome ;
    kedo:outcomeOf ked:dechant-undated ;
    kedo:responseCategory kedo:PartialRemission .

ked:dechant-undated-claim-table a kedo:Claim ;
    kedo:source ked:source-003 ;
    kedo:quote "IV ketamine, 9 × 0.5 mg/kg over 40 min"@en ;
    kedo:about ked:dechant-undated-regimen .
"""

# Seed 003: Mills et al. [136], "IV ketamine, 2-15 x 20 mg/h over 10 h"; the route misspelt.
MILLS_MISSPELT = PREFIXES + """
ked:mills-1998 a kedo:HumanStudy ;
    kedo:hasDesign kedo:CaseSeriesDesign ;
    kedo:describedIn ked:source-003 ;
    kedo:publicationYear 1998 ;
    kedo:hasRegimen ked:mills-1998-regimen ;
    kedo:hasOutcome ked:mills-1998-outcome .

ked:mills-1998-ketamine a kedo:Ketamine .

ked:mills-1998-regimen a kedo:DosingRegimen ;
    kedo:hasDrug ked:mills-1998-ketamine ;
    kedo:route kedo:Intravenus ;
    kedo:hasDose [ a kedo:Dose ; kedo:doseValue 20.0 ; kedo:doseUnit kedo:MilligramPerHour ] .

ked:mills-1998-outcome a kedo:Outcome ;
    kedo:outcomeOf ked:mills-1998 ;
    kedo:responseCategory kedo:PartialRemission .
"""


@pytest.fixture
def project(tmp_path: Path, sources: ProjectPaths) -> Path:
    """A project with the real ontology, shapes and QC queries and a two-file graph."""
    copy_checkout(sources, tmp_path, VALIDATION_SOURCES)
    (tmp_path / "graph" / "shared").mkdir(parents=True)
    (tmp_path / "graph" / "studies").mkdir()
    (tmp_path / "graph" / "shared" / "sources.ttl").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "graph" / "studies" / "dechant-undated.ttl").write_text(DECHANT, encoding="utf-8")
    return tmp_path


def _line_of(text: str, start: str) -> int:
    """1-based number of the line of ``text`` that starts with ``start``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def run(root: Path, *args: str) -> int:
    return run_cli(root, "validate", *args)


def test_valid_graph_exits_0_and_says_so(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("conforms: 0 violation(s), 0 warning(s), 1 note(s)")
    # The note: no source dates Dechant et al.
    assert "ked:dechant-undated  (graph/studies/dechant-undated.ttl:6)" in out
    assert "Info" in out and "kedo:publicationYear" in out


def test_violation_exits_1_with_file_line_node_path_value_message(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = project / "graph" / "studies" / "mills-1998.ttl"
    bad.write_text(MILLS_MISSPELT, encoding="utf-8")
    assert run(project) == 1
    captured = capsys.readouterr()
    out = captured.out
    lines = out.splitlines()
    # Grouped by file, then by node (the node's line is where its description starts).
    line = _line_of(MILLS_MISSPELT, "ked:mills-1998-regimen a")
    header = f"  ked:mills-1998-regimen  (graph/studies/mills-1998.ttl:{line})"
    assert "graph/studies/mills-1998.ttl" in lines
    assert header in lines
    entry = lines.index(header)
    block = "\n".join(lines[entry:entry + 5])
    assert "Violation" in block and "path: kedo:route" in block
    assert "value: kedo:Intravenus" in block
    assert "kedo:Intravenous" in block  # the message names the right spelling
    assert "unknown-term" not in block and "misspelling" in block  # the QC query's description
    assert "error: 2 violation(s)" in captured.err


def test_files_argument_reports_only_those_files(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = project / "graph" / "studies" / "mills-1998.ttl"
    bad.write_text(MILLS_MISSPELT, encoding="utf-8")
    good = project / "graph" / "studies" / "dechant-undated.ttl"
    assert run(project, str(good)) == 0
    out = capsys.readouterr().out
    assert "mills-1998" not in out
    assert run(project, str(bad)) == 1
    out = capsys.readouterr().out
    assert "mills-1998-regimen" in out and "dechant" not in out


def test_warnings_alone_exit_0(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Seed 003 prints "4 g of sublingual ondansetron": a Warning, not a failure."""
    (project / "graph" / "studies" / "scolnick-2020.ttl").write_text(PREFIXES + """
ked:scolnick-2020 a kedo:HumanStudy ;
    kedo:hasDesign kedo:CaseReportDesign ;
    kedo:describedIn ked:source-003 ;
    kedo:publicationYear 2020 ;
    kedo:hasRegimen ked:scolnick-2020-ondansetron-regimen ;
    kedo:hasOutcome ked:scolnick-2020-outcome .
ked:scolnick-2020-outcome a kedo:Outcome ; kedo:outcomeOf ked:scolnick-2020 .
ked:scolnick-2020-ondansetron a kedo:Ondansetron .
ked:scolnick-2020-ondansetron-regimen a kedo:DosingRegimen ;
    kedo:hasDrug ked:scolnick-2020-ondansetron ;
    kedo:route kedo:Sublingual ;
    kedo:hasDose ked:scolnick-2020-ondansetron-dose .
ked:scolnick-2020-ondansetron-dose a kedo:Dose ;
    kedo:doseValue 4.0 ; kedo:doseUnit kedo:Gram .
""", encoding="utf-8")
    assert run(project) == 0
    out = capsys.readouterr().out
    assert "1 warning(s)" in out
    assert "ked:scolnick-2020-ondansetron-dose" in out and "Warning" in out


def test_qc_rows_are_violations_located_in_the_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Scolnick et al. titrated 0.75 -> 1.0 mg/kg (seed 003); the steps entered reversed."""
    text = PREFIXES + """
ked:scolnick-2020 a kedo:HumanStudy ;
    kedo:hasDesign kedo:CaseReportDesign ;
    kedo:describedIn ked:source-003 ;
    kedo:publicationYear 2020 ;
    kedo:hasRegimen ked:scolnick-2020-regimen ;
    kedo:hasOutcome ked:scolnick-2020-outcome .
ked:scolnick-2020-outcome a kedo:Outcome ; kedo:outcomeOf ked:scolnick-2020 .
ked:scolnick-2020-ketamine a kedo:Ketamine .
ked:scolnick-2020-regimen a kedo:DosingRegimen ;
    kedo:hasDrug ked:scolnick-2020-ketamine ;
    kedo:route kedo:Intravenous ;
    kedo:hasTitrationStep
        [ kedo:stepIndex 1 ; kedo:doseValue 1.0 ; kedo:doseUnit kedo:MilligramPerKilogram ] ,
        [ kedo:stepIndex 2 ; kedo:doseValue 0.75 ; kedo:doseUnit kedo:MilligramPerKilogram ] .
"""
    (project / "graph" / "studies" / "scolnick-2020.ttl").write_text(text, encoding="utf-8")
    assert run(project) == 1
    out = capsys.readouterr().out
    line = _line_of(text, "ked:scolnick-2020-regimen a")
    assert f"  ked:scolnick-2020-regimen  (graph/studies/scolnick-2020.ttl:{line})" in out
    assert "does not increase" in out and "Step 2 (0.75) is not above step 1" in out


def test_syntax_error_exits_2_naming_file_and_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = project / "graph" / "studies" / "broken.ttl"
    broken.write_text(PREFIXES + "\nked:x a kedo:HumanStudy ;\n    kedo:hasDesign .\n",
                      encoding="utf-8")
    assert run(project) == 2
    err = capsys.readouterr().err
    assert f"{broken}:7" in err and "syntax error" in err


def test_usage_errors_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, str(project / "graph" / "no-such-file.ttl")) == 2
    assert run(project, "--format", "xml") == 2
    capsys.readouterr()


@pytest.mark.parametrize("fmt", ["turtle", "json-ld"])
def test_machine_readable_report(
    project: Path, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "graph" / "studies" / "mills-1998.ttl").write_text(MILLS_MISSPELT, encoding="utf-8")
    out_file = tmp_path / f"report.{fmt}"
    assert run(project, "--format", fmt, "--output", str(out_file)) == 1
    assert "does NOT conform" in capsys.readouterr().out  # the text summary still shown
    report: Graph = Graph()
    if fmt == "json-ld":
        json.loads(out_file.read_text(encoding="utf-8"))
        # rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph internally.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            report.parse(data=out_file.read_text(encoding="utf-8"), format=fmt)
    else:
        report.parse(out_file, format=fmt)
    (node,) = report.subjects(RDF.type, SH.ValidationReport)
    conforms = report.value(node, SH.conforms)
    assert isinstance(conforms, Literal) and conforms.toPython() is False
    results = list(report.objects(node, SH.result))
    # The misspelt route (shape), the same term (QC) and the undated Dechant note.
    assert len(results) == 3
    severities = sorted(str(report.value(r, SH.resultSeverity)).rsplit("#")[-1] for r in results)
    assert severities == ["Info", "Violation", "Violation"]


def test_report_to_stdout_in_turtle(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, "--format", "turtle") == 0
    report = Graph().parse(data=capsys.readouterr().out, format="turtle")
    assert len(list(report.subjects(RDF.type, SH.ValidationResult))) == 1
