"""The YAML reading alertd had before its event reader: `yaml.compose` and a recursive walk.

Kept only as a reference the event reader (alertd/config/yamlread.py) is compared with: the same
data, the same deadline lines, the same line for every path, the same files rejected. It
recurses and expands aliases, so it is only given small, well-behaved documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import yaml

from alertd.config.problems import SourceError

Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NULLS = {"", "~", "null", "Null", "NULL"}


class MarksLoader(Loader):
    yaml_implicit_resolvers: ClassVar[dict] = {}


def compose(text: str) -> yaml.Node | None:
    return yaml.compose(text, Loader=Loader)


def to_data(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        if not node.style and node.value in _NULLS and node.tag != "tag:yaml.org,2002:str":
            return None
        return node.value
    if isinstance(node, yaml.SequenceNode):
        return [to_data(item) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in merged_pairs(node):
            if not isinstance(key_node, yaml.ScalarNode):
                raise SourceError("a mapping key must be a plain value", key_node.start_mark.line + 1)
            key = key_node.value
            if key in out:
                raise SourceError(f"key {key!r} appears twice in the same mapping", key_node.start_mark.line + 1)
            out[key] = to_data(value_node)
        return out
    raise SourceError(f"unsupported YAML node {node.tag}", node.start_mark.line + 1)


def merged_pairs(node: yaml.MappingNode) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    own = [(k, v) for k, v in node.value if not (k.tag == "tag:yaml.org,2002:merge" or
                                                   (isinstance(k, yaml.ScalarNode) and k.value == "<<"
                                                    and not k.style))]
    merges = [v for k, v in node.value if (k, v) not in own]
    names = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
    yield from own
    for merge in merges:
        sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
        for src in sources:
            if not isinstance(src, yaml.MappingNode):
                raise SourceError("a merge key (<<) must name a mapping", src.start_mark.line + 1)
            for k, v in merged_pairs(src):
                if isinstance(k, yaml.ScalarNode) and k.value not in names:
                    names.add(k.value)
                    yield k, v


def deadline_lines(node: yaml.Node | None) -> dict[tuple, int]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == "deadlines" and isinstance(value, yaml.SequenceNode):
                return {("deadlines", i): item.start_mark.line + 1 for i, item in enumerate(value.value)}
    return {}


def yaml_line(node: yaml.Node | None, loc: tuple) -> int | None:
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in merged_pairs(node):
                if isinstance(k, yaml.ScalarNode) and k.value == part:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def reference_data(text: str) -> Any:
    node = compose(text)
    return to_data(node) if node is not None else None
