"""A safe XML reader that remembers line numbers, for error messages that point at the input.

Rules: expat from the standard library, no DTDs or entities at all (a document
declaring one is refused, which also stops entity-expansion attacks and
external entities), size and nesting depth capped; every element's line is
kept in Document.lines.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.parsers import expat

from appliance.model.values import ModelError

MAX_XML_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 64                 # a CIB is about 8 deep; deeper nesting (rules in rules) is refused


@dataclass(frozen=True)
class Document:
    root: ET.Element
    lines: dict[int, int]      # id(element) -> line

    def line(self, element: ET.Element) -> int:
        return self.lines.get(id(element), 0)

    def where(self, element: ET.Element) -> str:
        return f"line {self.line(element)}: <{element.tag} id=\"{element.get('id')}\">" if element.get("id") \
            else f"line {self.line(element)}: <{element.tag}>"


def parse(data: bytes, source: str) -> Document:
    if len(data) > MAX_XML_BYTES:
        raise ModelError(f"{source}: larger than {MAX_XML_BYTES // (1024 * 1024)} MiB")
    parser = expat.ParserCreate()
    parser.buffer_text = True      # one character-data call per text run, not one per chunk expat sees
    builder = ET.TreeBuilder()
    lines: dict[int, int] = {}
    kept: list[ET.Element] = []    # keeps ids valid: an element is never freed while lines is in use
    depth = [0]

    def start(tag: str, attrs: dict[str, str]) -> None:
        depth[0] += 1
        if depth[0] > MAX_DEPTH:
            raise ModelError(f"{source}: line {parser.CurrentLineNumber}: elements nested more than {MAX_DEPTH} deep")
        element = builder.start(tag, attrs)
        lines[id(element)] = parser.CurrentLineNumber
        kept.append(element)

    def end(tag: str) -> None:
        depth[0] -= 1
        builder.end(tag)

    def refuse_dtd(*_args: object) -> None:
        raise ModelError(f"{source}: line {parser.CurrentLineNumber}: DTDs and entities are not accepted")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.ExternalEntityRefHandler = refuse_dtd
    try:
        parser.Parse(data, True)
        root = builder.close()
    except expat.ExpatError as error:
        raise ModelError(f"{source}: not well-formed XML: {expat.ErrorString(error.code)} "
                         f"at line {error.lineno}, column {error.offset + 1}") from None
    except AssertionError:
        raise ModelError(f"{source}: no XML element found") from None
    except (LookupError, ValueError) as error:
        raise ModelError(f"{source}: unsupported encoding: {error}") from None
    return Document(root, lines)
