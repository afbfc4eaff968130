"""The ontology file: OBO conventions, the data-model contract, OWL 2 DL hygiene, mappings.

Expected values come from docs/data-model.md (the contract), from the seed documents and from
the identifier table in ../shared, never from the ontology itself.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from ketamine_ed_kg.namespaces import IAO_DEFINITION, KEDO, OBOINOWL, ONTOLOGY_IRI
from ketamine_ed_kg.paths import ProjectPaths
from support.project import Curated

ENTITY_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty,
                OWL.NamedIndividual)
PROPERTY_TYPES = (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
# RDF, RDFS and OWL built-ins need no declaration (rdfs:label, rdfs:comment, rdfs:seeAlso are
# built-in annotation properties).
BUILT_IN = (str(RDF), str(RDFS), str(OWL))


@pytest.fixture(scope="module")
def onto(curated: Curated) -> Graph:
    return curated.ontology


def kedo_entities(g: Graph) -> set[URIRef]:
    return {
        s for t in ENTITY_TYPES for s in g.subjects(RDF.type, t)
        if isinstance(s, URIRef) and str(s).startswith(str(KEDO))
    }


def data_model_terms(sources: ProjectPaths) -> set[str]:
    text = (sources.root / "docs" / "data-model.md").read_text(encoding="utf-8")
    return set(re.findall(r"`kedo:([A-Za-z][A-Za-z0-9_-]*)`", text))


# --- the data-model contract -------------------------------------------------------------


def test_every_data_model_term_is_declared(onto: Graph, sources: ProjectPaths) -> None:
    terms = data_model_terms(sources)
    assert len(terms) > 300, "the data model names a few hundred kedo: terms"
    declared = {str(e)[len(str(KEDO)):] for e in kedo_entities(onto)}
    assert sorted(terms - declared) == []


def test_data_model_hierarchy_is_asserted(onto: Graph) -> None:
    # Parent/child pairs the data model states in words or with ⊑ / →.
    pairs = [
        ("HumanStudy", "Study"), ("AnimalStudy", "Study"), ("LiteratureReview", "Study"),
        ("TitrationStep", "Dose"), ("AnorexiaNervosaRestrictingType", "AnorexiaNervosa"),
        ("AnorexiaNervosaBingePurgeType", "AnorexiaNervosa"), ("BulimiaNervosaBingePurgeType",
        "BulimiaNervosa"), ("EDNOSBingePurgeType", "OtherSpecifiedEatingDisorder"),
        ("TreatmentResistantDepression", "MajorDepressiveDisorder"),
        ("AlcoholUseDisorder", "SubstanceUseDisorder"), ("Esketamine", "Ketamine"),
        ("Nalmefene", "OpioidAntagonist"), ("Ondansetron", "Antiemetic"),
        ("KetamineAssistedPsychotherapy", "Psychotherapy"),
        ("KetogenicDiet", "DietaryIntervention"),
        ("ElectroconvulsiveTherapy", "Neuromodulation"), ("ResidentialTreatment", "HospitalCare"),
        ("Synaptogenesis", "Mechanism"), ("Diagnosis", "MentalDisorder"),
    ]
    for sub, sup in pairs:
        assert (KEDO[sub], RDFS.subClassOf, KEDO[sup]) in onto, f"{sub} ⊑ {sup}"


# --- OBO conventions ---------------------------------------------------------------------


def test_every_term_has_one_english_label_and_one_definition(onto: Graph) -> None:
    entities = kedo_entities(onto)
    assert len(entities) > 300
    problems = []
    for e in sorted(entities):
        labels = list(onto.objects(e, RDFS.label))
        defs = list(onto.objects(e, IAO_DEFINITION))
        if len(labels) != 1 or not isinstance(labels[0], Literal) or labels[0].language != "en":
            problems.append(f"{e}: labels {labels}")
        if len(defs) != 1 or not str(defs[0]).strip():
            problems.append(f"{e}: definitions {defs}")
    assert problems == []


def test_labels_and_definitions_are_unique(onto: Graph) -> None:
    entities = kedo_entities(onto)
    labels = Counter(str(onto.value(e, RDFS.label)).lower() for e in entities)
    defs = Counter(str(onto.value(e, IAO_DEFINITION)) for e in entities)
    assert [k for k, n in labels.items() if n > 1] == []
    assert [k for k, n in defs.items() if n > 1] == []


PROPER_NAME_LABELS = {
    "Norwegian krone", "Eating Disorder Examination Questionnaire",
    "Patient Health Questionnaire-9",
    "Generalized Anxiety Disorder-7", "Montgomery-Asberg Depression Rating Scale",
    "Acceptance and Action Questionnaire-II", "Beck Depression Inventory",
    "Ketamine Side Effect Tool",
}


def test_labels_follow_obo_formatting(onto: Graph) -> None:
    for e in kedo_entities(onto):
        label = str(onto.value(e, RDFS.label))
        assert label == label.strip() and "  " not in label, e
        # Lower case, except an acronym or CamelCase name first (MDMA, PubMed, US) or a proper
        # name such as an instrument's title.
        first = label.split()[0]
        acronym = sum(ch.isupper() for ch in first) >= 2
        assert label[0].islower() or acronym or label in PROPER_NAME_LABELS, f"{e}: {label!r}"


def test_definitions_are_aristotelian_sentences(onto: Graph) -> None:
    for e in kedo_entities(onto):
        text = str(onto.value(e, IAO_DEFINITION))
        assert re.match(r"^(A|An|The) ", text), f"{e}: {text!r}"
        assert text.endswith("."), f"{e}: {text!r}"


def test_abbreviations_from_the_review_are_exact_synonyms(onto: Graph, shared_dir: Path) -> None:
    # Source 003's table legend spells these abbreviations out; each term must carry it.
    seed = next((shared_dir / "seeds").glob("003_*.txt")).read_text(encoding="utf-8")
    expected = {
        "AN-R": "AnorexiaNervosaRestrictingType", "AN-BP": "AnorexiaNervosaBingePurgeType",
        "BN-BP": "BulimiaNervosaBingePurgeType", "EDNOS-BP": "EDNOSBingePurgeType",
        "MDD": "MajorDepressiveDisorder", "TRD": "TreatmentResistantDepression",
        "OCD": "ObsessiveCompulsiveDisorder", "KAP": "KetamineAssistedPsychotherapy",
        "ARFID": "AvoidantRestrictiveFoodIntakeDisorder", "EDNOS": "OtherSpecifiedEatingDisorder",
    }
    for abbreviation, term in expected.items():
        assert re.search(rf"\b{re.escape(abbreviation)}\b", seed), abbreviation
        synonyms = {str(s) for s in onto.objects(KEDO[term], OBOINOWL.hasExactSynonym)}
        assert abbreviation in synonyms, term


# --- header ------------------------------------------------------------------------------


def test_header_has_dated_version_license_title_description(onto: Graph) -> None:
    ont = URIRef(ONTOLOGY_IRI)
    assert (ont, RDF.type, OWL.Ontology) in onto
    version_iri = str(onto.value(ont, OWL.versionIRI))
    match = re.fullmatch(
        r"https://w3id\.org/ketamine-ed/ontology/releases/(\d{4}-\d{2}-\d{2})/ketamine-ed\.owl",
        version_iri,
    )
    assert match, version_iri
    assert str(onto.value(ont, OWL.versionInfo)) == match.group(1)
    assert onto.value(ont, URIRef("http://purl.org/dc/terms/license")) == URIRef(
        "https://creativecommons.org/licenses/by/4.0/")
    for term in ("title", "description", "created", "creator"):
        value = onto.value(ont, URIRef(f"http://purl.org/dc/terms/{term}"))
        assert value is not None and str(value).strip(), term
    assert not list(onto.objects(ont, OWL.imports)), "imports would break offline opening"


def test_catalog_maps_ontology_iri_to_local_file(sources: ProjectPaths) -> None:
    import xml.etree.ElementTree as ET

    root = ET.parse(sources.ontology_dir / "catalog-v001.xml").getroot()
    uris = {el.get("name"): el.get("uri") for el in root.iter() if el.tag.endswith("uri")}
    assert uris.get(ONTOLOGY_IRI) == sources.ontology_file.name


# --- OWL 2 DL hygiene --------------------------------------------------------------------


def declared_properties(g: Graph) -> dict[URIRef, set[URIRef]]:
    kinds: dict[URIRef, set[URIRef]] = {}
    for t in PROPERTY_TYPES:
        for s in g.subjects(RDF.type, t):
            if isinstance(s, URIRef):
                kinds.setdefault(s, set()).add(t)
    return kinds


def test_no_iri_is_two_kinds_of_property(onto: Graph) -> None:
    mixed = {p: k for p, k in declared_properties(onto).items() if len(k) > 1}
    assert mixed == {}


def test_every_property_used_in_the_ontology_is_declared(onto: Graph) -> None:
    declared = set(declared_properties(onto))
    used = {p for p in onto.predicates() if not str(p).startswith(BUILT_IN)}
    assert sorted(map(str, used - declared)) == []


def test_every_property_used_in_the_graph_is_declared(curated: Curated) -> None:
    ontology, data = curated
    declared = set(declared_properties(ontology))
    used = {p for p in data.predicates() if not str(p).startswith(BUILT_IN)}
    assert sorted(map(str, used - declared)) == [], "declare them in ontology/ketamine-ed.ttl"


def test_every_kedo_iri_mentioned_is_declared(onto: Graph) -> None:
    mentioned = {
        n for triple in onto for n in triple
        if isinstance(n, URIRef) and str(n).startswith(str(KEDO))
        and not str(n).startswith(str(KEDO) + "releases/")
    }
    assert sorted(mentioned - kedo_entities(onto)) == []


def test_value_set_individuals_are_typed_with_a_value_set_class(onto: Graph) -> None:
    for ind in set(onto.subjects(RDF.type, OWL.NamedIndividual)):
        classes = [c for c in onto.objects(ind, RDF.type) if c != OWL.NamedIndividual]
        assert len(classes) == 1 and (classes[0], RDF.type, OWL.Class) in onto, ind


def test_property_characteristics_from_the_data_model(onto: Graph) -> None:
    assert (KEDO.conflictsWith, RDF.type, OWL.SymmetricProperty) in onto
    assert (KEDO.leadsToEventually, RDF.type, OWL.TransitiveProperty) in onto
    assert (KEDO.leadsTo, RDFS.subPropertyOf, KEDO.leadsToEventually) in onto
    for functional in (KEDO.source, KEDO.hasDesign, KEDO.hasDrug):
        assert (functional, RDF.type, OWL.FunctionalProperty) in onto, functional
    # Literal or IRI values: only an annotation property can carry both in OWL 2 DL.
    assert (KEDO.assertsValue, RDF.type, OWL.AnnotationProperty) in onto
    # Sources disagree on the antagonism type, so one mechanism may carry both values.
    assert (KEDO.antagonismType, RDF.type, OWL.FunctionalProperty) not in onto
    # kedo:about accepts any entity.
    assert onto.value(KEDO.about, RDFS.range) is None


def test_datatype_ranges(onto: Graph) -> None:
    expected: dict[URIRef, Node] = {
        KEDO.quote: RDF.PlainLiteral, KEDO.publicationYear: XSD.integer,
        KEDO.doseValue: XSD.decimal,
        KEDO.numericValue: XSD.decimal, KEDO.fileName: XSD.string, KEDO.onlyInSource: XSD.boolean,
    }
    for key, rng in expected.items():
        assert onto.value(key, RDFS.range) == rng, key
    for prop in onto.subjects(RDF.type, OWL.DatatypeProperty):
        assert onto.value(prop, RDFS.range) is not None, prop


def test_study_kinds_are_pairwise_disjoint(onto: Graph) -> None:
    groups = [set(onto.items(m)) for m in onto.objects(None, OWL.members)]
    kinds = {KEDO.HumanStudy, KEDO.AnimalStudy, KEDO.LiteratureReview}
    assert any(kinds <= g for g in groups)
    top = {KEDO.Study, KEDO.Claim, KEDO.SourceDocument, KEDO.Publication, KEDO.ParticipantGroup,
           KEDO.MentalDisorder, KEDO.Intervention, KEDO.Mechanism, KEDO.Outcome}
    assert any(top <= g for g in groups), "top-level kinds must be pairwise disjoint"


# --- mappings ----------------------------------------------------------------------------

_OBO_SCHEMES = {"MONDO", "DOID", "CHEBI", "GO", "OBI", "ECO", "HP", "MAXO", "SEPIO", "NCIT"}
_IRI_FORMS: list[tuple[str, re.Pattern[str]]] = [
    ("OBO", re.compile(r"http://purl\.obolibrary\.org/obo/([A-Za-z]+)_([A-Za-z0-9]+)")),
    ("MESH", re.compile(r"http://id\.nlm\.nih\.gov/mesh/([A-Z][0-9]+)")),
    ("ICD10CM", re.compile(r"https://identifiers\.org/icd10cm:([A-Z][0-9A-Z.]+)")),
    ("ICD10", re.compile(r"http://id\.who\.int/icd/release/10/([A-Z][0-9A-Z.]+)")),
    ("ICD11", re.compile(r"https://identifiers\.org/icd11:([0-9A-Z.]+)")),
    ("ICD11F", re.compile(r"http://id\.who\.int/icd/entity/([0-9]+)")),
    ("HGNC", re.compile(r"https://identifiers\.org/hgnc:([0-9]+)")),
    ("DRUGBANK", re.compile(r"https://go\.drugbank\.com/drugs/(DB[0-9]+)")),
    ("WIKIDATA", re.compile(r"http://www\.wikidata\.org/entity/(Q[0-9]+)")),
    ("LOINC", re.compile(r"https://loinc\.org/([0-9]+-[0-9])/")),
    ("PUBCHEM", re.compile(r"https://pubchem\.ncbi\.nlm\.nih\.gov/compound/([0-9]+)")),
]
_TSV_SCHEMES = {
    "ChEBI": "CHEBI", "ChEBI role": "CHEBI", "MeSH": "MESH", "ICD-10-CM": "ICD10CM",
    "ICD-10": "ICD10", "ICD-11 MMS": "ICD11", "ICD-11 foundation": "ICD11F",
    "DrugBank": "DRUGBANK", "Wikidata": "WIKIDATA", "PubChem CID": "PUBCHEM",
}


def iri_to_scheme_id(iri: str) -> tuple[str, str] | None:
    for scheme, pattern in _IRI_FORMS:
        match = pattern.fullmatch(iri)
        if match:
            if scheme == "OBO":
                prefix = match.group(1).upper()
                return (prefix, match.group(2)) if prefix in _OBO_SCHEMES else None
            return scheme, match.group(1)
    return None


def verified_identifiers(tsv: Path) -> set[tuple[str, str]]:
    """(scheme, id) of every row with an id that is not a mere lead."""
    out: set[tuple[str, str]] = set()
    with tsv.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            ident = (row.get("id") or "").strip()
            if not ident or "lead only" in (row.get("label_at_source") or ""):
                continue
            if (row.get("verified_source") or "").startswith("UNVERIFIED"):
                continue
            raw = row["scheme"].split(" (")[0].strip()
            scheme = _TSV_SCHEMES.get(raw, raw.upper())
            if ":" in ident and ident.split(":")[0].upper() == scheme:
                ident = ident.split(":", 1)[1]
            out.add((scheme, ident))
    return out


def mappings(onto: Graph) -> list[tuple[Node, Node, Node]]:
    return [t for p in (SKOS.exactMatch, SKOS.closeMatch) for t in onto.triples((None, p, None))]


def test_iri_parser_recognises_the_data_model_forms() -> None:
    assert iri_to_scheme_id("http://purl.obolibrary.org/obo/MONDO_0005351") == ("MONDO", "0005351")
    assert iri_to_scheme_id("https://identifiers.org/icd10cm:F50.0") == ("ICD10CM", "F50.0")
    assert iri_to_scheme_id("https://loinc.org/44249-1/") == ("LOINC", "44249-1")
    assert iri_to_scheme_id("https://icd.codes/icd10cm/F500") is None


def test_every_mapping_is_an_iri_of_a_verified_identifier(onto: Graph, shared_dir: Path) -> None:
    verified = verified_identifiers(shared_dir / "reference" / "identifiers.tsv")
    assert ("MONDO", "0005351") in verified and ("MESH", "D056912") not in verified
    found = mappings(onto)
    assert len(found) > 100
    bad = []
    for s, _p, o in found:
        parsed = iri_to_scheme_id(str(o)) if isinstance(o, URIRef) else None
        if parsed is None or parsed not in verified:
            bad.append(f"{s} -> {o!r} ({parsed})")
    assert bad == []


def test_mappings_are_only_on_kedo_terms(onto: Graph) -> None:
    for s, _p, _o in mappings(onto):
        assert str(s).startswith(str(KEDO)), s


def test_an_external_concept_is_the_exact_match_of_at_most_one_term(onto: Graph) -> None:
    targets = Counter(o for _s, o in onto.subject_objects(SKOS.exactMatch))
    assert [o for o, n in targets.items() if n > 1] == []
    # The MeSH conflict: bulimia nervosa keeps MONDO's D052018 only.
    bn_mesh = {
        str(o) for o in onto.objects(KEDO.BulimiaNervosa, SKOS.exactMatch) if "mesh" in str(o)
    }
    assert bn_mesh == {"http://id.nlm.nih.gov/mesh/D052018"}
