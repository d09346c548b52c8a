"""Parse the YAML documents of a manifest file, fast and within bounds.

With libyaml (``yaml.__with_libyaml__``), the C parser composes each document into nodes, which
keep their marks (so every object keeps its exact line), and a small builder turns the nodes of
an alias-free document into Python values. PyYAML's own constructor walks each node through
generic dispatch and generators, which costs more than the C parsing itself; the builder gives
the same values for the core schema (maps, sequences, strings, numbers, booleans, nulls and the
other safe scalar tags) and hands every other document (merge keys, ``!!set`` and other
collection tags, non-scalar keys, aliases) back to PyYAML's constructor, so the results never
differ. Without libyaml, PyYAML's pure-Python loader reads every document, as before.

Aliases can expand a small file into a huge object graph ("billion laughs"). A document whose
text has no ``*`` holds no alias, so its expanded size is its node count, which the builder
bounds as it goes; any other document is measured with its aliases expanded before it is built.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, ClassVar

import yaml

# The engine walks objects in full, so the expanded size is what must stay bounded.
MAX_NODES = 1_000_000

Document = tuple[int, Any, list[int]]

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"


class TooLarge(Exception):
    """A document expands past ``MAX_NODES`` nodes, or an alias refers to a node containing it."""


class _Fallback(Exception):
    """The document uses YAML the builder leaves to PyYAML's constructor."""


def libyaml() -> bool:
    """Return whether PyYAML was built with libyaml (read at call time, not import time)."""
    return bool(yaml.__with_libyaml__)


def _cached_resolver(base: type) -> type:
    """Return ``base`` with its implicit scalar tags remembered per plain value.

    The C composer asks the Python resolver for the tag of every scalar, and the resolver runs
    its regular expressions each time; manifests repeat the same keys and values over and over.
    With no path resolvers (the safe loader has none), the tag of an implicit scalar depends on
    its text alone, so the answer can be kept.
    """

    class Loader(base):  # type: ignore[misc]
        # Bounded: a file of distinct values must not grow the cache without end.
        _tags: ClassVar[dict[str, str]] = {}

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            if kind is yaml.ScalarNode and implicit[0]:
                tags = Loader._tags
                tag = tags.get(value)
                if tag is None:
                    tag = super().resolve(kind, value, implicit)
                    if len(tags) < 8192:
                        tags[value] = tag
                return tag
            return super().resolve(kind, value, implicit)

    return Loader


_CLoader: type | None = _cached_resolver(yaml.CSafeLoader) if libyaml() else None


def documents(content: str) -> list[Document]:
    """Parse every document of ``content``: (line, data, line of each ``List`` item).

    Raises ``yaml.YAMLError``, ``TooLarge`` or ``RecursionError``. With libyaml, a parse error
    (or nesting too deep to build) is reported by the pure-Python parser, so its message and
    position read as they always have: a broken file is rare, and parsing it twice costs
    nothing that matters. A document too large is refused at once, with the same message.
    """
    if _CLoader is None or not libyaml():
        return python_documents(content)
    try:
        return _c_documents(content)
    except (yaml.YAMLError, RecursionError):
        return python_documents(content)


def _c_documents(content: str) -> list[Document]:
    assert _CLoader is not None
    loader = _CLoader(content)
    may_alias = "*" in content
    docs: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # check_node() said a document follows; never None here
                break
            data = _construct(loader, node, may_alias)
            docs.append((node.start_mark.line + 1, data, item_lines(node)))
    finally:
        loader.dispose()
    return docs


def python_documents(content: str) -> list[Document]:
    """Parse every document with PyYAML's pure-Python safe loader."""
    loader = yaml.SafeLoader(content)
    docs: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # check_node() said a document follows; never None here
                break
            check_size(node)
            data = loader.construct_document(node)
            docs.append((node.start_mark.line + 1, data, item_lines(node)))
    finally:
        loader.dispose()
    return docs


def _construct(loader: Any, node: yaml.Node, may_alias: bool) -> Any:
    if may_alias:
        check_size(node)
        return loader.construct_document(node)
    try:
        return _Builder(loader).build(node)
    except _Fallback:
        check_size(node)
        return loader.construct_document(node)


class _Builder:
    """Build the values of one alias-free document; raise ``_Fallback`` for anything else."""

    def __init__(self, constructor: yaml.constructor.SafeConstructor) -> None:
        self.nodes = 0
        self.scalars: dict[Any, Callable[..., Any]] = constructor.yaml_constructors
        self.constructor = constructor

    def build(self, node: yaml.Node) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise TooLarge(f"the document expands to more than {MAX_NODES} YAML nodes")
        tag = node.tag
        if type(node) is yaml.ScalarNode:
            if tag == _STR:
                # Held objects repeat the same keys and values thousands of times: one copy
                # of each keeps memory per object small. Interned, that copy is also what
                # marshal reads back (a packed template, posture.checks.inventory) rather
                # than a new string per unpacked template; and CPython's table of interned
                # strings forgets a string no longer used, so it holds only live ones.
                return sys.intern(node.value)
            make = self.scalars.get(tag)
            if make is None:
                raise _Fallback
            return make(self.constructor, node)
        if type(node) is yaml.MappingNode and tag == _MAP:
            build = self.build
            result = {}
            for key, value in node.value:
                if type(key) is not yaml.ScalarNode or key.tag == _MERGE:
                    raise _Fallback
                result[build(key)] = build(value)
            return result
        if type(node) is yaml.SequenceNode and tag == _SEQ:
            return [self.build(child) for child in node.value]
        raise _Fallback


def check_size(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand it past ``MAX_NODES`` (or into a cycle)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise TooLarge("a YAML alias refers to a node that contains it")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        open_nodes.discard(key)
        if total > MAX_NODES:
            raise TooLarge(f"the document expands to more than {MAX_NODES} YAML nodes")
        sizes[key] = total
        return total

    size(root)


def item_lines(node: Any) -> list[int]:
    """Return the line of each item of a document's top-level ``items`` sequence."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == "items" and isinstance(value, yaml.SequenceNode):
                return [item.start_mark.line + 1 for item in value.value]
    return []


def json_item_lines(content: str) -> list[int]:
    """Return the line of each ``List`` item of a JSON document (JSON is YAML)."""
    loader = (_CLoader if _CLoader is not None and libyaml() else yaml.SafeLoader)(content)
    try:
        return item_lines(loader.get_single_node())
    except (yaml.YAMLError, TooLarge, RecursionError):
        return []
    finally:
        loader.dispose()
