#!/usr/bin/python3
"""Checks opusd's provenance documents with standard tools.

  prov_check.py json FILE         JSON Schema valid (prov-json.schema.json) and
                                  loaded by python prov
  prov_check.py xml FILE          XSD valid (prov.xsd) and loaded by python prov
  prov_check.py equal JSON XML    both load and are the same ProvDocument
  prov_check.py provn FILE        PROV-N grammar check (W3C PROV-N, section 2)

Exit 0 when the check passes, 1 with the reason on stderr otherwise. As a
module (tests put tests/tools on sys.path): check_json(text), check_xml(text)
return the ProvDocument, check_equal(json_text, xml_text) returns it too,
check_provn(text) returns the number of expressions; each raises
CheckError with the reason. Schemas come from tests/schemas/prov/ (offline:
no network, no entity expansion). Needs Debian's python3-prov,
python3-jsonschema and python3-lxml.
"""
import json
import os
import re
import sys

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schemas", "prov")


class CheckError(Exception):
    pass


def check_json(text):
    """PROV-JSON text: valid against the JSON Schema, loaded by python prov."""
    import jsonschema
    from prov.model import ProvDocument

    try:
        doc = json.loads(text)
    except ValueError as e:
        raise CheckError(f"PROV-JSON does not parse: {e}") from None
    with open(os.path.join(SCHEMAS, "prov-json.schema.json")) as f:
        schema = json.load(f)
    try:
        jsonschema.validate(doc, schema)
    except jsonschema.ValidationError as e:
        raise CheckError(f"PROV-JSON not schema-valid: {e.message} at {list(e.path)}") from None
    try:
        return ProvDocument.deserialize(content=text, format="json")
    except Exception as e:  # python prov raises many kinds
        raise CheckError(f"python prov cannot load the PROV-JSON: {e!r}") from None


def check_xml(text):
    """PROV-XML text: valid against prov.xsd, loaded by python prov."""
    from lxml import etree
    from prov.model import ProvDocument

    data = text.encode() if isinstance(text, str) else text
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise CheckError(f"PROV-XML is not well-formed: {e}") from None
    schema = etree.XMLSchema(etree.parse(os.path.join(SCHEMAS, "prov.xsd"), parser))
    if not schema.validate(root):
        raise CheckError(f"PROV-XML not valid against prov.xsd: {schema.error_log.last_error}")
    try:
        return ProvDocument.deserialize(content=data, format="xml")
    except Exception as e:
        raise CheckError(f"python prov cannot load the PROV-XML: {e!r}") from None


def check_equal(json_text, xml_text):
    """Both documents load and python prov finds them equal."""
    dj, dx = check_json(json_text), check_xml(xml_text)
    if dj != dx:
        rj, rx = dj.get_records(), dx.get_records()
        only_j = [str(r) for r in rj if r not in rx][:3]
        only_x = [str(r) for r in rx if r not in rj][:3]
        raise CheckError(f"PROV-JSON and PROV-XML differ: only in JSON {only_j}, only in XML {only_x}")
    return dj


# ---- PROV-N ----

