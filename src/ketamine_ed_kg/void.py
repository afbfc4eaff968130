"""VoID descriptions of the released dataset.

One function builds the description so that the release files, ``/.well-known/void`` and the
service description all state the same counts.
"""

from __future__ import annotations

from collections import Counter

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS, XSD

from .namespaces import BASE, FOAF, VOID

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


def describe(graph: Graph, *, title: str, version: str, dumps: list[str] | None = None,
             sparql_endpoint: str | None = None) -> Graph:
    """Return a VoID description of ``graph``."""
    out = Graph()
    out.bind("void", VOID)
    out.bind("dcterms", DCTERMS)
    ds = DATASET_IRI
    out.add((ds, RDF.type, VOID.Dataset))
    out.add((ds, DCTERMS.title, Literal(title, lang="en")))
    out.add((ds, DCTERMS.license, LICENSE_DATA))
    out.add((ds, DCTERMS.hasVersion, Literal(version)))
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
    if sparql_endpoint:
        out.add((ds, VOID.sparqlEndpoint, URIRef(sparql_endpoint)))
    for dump in dumps or []:
        out.add((ds, VOID.dataDump, URIRef(dump)))
    # Linksets to external datasets.
    links: Counter[str] = Counter()
    for pred in LINK_PREDICATES:
        for obj in graph.objects(None, pred):
            for prefix in EXTERNAL_DATASETS:
                if str(obj).startswith(prefix):
                    links[prefix] += 1
                    break
    for prefix, n in sorted(links.items()):
        slug, name = EXTERNAL_DATASETS[prefix]
        target = URIRef(BASE + "external/" + slug)
        linkset = URIRef(BASE + "dataset/linkset/" + slug)
        out.add((target, RDF.type, VOID.Dataset))
        out.add((target, DCTERMS.title, Literal(name)))
        out.add((target, VOID.uriSpace, Literal(prefix)))
        out.add((linkset, RDF.type, VOID.Linkset))
        out.add((linkset, VOID.subjectsTarget, ds))
        out.add((linkset, VOID.objectsTarget, target))
        out.add((linkset, VOID.triples, Literal(n, datatype=XSD.integer)))
        out.add((ds, VOID.subset, linkset))
    return out
