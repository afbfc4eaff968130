"""Where a query binds the variables it sorts by: the half of the cheap ORDER BY on the parse.

The ORDER BY rewrite (:mod:`ketamine_ed_kg.engine_defects`) makes every condition total at a
price: each condition becomes six keys that repeat the expression about twenty times, evaluated
for every solution before the sort (twice the time of a paged join at 1M triples). It is only
needed where the sorted values can mix kinds of literal. A variable that the query binds *only*
as the object of triple patterns with a constant predicate takes its values from the data's
objects of those predicates; when the release records that each of them has objects of one safe
kind only (``engine_defects.object_kind``), the engine's own comparator is already total on
them and the condition is left as written.

This module reads the first half from the real parse (Lark tree of
:mod:`ketamine_ed_kg.security`): for each variable asked about, the predicates it is the object
of, or None as soon as any occurrence could bind it otherwise (subject or predicate position,
a property path, a collection, BIND / VALUES / ``AS``, GRAPH or SERVICE names...). Occurrences
that only *read* the variable (expressions, a plain projection, GROUP BY or ORDER BY on it) do
not bind it. Anything not recognised counts as "otherwise": the answer errs towards rewriting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lark import Token, Tree

READS = frozenset({"primary_expression", "select_clause_var_or_expression", "group_condition",
                   "order_condition"})
"""Parents of a ``var`` that only read it (a ``var`` after ``AS`` has other parents)."""
_OBJECT_CHAINS = (("var_or_term", "graph_node_path", "object_path", "object_list_path"),
                  ("var_or_term", "graph_node", "object", "object_list"))
"""Ancestors of a ``var`` in object position (path and plain triples), parent first; the next
ancestor holds the verb just before the object list."""
_SIMPLE_PATH = ("path", "path_alternative", "path_sequence", "path_elt_or_inverse", "path_elt",
                "path_primary")
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
NODE_POSITION = " node"
"""Stands among the predicates for a subject or predicate position of a triple pattern with
a simple verb: RDF puts only IRIs and blank nodes there, whatever the data (not an IRI, so no
predicate can be it)."""


def _constant_verb(verb: Tree[Token] | Token, iri: Callable[[Tree[Token]], str]) -> str | None:
    """The IRI of a verb that is one constant predicate (``a`` or an IRI, no path operator)."""
    if not isinstance(verb, Tree):
        return None
    node: Tree[Token] | Token = verb
    if verb.data == "verb_path":
        node = verb.children[0]
        for step in _SIMPLE_PATH:
            if not isinstance(node, Tree) or node.data != step or len(node.children) != 1:
                return None
            if step != "path_primary":
                node = node.children[0]
        assert isinstance(node, Tree)
        node = node.children[0]
    elif verb.data == "verb":
        node = verb.children[0]
        if isinstance(node, Tree) and node.data == "var_or_iri":
            node = node.children[0]
    else:
        return None
    if isinstance(node, Token):
        return RDF_TYPE if str(node) == "a" else None
    if node.data != "iri":
        return None
    return iri(node)


def _through(node: Tree[Token] | Token, steps: tuple[str, ...]) -> Tree[Token] | Token | None:
    """Down from ``node`` through one-child nodes named ``steps`` in turn: the last one's
    child, or None where the tree is not that chain."""
    for step in steps:
        if not isinstance(node, Tree) or node.data != step or len(node.children) != 1:
            return None
        node = node.children[0]
    return node


def _starts_with_step(verb: Tree[Token]) -> bool:
    """True when a ``verb_path`` is a sequence whose first element is one forward step (an
    IRI or ``a``, no ``^``, no ``?``/``*``/``+``): its subject is a triple's subject."""
    if verb.data != "verb_path":
        return False
    node = _through(verb.children[0], ("path", "path_alternative"))
    if not isinstance(node, Tree) or node.data != "path_sequence":
        return False
    node = _through(node.children[0], ("path_elt_or_inverse", "path_elt"))
    if not isinstance(node, Tree) or node.data != "path_primary":
        return False
    head = node.children[0]
    return (isinstance(head, Token) and str(head) == "a") or (
        isinstance(head, Tree) and head.data == "iri")


def _binding(ancestors: list[Tree[Token]], iri: Callable[[Tree[Token]], str]) -> str | None | bool:
    """How one occurrence of a variable (``ancestors``: root first) binds it: True when it
    only reads it, a predicate IRI when it is that predicate's object, None otherwise."""
    parent = ancestors[-1]
    if parent.data in READS:
        return True
    if parent.data == "verb_simple":
        return NODE_POSITION
    if parent.data == "var_or_term" and len(ancestors) > 1 and \
            ancestors[-2].data == "triples_same_subject_path" and \
            ancestors[-2].children[0] is parent:
        verbs = ancestors[-2].children[1]
        if isinstance(verbs, Tree) and verbs.data == "property_list_path_not_empty":
            first = verbs.children[0]
            if isinstance(first, Tree) and (first.data == "verb_simple"
                                            or _starts_with_step(first)):
                # A simple triple pattern of the same group binds it to a subject.
                return NODE_POSITION
        return None
    for chain in _OBJECT_CHAINS:
        if len(ancestors) <= len(chain):
            continue
        if all(ancestors[-1 - i].data == name for i, name in enumerate(chain)):
            holder = ancestors[-1 - len(chain)]
            objects = ancestors[-len(chain)]
            at = next(i for i, c in enumerate(holder.children) if c is objects)
            return _constant_verb(holder.children[at - 1], iri) if at else None
    return None


def object_predicates(tree: Tree[Token], names: Iterable[str],
                      iri: Callable[[Tree[Token]], str]) -> dict[str, frozenset[str] | None]:
    """For each variable name (without ``?``), the constant predicates whose objects are its
    only bindings in ``tree`` (with :data:`NODE_POSITION` when it is also bound as a subject or
    predicate; empty: never bound), or None (bound some other way too).

    Walks the tree without recursion (trees can be very deep), keeping the ancestors.
    """
    found: dict[str, set[str] | None] = {name: set() for name in names}
    ancestors: list[Tree[Token]] = []
    stack: list[tuple[Tree[Token], int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        del ancestors[depth:]
        if node.data == "var":
            name = str(node.children[0])[1:]
            if name in found and found[name] is not None:
                how = _binding(ancestors, iri)
                predicates = found[name]
                if how is None:
                    found[name] = None
                elif isinstance(how, str) and predicates is not None:
                    predicates.add(how)
            continue
        ancestors.append(node)
        stack.extend((child, depth + 1) for child in reversed(node.children)
                     if isinstance(child, Tree))
    return {name: None if predicates is None else frozenset(predicates)
            for name, predicates in found.items()}


__all__ = ["NODE_POSITION", "RDF_TYPE", "object_predicates"]