_TOKENS = [
    ("IRI", r"<[^<>\"{}|^`\\\x00-\x20]*>"),
    ("STRING", r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n\r]|\\[tbnrf"\'\\])*"'),
    ("QNLIT", r"'[^'\s]+'"),
    ("TIME", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?"),
    ("INT", r"-?\d+(?![\w:.])"),
    ("TYPED", r"%%"),
    ("LANG", r"@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*"),
    ("QN", r"(?:[A-Za-z][\w.-]*:)?[\w:][\w.:%/\-]*(?<!\.)|[A-Za-z][\w.-]*:"),
    ("PUNCT", r"[(),;=\[\]-]"),
    ("WS", r"\s+|//[^\n]*|/\*.*?\*/"),
]
_TOKEN_RE = re.compile("|".join(f"(?P<{n}>{p})" for n, p in _TOKENS), re.S)

# expression: (optional identifier; leading arguments required, optional group, attributes?)
# Argument kinds: "id" identifier, "id-" identifier or marker, "t-" time or marker.
_EXPRS = {
    "entity": (False, ["id"], [], True),
    "agent": (False, ["id"], [], True),
    "activity": (False, ["id"], ["t-", "t-"], True),
    "used": (True, ["id"], ["id-", "t-"], True),
    "wasGeneratedBy": (True, ["id"], ["id-", "t-"], True),
    "wasInvalidatedBy": (True, ["id"], ["id-", "t-"], True),
    "wasStartedBy": (True, ["id"], ["id-", "id-", "t-"], True),
    "wasEndedBy": (True, ["id"], ["id-", "id-", "t-"], True),
    "wasInformedBy": (True, ["id", "id"], [], True),
    "wasDerivedFrom": (True, ["id", "id"], ["id-", "id-", "id-"], True),
    "wasAssociatedWith": (True, ["id"], ["id-", "id-"], True),
    "wasAttributedTo": (True, ["id", "id"], [], True),
    "actedOnBehalfOf": (True, ["id", "id"], ["id-"], True),
    "wasInfluencedBy": (True, ["id", "id"], [], True),
    "specializationOf": (False, ["id", "id"], [], False),
    "alternateOf": (False, ["id", "id"], [], False),
    "hadMember": (False, ["id", "id"], [], False),
}


class _Parser:
    def __init__(self, text):
        self.toks, pos = [], 0
        while pos < len(text):
            m = _TOKEN_RE.match(text, pos)
            if not m:
                raise CheckError(f"PROV-N: unexpected character at line {text.count(chr(10), 0, pos) + 1}: "
                                 f"{text[pos:pos + 20]!r}")
            if m.lastgroup != "WS":
                self.toks.append((m.lastgroup, m.group()))
            pos = m.end()
        self.i = 0
        self.prefixes = {"prov", "xsd"}

    def peek(self, k=0):
        return self.toks[self.i + k] if self.i + k < len(self.toks) else ("EOF", "")

    def take(self, kind=None, value=None):
        t = self.peek()
        if (kind and t[0] != kind) or (value and t[1] != value):
            raise CheckError(f"PROV-N: expected {value or kind}, found {t[1]!r} (token {self.i})")
        self.i += 1
        return t[1]

    def qname(self, text=None):
        q = text if text is not None else self.take("QN")
        if ":" in q and q.split(":", 1)[0] not in self.prefixes:
            raise CheckError(f"PROV-N: undeclared prefix in {q!r}")
        return q

    def arg(self, kind):
        t = self.peek()
        if kind.endswith("-") and t == ("PUNCT", "-"):
            return self.take()
        if kind.startswith("t"):
            return self.take("TIME")
        return self.qname()

    def literal(self):
        t = self.peek()
        if t[0] == "STRING":
            self.take()
            if self.peek()[0] == "TYPED":
                self.take()
                self.qname()
            elif self.peek()[0] == "LANG":
                self.take()
        elif t[0] == "INT":
            self.take()
        elif t[0] == "QNLIT":
            self.qname(self.take()[1:-1])
        else:
            raise CheckError(f"PROV-N: a literal expected, found {t[1]!r}")

    def attributes(self):
        self.take("PUNCT", "[")
        while True:
            self.qname()
            self.take("PUNCT", "=")
            self.literal()
            if self.peek() != ("PUNCT", ","):
                break
            self.take()
        self.take("PUNCT", "]")

    def expression(self):
        name = self.take("QN")
        if name not in _EXPRS:
            raise CheckError(f"PROV-N: unknown expression {name!r}")
        has_id, required, optional, attrs = _EXPRS[name]
        self.take("PUNCT", "(")
        if has_id and self.peek(1) == ("PUNCT", ";"):
            self.arg("id-")
            self.take()
        for n, kind in enumerate(required):
            if n:
                self.take("PUNCT", ",")
            self.arg(kind)
        if optional and self.peek() == ("PUNCT", ",") and self.peek(1) != ("PUNCT", "["):
            for kind in optional:
                self.take("PUNCT", ",")
                self.arg(kind)
        if attrs and self.peek() == ("PUNCT", ","):
            self.take()
            self.attributes()
        self.take("PUNCT", ")")

    def document(self):
        self.take("QN", "document")
        n = 0
        while self.peek()[1] in ("prefix", "default"):
            if self.take() == "prefix":
                p = self.take("QN")
                if ":" in p:
                    raise CheckError(f"PROV-N: bad prefix {p!r}")
                self.prefixes.add(p)
            self.take("IRI")
        while self.peek()[1] != "endDocument":
            self.expression()
            n += 1
        self.take("QN", "endDocument")
        if self.peek()[0] != "EOF":
            raise CheckError("PROV-N: text after endDocument")
        return n


def check_provn(text):
    """PROV-N text: follows the grammar (the expressions opusd writes and the
    other core ones); returns the number of expressions."""
    return _Parser(text).document()


def main(argv):
    if len(argv) < 3 or argv[1] not in ("json", "xml", "equal", "provn"):
        print(__doc__, file=sys.stderr)
        return 2
    texts = []
    for path in argv[2:]:
        with open(path, "rb") as f:
            texts.append(f.read().decode("utf-8"))
    try:
        if argv[1] == "json":
            check_json(texts[0])
        elif argv[1] == "xml":
            check_xml(texts[0])
        elif argv[1] == "equal":
            if len(texts) != 2:
                raise CheckError("equal needs a PROV-JSON file and a PROV-XML file")
            check_equal(texts[0], texts[1])
        else:
            check_provn(texts[0])
    except CheckError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"{argv[1]}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
