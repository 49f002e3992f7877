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
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return _convert(loader, node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise DocumentError(line, f"not valid YAML: {error.problem or error.context}") from None
    finally:
        loader.dispose()


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
