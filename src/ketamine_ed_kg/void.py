"""VoID descriptions of the released dataset.

One function builds the description so that the release files, ``/.well-known/void`` and the
service description all state the same counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD

from .formats import Format
from .iris import PREFIXES, compact
from .namespaces import BASE, FOAF, SD, SH, VOID

TITLE = "ketamine-ed-kg: ketamine treatment of eating disorders"
DATASET_IRI = URIRef(BASE + "dataset")
LICENSE_DATA = URIRef("https://creativecommons.org/licenses/by/4.0/")

# External datasets we link to, keyed by the IRI prefix of their identifiers.
EXTERNAL_DATASETS: dict[str, tuple[str, str]] = {
    "http://purl.obolibrary.org/obo/MONDO_": ("mondo", "Mondo Disease Ontology"),
    "http://purl.obolibrary.org/obo/DOID_": ("doid", "Human Disease Ontology"),
    "http://purl.obolibrary.org/obo/CHEBI_": ("chebi", "ChEBI"),
    "http://purl.obolibrary.org/obo/GO_": ("go", "Gene Ontology"),
    "http://purl.obolibrary.org/obo/OBI_": ("obi", "Ontology for Biomedical Investigations"),
    "http://purl.obolibrary.org/obo/ECO_": ("eco", "Evidence and Conclusion Ontology"),
    "http://purl.obolibrary.org/obo/HP_": ("hp", "Human Phenotype Ontology"),
    "http://purl.obolibrary.org/obo/MAXO_": ("maxo", "Medical Action Ontology"),
    "http://purl.obolibrary.org/obo/SEPIO_": ("sepio", "SEPIO"),
    "http://purl.obolibrary.org/obo/NCIT_": ("ncit", "NCI Thesaurus"),
    "https://identifiers.org/hgnc:": ("hgnc", "HGNC"),
    "http://id.nlm.nih.gov/mesh/": ("mesh", "MeSH"),
    "http://id.who.int/icd/": ("icd-who", "WHO ICD"),
    "https://identifiers.org/icd10cm:": ("icd10cm", "ICD-10-CM"),
    "https://identifiers.org/icd11:": ("icd11", "ICD-11 MMS"),
    "https://go.drugbank.com/drugs/": ("drugbank", "DrugBank"),
    "http://www.wikidata.org/entity/": ("wikidata", "Wikidata"),
    "https://loinc.org/": ("loinc", "LOINC"),
    "https://pubchem.ncbi.nlm.nih.gov/compound/": ("pubchem", "PubChem Compound"),
    "https://doi.org/": ("doi", "DOI"),
    "https://pubmed.ncbi.nlm.nih.gov/": ("pubmed", "PubMed"),
    "https://www.ncbi.nlm.nih.gov/pmc/articles/": ("pmc", "PubMed Central"),
    "https://clinicaltrials.gov/study/": ("clinicaltrials", "ClinicalTrials.gov"),
}

LINK_PREDICATES = (SKOS.exactMatch, SKOS.closeMatch, RDFS.seeAlso)


def citation(version: str) -> str:
    """How to cite this version of the dataset (CITATION.cff says the same)."""
    return (f"ketamine-ed-kg contributors. {TITLE}, version {version}. "
            f"{BASE} (CC BY 4.0).")


def describe(graph: Graph, *, title: str, version: str, dumps: list[str] | None = None,
             sparql_endpoint: str | None = None) -> Graph:
    """Return a VoID description of ``graph``."""
    out = Graph()
    out.bind("void", VOID)
    out.bind("dcterms", DCTERMS)
    ds = DATASET_IRI
    out.add((ds, RDF.type, VOID.Dataset))
    out.add((ds, DCTERMS.title, Literal(title, lang="en")))
    out.add((ds, RDFS.label, Literal(title, lang="en")))
    out.add((ds, DCTERMS.license, LICENSE_DATA))
    out.add((ds, DCTERMS.hasVersion, Literal(version)))
    out.add((ds, DCTERMS.bibliographicCitation, Literal(citation(version), lang="en")))
    out.add((ds, VOID.uriSpace, Literal(BASE)))
    out.add((ds, FOAF.homepage, URIRef(BASE)))
    out.add((ds, VOID.triples, Literal(len(graph), datatype=XSD.integer)))
    subjects = set(graph.subjects())
    out.add((ds, VOID.distinctSubjects, Literal(len(subjects), datatype=XSD.integer)))
    out.add((ds, VOID.distinctObjects, Literal(len(set(graph.objects())), datatype=XSD.integer)))
    out.add((ds, VOID.entities, Literal(
        sum(1 for s in subjects if isinstance(s, URIRef)), datatype=XSD.integer)))
    classes = Counter(o for o in graph.objects(None, RDF.type))
    props = Counter(p for p in graph.predicates())
    out.add((ds, VOID.classes, Literal(len(classes), datatype=XSD.integer)))
    out.add((ds, VOID.properties, Literal(len(props), datatype=XSD.integer)))
    for cls, n in sorted(classes.items(), key=lambda kv: str(kv[0])):
        part = BNode()
        out.add((ds, VOID.classPartition, part))
        out.add((part, VOID["class"], cls))
        out.add((part, VOID.entities, Literal(n, datatype=XSD.integer)))
    for prop, n in sorted(props.items(), key=lambda kv: str(kv[0])):
        part = BNode()
        out.add((ds, VOID.propertyPartition, part))
        out.add((part, VOID.property, prop))
        out.add((part, VOID.triples, Literal(n, datatype=XSD.integer)))
        out.add((part, VOID.distinctSubjects, Literal(
            len(set(graph.subjects(prop))), datatype=XSD.integer)))
        out.add((part, VOID.distinctObjects, Literal(
            len(set(graph.objects(None, prop))), datatype=XSD.integer)))
    if sparql_endpoint:
        out.add((ds, VOID.sparqlEndpoint, URIRef(sparql_endpoint)))
    for dump in dumps or []:
        out.add((ds, VOID.dataDump, URIRef(dump)))
    # Linksets to external datasets: one per target and link predicate (void:linkPredicate).
    links: Counter[tuple[str, URIRef]] = Counter()
    for pred in LINK_PREDICATES:
        for obj in graph.objects(None, pred):
            for prefix in EXTERNAL_DATASETS:
                if str(obj).startswith(prefix):
                    links[prefix, pred] += 1
                    break
    for prefix in sorted({prefix for prefix, _ in links}):
        slug, name = EXTERNAL_DATASETS[prefix]
        target = URIRef(BASE + "external/" + slug)
        out.add((target, RDF.type, VOID.Dataset))
        out.add((target, DCTERMS.title, Literal(name)))
        out.add((target, RDFS.label, Literal(f"{name} (linked dataset)", lang="en")))
        out.add((target, VOID.uriSpace, Literal(prefix)))
    for (prefix, pred), n in sorted(links.items()):
        slug, name = EXTERNAL_DATASETS[prefix]
        local = str(pred).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        linkset = URIRef(f"{BASE}dataset/linkset/{slug}/{local}")
        out.add((linkset, RDF.type, VOID.Linkset))
        out.add((linkset, RDFS.label, Literal(
            f"links to {name} by {compact(str(pred))}", lang="en")))
        out.add((linkset, VOID.subjectsTarget, ds))
        out.add((linkset, VOID.objectsTarget, URIRef(BASE + "external/" + slug)))
        out.add((linkset, VOID.linkPredicate, pred))
        out.add((linkset, VOID.triples, Literal(n, datatype=XSD.integer)))
        out.add((ds, VOID.subset, linkset))
    declare_for_owl(out, graph)
    return out


def declare_for_owl(void: Graph, described: Graph) -> None:
    """Declare the VoID's datasets as named individuals, its classes as classes and its
    properties as annotation properties (in ``void`` itself), unless ``described`` (the graph
    the VoID describes, which the release files hold next to it) declares them already.

    Why: the release files hold the VoID next to the ontology, and OWL 2 DL (Protégé,
    owlready2, the OWL API's profile check) wants every entity declared; annotation
    properties, because VoID's values are counts, strings and IRIs of other graphs, never
    statements the reasoner should use."""
    added = Graph()
    for node, cls in void.subject_objects(RDF.type):
        added.add((cls, RDF.type, OWL.Class))
        if isinstance(node, URIRef):
            added.add((node, RDF.type, OWL.NamedIndividual))
    for prop in set(void.predicates()):
        if prop != RDF.type and not str(prop).startswith((str(RDFS), str(OWL))):
            added.add((prop, RDF.type, OWL.AnnotationProperty))
    void += (triple for triple in added if triple not in described)


def describe_service(endpoint: str, graph_counts: Mapping[str, int], *, title: str,
                     union_default_graph: bool, federated: bool, void_url: str) -> Graph:
    """The SPARQL 1.1 Service Description of ``endpoint``: the language, every result format
    of the format table, the prefixes a query may use undeclared (``sh:declare``, as SIB
    endpoints state them), the default and named graphs with their sizes, and the VoID."""
    g = Graph()
    g.bind("sd", SD)
    g.bind("void", VOID)
    service = BNode("service")
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, URIRef(endpoint)))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((service, DCTERMS.title, Literal(title + " (SPARQL endpoint)", lang="en")))
    for fmt in Format:
        g.add((service, SD.resultFormat, URIRef(fmt.iri)))
    if union_default_graph:
        g.add((service, SD.feature, SD.UnionDefaultGraph))
    if federated:
        g.add((service, SD.feature, SD.BasicFederatedQuery))
    for prefix, namespace in PREFIXES.items():
        declaration = BNode(f"prefix-{prefix}")
        g.add((service, SH.declare, declaration))
        g.add((declaration, SH.prefix, Literal(prefix)))
        g.add((declaration, SH.namespace, Literal(namespace, datatype=XSD.anyURI)))
    dataset = BNode("dataset")
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    default = BNode("default")
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    if union_default_graph:
        g.add((default, VOID.triples, Literal(sum(graph_counts.values()), datatype=XSD.integer)))
    for name in sorted(graph_counts):
        named = BNode(f"graph-{len(g)}")
        inner = BNode(f"graph-{len(g)}-inner")
        g.add((dataset, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(name)))
        g.add((named, SD.graph, inner))
        g.add((inner, RDF.type, SD.Graph))
        g.add((inner, VOID.triples, Literal(graph_counts[name], datatype=XSD.integer)))
    g.add((dataset, RDF.type, VOID.Dataset))
    g.add((dataset, DCTERMS.source, URIRef(void_url)))
    return g
