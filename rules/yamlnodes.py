"""YAML loaded into plain dicts and lists that remember the line of every key and item."""

import yaml


class Mapping(dict):
    line: int
    key_lines: dict


class Sequence(list):
    line: int
    item_lines: list


class DocumentError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def load(text: str):
    """Parse ``text``; raise DocumentError for YAML syntax errors and duplicate keys."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as error:  # YAML takes printable text only: a pasted control character
        raise DocumentError(text.count("\n", 0, error.position) + 1,
                            f"not valid YAML: character #x{error.character:04x} is not allowed") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _no_aliases(node)
        return _convert(loader, node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise DocumentError(line, f"not valid YAML: {error.problem or error.context}") from None
    finally:
        loader.dispose()


def _no_aliases(root) -> None:
    """Refuse a node reached twice: an alias (``*name``) of an anchor. Rules have no use for them, and a few
    lines of nested aliases expand to billions of nodes (the "billion laughs"). Walked in document order, so
    the second time is the alias, reported on the line of the key or list that holds it."""
    seen, todo = set(), [(root, root.start_mark.line + 1)]
    while todo:
        node, line = todo.pop()
        if id(node) in seen:
            raise DocumentError(line, "anchors and aliases (& and *) are not allowed here: write the rule out "
                                      "in full")
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                todo += [(value, key.start_mark.line + 1), (key, key.start_mark.line + 1)]
        elif isinstance(node, yaml.SequenceNode):
            todo += [(item, node.start_mark.line + 1) for item in reversed(node.value)]


def _convert(loader, node):
    if isinstance(node, yaml.MappingNode):
        result = Mapping()
        result.line, result.key_lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, bool):  # YAML 1.1 reads yes/no/on/off as true/false
                raise DocumentError(key_node.start_mark.line + 1, f"keys must be words, got {key!r}: YAML reads "
                                    f"'{key_node.value}' as {str(key).lower()}; put it in quotes")
            if not isinstance(key, str):
                raise DocumentError(key_node.start_mark.line + 1, f"keys must be words, got {key!r}")
            if key in result:
                raise DocumentError(key_node.start_mark.line + 1, f"'{key}' is given twice")
            result[key] = _convert(loader, value_node)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        result = Sequence(_convert(loader, item) for item in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [item.start_mark.line + 1 for item in node.value]
        return result
    return loader.construct_object(node, deep=True)


def line_of(container, key, default: int = 1) -> int:
    if isinstance(container, Mapping):
        return container.key_lines.get(key, container.line)
    if isinstance(container, Sequence) and isinstance(key, int) and key < len(container.item_lines):
        return container.item_lines[key]
    return getattr(container, "line", default)
