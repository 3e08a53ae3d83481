#!/usr/bin/env python3
"""Generates an AWS service's connector table (`src/model.rs`, a
`connector_sdk::aws::model::Service`) from its API model, for each connector
built in this repository, and for Cognito also
tests/tests/suite/wire/wire_cases/mod.rs (one representative input per
operation, for the wire test against the Rust SDK), and for the others
tests/tests/suite/wire/boto3/SERVICE.json (the same, for the wire test
against boto3).

The models are botocore's, botocore pinned in requirements.lock beside this
script to the version whose Cognito model matches the
aws-sdk-cognitoidentityprovider crate the project pins. Only names, types
and rules are carried over: titles and descriptions are ours, from each
connector's codegen/descriptions.json.

    python3 connector-sdk/codegen/aws.py [--check] [CONNECTOR...]

Without CONNECTOR it writes every one in PREBUILT. With --service it writes
one connector's table for any botocore service (what `connector-host new
--aws-service` runs), descriptions taken from the model's documentation. The models come from a
cached venv made by tests/emulators/ensure-venv from requirements.lock.
--check exits 1 when a generated file is out of date.
"""

import argparse
import base64
import difflib
import fnmatch
import gzip
import html
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# The connectors built in this repository: the crate, the botocore service
# and API version, and the title users see.
PREBUILT = {
    "guest-cognito": {"service": "cognito-idp", "version": "2016-04-18", "title": "AWS Cognito", "wire": True},
    "guest-dynamodb": {"service": "dynamodb", "version": "2012-08-10", "title": "Amazon DynamoDB", "boto3": True},
    "guest-lambda": {"service": "lambda", "version": "2015-03-31", "title": "AWS Lambda", "boto3": True},
    "guest-sns": {"service": "sns", "version": "2010-03-31", "title": "Amazon SNS", "boto3": True},
    "guest-s3": {"service": "s3", "version": "2006-03-01", "title": "Amazon S3", "boto3": True},
    "guest-ec2": {"service": "ec2", "version": "2016-11-15", "title": "Amazon EC2", "boto3": True},
    "guest-cloudwatch": {"service": "cloudwatch", "version": "2010-08-01", "title": "Amazon CloudWatch", "boto3": True},
    # A test guest: a service that speaks only Smithy RPC v2 CBOR.
    "tests/guests/events-v2": {"service": "eventbridgev2", "version": "2025-05-15", "title": "Amazon EventBridge v2",
                               "boto3": True},
}

# Where the wire cases against boto3 go, one JSON file per connector.
BOTO3_CASES = os.path.join(ROOT, "tests", "tests", "suite", "wire", "boto3")

# What connector-host takes of one connector's schemas once their references
# are resolved (host/src/runtime/schema.rs), with a margin for what this
# estimate does not count: per schema, then for all of them.
SCHEMA_VALUES, SCHEMA_BYTES, SCHEMA_DEPTH = 45_000, 900_000, 56
CONNECTOR_VALUES, CONNECTOR_BYTES = 450_000, 15_000_000

# Headers the host sets on every request it signs: an operation binding
# one of them to an input member cannot be sent as the model means.
HOST_HEADERS = ("authorization", "host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256")

# Operations whose event stream stays open for minutes or hours (a shard's
# records, a live tail of logs): the host answers a call once the reply has
# ended, so these could only ever time out.
OPEN_ENDED_STREAMS = {("kinesis", "SubscribeToShard"), ("logs", "StartLiveTail")}

# Page tokens of listings the paginators file does not name; an operation
# is a listing when its input and output both carry one of them.
PAGE_TOKENS = ("NextToken", "PaginationToken")
PAGE_LIMITS = ("Limit", "MaxResults")

# smithy-rs keeps these words whole when splitting names (`IPv4`, `MiB`).
COMPLETE_WORDS = ("ipv4", "mib", "gib", "kib", "ttl")


def split_words(name):
    """Splits an API name into words the way smithy-rs does for the SDK's
    snake_case names, so `MFAOptions` -> mfa_options, `GetCSVHeader` ->
    get_csv_header, `SMSMfaSettings` -> sms_mfa_settings."""
    out, word = [], ""
    complete_in_progress = True
    all_lower = name.lower() == name

    def emit(nxt):
        nonlocal word, complete_in_progress
        complete_in_progress = True
        if word:
            out.append(word.lower())
        word = nxt if nxt.isalnum() else ""

    for i, c in enumerate(name):
        def word_in_progress():
            nonlocal complete_in_progress
            rest = name[i:]
            result = complete_in_progress and word != "" and any(
                w.startswith(word.lower()) and (word + rest).lower().startswith(w) and w != word.lower()
                for w in COMPLETE_WORDS)
            complete_in_progress = result
            return result

        peek = name[i + 1] if i + 1 < len(name) else None
        peek2 = name[i + 2] if i + 2 < len(name) else None
        if not c.isalnum():
            emit(c)
        elif word == "":
            word += c
        elif not word_in_progress() and c.isupper() and (word[-1].isdigit() or word[-1].islower()):
            emit(c)
        elif not word_in_progress() and all_lower and word[-1].isdigit() and c.islower():
            emit(c)
        elif end_of_acronym(word, c, peek, peek2):
            emit(c)
        else:
            word += c
    if word:
        out.append(word.lower())
    return out


def end_of_acronym(word, c, peek, peek2):
    if not word[-1].isupper() or not c.isupper():
        return False
    if peek is None or not peek.islower():
        return False
    if peek == "s" and (peek2 is None or not peek2.islower()):
        return False  # ARNs, ACLs
    if peek == "v" and peek2 is not None and peek2.isdigit():
        return False  # DynamoDBv2
    return True


def snake(name):
    return "_".join(split_words(name))


def rust_str(s):
    """`s` as a Rust string literal (JSON's `\\uXXXX` escapes are not Rust's)."""
    out = []
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 or c in "\u2028\u2029":
            out.append(f"\\u{{{ord(c):x}}}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def botocore_data():
    """The data directory of the pinned botocore, installed into a cached venv."""
    venv = subprocess.run([os.path.join(ROOT, "tests", "emulators", "ensure-venv"),
                           os.path.join(HERE, "requirements.lock")],
                          check=True, capture_output=True, text=True).stdout.strip()
    out = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                          "import botocore, os; print(os.path.dirname(botocore.__file__))"],
                         check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(out, "data")


def load_json(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


class Generator:
    def __init__(self, model, paginators, descriptions, title, source, note=None):
        self.note = note
        self.model = model
        self.shapes = model["shapes"]
        self.paginators = paginators.get("pagination", {})
        self.descriptions = descriptions
        self.title = title
        self.source = source
        self.index = {}       # shape name -> table index
        self.order = []       # shape names in table order
        self.recursive = set()  # shapes on a cycle, as the walk met them
        self.notes = []       # what the table cannot say, for the generator's output
        self.rendered = 0     # operations in the table
        self.included = []    # their API names
        self.protocol = None
        self.sizes = {}       # (shape, side) -> schema size estimate
        self.total_values = self.total_bytes = 0

    def shape_id(self, name, stack=()):
        if name in stack:
            # A back edge: every cycle holds one, so marking its target
            # makes every schema walk finite.
            self.recursive.add(name)
            return None
        if name in self.index:
            return self.index[name]
        shape = self.shapes[name]
        kind = shape["type"]
        # Children first, so the table is in dependency order (but for cycles).
        if kind == "structure":
            for member in self.table_members(shape).values():
                self.shape_id(member["shape"], stack + (name,))
        elif kind == "list":
            self.shape_id(shape["member"]["shape"], stack + (name,))
        elif kind == "map":
            self.shape_id(shape["key"]["shape"], stack + (name,))
            self.shape_id(shape["value"]["shape"], stack + (name,))
        self.index[name] = len(self.order)
        self.order.append(name)
        return self.index[name]

    def table_members(self, shape):
        """A structure's members as the table holds them: an event
        stream's without its exception events (they arrive as errors)."""
        members = shape["members"]
        if shape.get("eventstream"):
            return {name: spec for name, spec in members.items() if not self.shapes[spec["shape"]].get("exception")}
        return members

    def pagination(self, op):
        """(input token, output token, limit member, items member, totals), or None."""
        inp = self.shapes[op["input"]["shape"]]["members"]
        out = self.shapes[op["output"]["shape"]]["members"] if "output" in op else {}
        known = self.paginators.get(op["name"])
        if known:
            tokens = (known["input_token"], known["output_token"])
            if not all(isinstance(t, str) and t in members for t, members in zip(tokens, (inp, out))):
                self.notes.append(f"{op['name']}: pages by {tokens}, which all_pages does not follow")
                return None
            keys = known["result_key"] if isinstance(known["result_key"], list) else [known["result_key"]]
            kinds = {k: self.shapes[out[k]["shape"]]["type"] if k in out else None for k in keys}
            items = [k for k in keys if kinds[k] == "list"]
            totals = [k for k in keys if kinds[k] in ("integer", "long")]
            if not items or len(items) + len(totals) != len(keys):
                self.notes.append(f"{op['name']}: result keys {keys}, which all_pages does not gather")
                return None
            limit = known.get("limit_key")
            return tokens[0], tokens[1], limit if limit in inp else None, items, totals
        token = next((t for t in PAGE_TOKENS if t in inp and t in out), None)
        if token is None:
            return None
        limit = next((l for l in PAGE_LIMITS if l in inp), None)
        lists = [m for m, spec in out.items() if self.shapes[spec["shape"]]["type"] == "list"]
        if not lists:
            self.notes.append(f"{op['name']}: a page token but no list member in the output")
            return None
        return token, token, limit, lists, []

    def render(self):
        ops = self.model["operations"]
        missing = sorted(set(ops) - set(self.descriptions))
        extra = sorted(set(self.descriptions) - set(ops))
        if missing or extra:
            raise SystemExit(f"descriptions.json: missing {missing}, not in the model {extra}")
        metadata = self.model["metadata"]
        protocol = chosen_protocol(metadata)
        if protocol is None:
            raise SystemExit(unsupported_protocol(metadata))
        if protocol == "json":
            version = {"1.0": "V1_0", "1.1": "V1_1"}[metadata["jsonVersion"]]
            protocol_src = (f"Protocol::Json {{ version: Version::{version}, "
                            f"target_prefix: {rust_str(metadata['targetPrefix'])} }}")
        elif protocol == "query":
            protocol_src = f"Protocol::Query {{ version: {rust_str(metadata['apiVersion'])} }}"
        elif protocol == "ec2":
            protocol_src = f"Protocol::Ec2 {{ version: {rust_str(metadata['apiVersion'])} }}"
        elif protocol == "rest-xml":
            protocol_src = "Protocol::RestXml"
        elif protocol == "smithy-rpc-v2-cbor":
            protocol_src = f"Protocol::RpcV2Cbor {{ target: {rust_str(metadata['targetPrefix'])} }}"
        else:
            protocol_src = "Protocol::RestJson"
        self.protocol = protocol
        op_rows = []
        for api_name in sorted(ops, key=snake):
            op = ops[api_name]
            reason = self.unsendable(op)
            if reason:
                self.notes.append(f"{api_name}: left out, {reason}")
                continue
            http_src = self.http(op) if protocol in ("rest-json", "rest-xml") else "None"
            reason = self.too_large(op)
            if reason:
                self.notes.append(f"{api_name}: left out, {reason}")
                continue
            for key, side in (("input", "input"), ("output", "output")):
                if key in op:
                    values, size, _ = self.schema_size(op[key]["shape"], side)
                    self.total_values += values
                    self.total_bytes += size
            self.rendered += 1
            self.included.append(api_name)
            self.shape_id(op["input"]["shape"])
            input_shape = shape_ref(op["input"]["shape"])
            if "output" in op:
                self.shape_id(op["output"]["shape"])
            output_src = f"Some({shape_ref(op['output']['shape'])})" if "output" in op else "None"
            unsigned = op.get("authtype") == "none" or op.get("auth") == ["smithy.api#noAuth"]
            page = self.pagination(op)
            text = self.descriptions[api_name]
            if page:
                token_in, token_out, limit, result, totals = page
                limit_src = f"Some({rust_str(snake(limit))})" if limit else "None"
                token_in = self.wire_name(op["input"]["shape"], token_in)
                token_out = self.wire_name(op["output"]["shape"], token_out)
                result = [self.wire_name(op["output"]["shape"], r) for r in result]
                totals = [self.wire_name(op["output"]["shape"], t) for t in totals]
                totals_src = "&[" + ", ".join(rust_str(t) for t in totals) + "]"
                page_src = (f"Some(&Pagination {{ input_token: {rust_str(token_in)}, output_token: {rust_str(token_out)}, "
                            f"limit: {limit_src}, items: &[{', '.join(rust_str(r) for r in result)}], totals: {totals_src} }})")
            else:
                page_src = "None"
            members = self.shapes[op["input"]["shape"]]["members"]
            token = next((self.wire_name(op["input"]["shape"], m) for m, spec in members.items()
                          if spec.get("idempotencyToken")), None)
            token_src = f"Some({rust_str(token)})" if token else "None"
            prefix = op.get("endpoint", {}).get("hostPrefix")
            prefix_src = f"Some({rust_str(prefix)})" if prefix else "None"
            op_rows.append(
                f"    Operation {{ name: {rust_str(snake(api_name))}, api_name: {rust_str(api_name)}, "
                f"title: {rust_str(text['title'])}, description: {rust_str(text['description'])}, "
                f"input: {input_shape}, output: {output_src}, signed: {'false' if unsigned else 'true'}, "
                f"pagination: {page_src}, http: {http_src}, headers: {self.headers(op)}, "
                f"idempotency_token: {token_src}, host_prefix: {prefix_src} }},")

        if not self.rendered:
            reasons = sorted({note.split(", ", 1)[-1] for note in self.notes if "left out" in note})
            raise SystemExit(f"none of the {len(ops)} operations of {metadata['endpointPrefix']} can be sent through "
                             f"connector-host yet: {'; '.join(reasons)}")
        if self.total_values > CONNECTOR_VALUES or self.total_bytes > CONNECTOR_BYTES:
            raise SystemExit(
                f"the schemas of {self.rendered} operations come to about {self.total_values:,} values and "
                f"{self.total_bytes:,} bytes, past what connector-host takes of one connector; pick fewer with "
                "--operations (globs of their snake_case names)")
        shape_rows = [f"    // {i}: {name}\n    {text}," for i, (name, text) in enumerate(self.unique_shapes())]
        final = self.final_index
        op_rows = [resolve_refs(row, final) for row in op_rows]
        shape_rows = [resolve_refs(row, final) for row in shape_rows]
        definitions = ", ".join(f"({final[name]}, {rust_str(name)})"
                                for name in sorted(self.recursive, key=lambda n: final[n]))

        # What the table uses, from the rows' code (not their strings and
        # comments, where a shape may be called "Location").
        code = "\n".join(op_rows + shape_rows)
        code = re.sub(r'//[^\n]*', '', re.sub(r'"(?:[^"\\]|\\.)*"', '""', code))
        used = lambda *names: [n for n in names if re.search(rf"\b{n}\b", code)]
        model_names = ["Kind", "Operation", "Protocol", "Service", "Shape",
                       *used("Bounds", "Event", "Member", "Pagination", "TimestampFormat")]
        imports = ["use connector_sdk::aws::json::Version;"] if protocol == "json" else []
        rest_names = used("Binding", "Checksum", "Http", "Location")
        if rest_names:
            imports.append(f"use connector_sdk::aws::model::rest::{{{', '.join(rest_names)}}};")
        xml_names = used("XmlNames", "XmlRoot")
        if xml_names:
            imports.append(f"use connector_sdk::aws::model::xml::{{{', '.join(xml_names)}}};")
        imports.append(f"use connector_sdk::aws::model::{{{', '.join(sorted(model_names))}}};")
        return "\n".join([
            f"// @generated by connector-sdk/codegen/aws.py from botocore's {self.source}",
            "// API model (names, types and rules only). Do not edit." if not self.note else f"// API model. {self.note}",
            "",
            *imports,
            "",
            f"/// {self.title}, as its API model describes it.",
            "pub static SERVICE: Service = Service {",
            f"    title: {rust_str(self.title)},",
            f"    signing_name: {rust_str(metadata.get('signingName', metadata['endpointPrefix']))},",
            f"    protocol: {protocol_src},",
            "    operations: OPERATIONS,",
            "    shapes: SHAPES,",
            f"    definitions: &[{definitions}],",
            "};",
            "",
            "/// Every operation, sorted by name.",
            "static OPERATIONS: &[Operation] = &[",
            *op_rows,
            "];",
            "",
            "/// Every shape an operation's input or output reaches; `Member::shape`",
            "/// and the `Kind` indices point into this table.",
            "static SHAPES: &[Shape] = &[",
            *shape_rows,
            "];",
            "",
        ])

    def unique_shapes(self):
        """The table's shapes, in order, each written once: a shape
        identical to one before it (as EC2's many plain strings and lists
        of them are) is that one. Sets `final_index` (model name -> row)."""
        self.final_index = {}
        rows, seen = [], {}
        for name in self.order:
            text = self.render_shape(name)
            # Known references resolved; a back edge to a shape on a cycle
            # stays open, and such a shape is never merged.
            resolved = resolve_refs(text, self.final_index, keep_unknown=True)
            if REF_MARK not in resolved and resolved in seen and name not in self.recursive:
                self.final_index[name] = seen[resolved]
                continue
            self.final_index[name] = len(rows)
            rows.append((name, text))
            if REF_MARK not in resolved:
                seen[resolved] = self.final_index[name]
        return rows

    def schema_size(self, name, side, stack=()):
        """(values, bytes of text, depth) of the JSON Schema connector-sdk
        builds for shape `name` on `side` ("input" or "output"), references
        resolved but for recursion, as the host counts them: an estimate."""
        key = (name, side)
        if key in self.sizes:
            return self.sizes[key]
        if name in stack:
            return (2, 30, 1)  # {"$ref": "#/$defs/Name"}
        stack = stack + (name,)
        shape = self.shapes[name]
        kind = shape["type"]
        values, size, depth = 2, 10, 1  # the object, its "type"
        children = []
        if kind == "structure" and not shape.get("document"):
            values, size = values + 1, size + 10  # "properties"
            for member, spec in shape["members"].items():
                children.append(self.schema_size(spec["shape"], side, stack))
                size += len(member)
            if side == "input":
                required = shape.get("required", [])
                values, size = values + 2 + len(required), size + 40 + sum(len(r) for r in required)
            depth = 2
        elif kind == "list":
            children.append(self.schema_size(shape["member"]["shape"], side, stack))
        elif kind == "map":
            children.append(self.schema_size(shape["value"]["shape"], side, stack))
            if side == "input":
                children.append(self.schema_size(shape["key"]["shape"], side, stack))
        elif kind == "string" and side == "input":
            values, size = values + len(shape.get("enum", [])), size + sum(len(v) + 2 for v in shape.get("enum", []))
        values += 2 * bool(shape.get("min") is not None) + 2 * bool(shape.get("max") is not None) + bool(shape.get("sensitive"))
        result = (values + sum(c[0] for c in children), size + sum(c[1] for c in children),
                  depth + max((c[2] for c in children), default=0))
        if not any(n in self.recursive for n in stack[:-1]):
            self.sizes[key] = result
        return result

    def too_large(self, op):
        """Why `op`'s schemas are past what the host takes, or None."""
        for side, key in (("input", "input"), ("output", "output")):
            if key not in op:
                continue
            values, size, depth = self.schema_size(op[key]["shape"], side)
            if values > SCHEMA_VALUES or size > SCHEMA_BYTES or depth > SCHEMA_DEPTH:
                return (f"its {side} schema comes to about {values:,} values, {size:,} bytes and {depth} levels, "
                        f"past what connector-host takes of one schema")
        return None

    def headers(self, op):
        """Headers `op` always sends, as the SDKs do: an endpoint-discovery
        operation names the API version; a service that once spoke query
        (SQS) is asked for its query-era error codes."""
        headers = []
        if op.get("endpointoperation"):
            headers.append(("x-amz-api-version", self.model["metadata"]["apiVersion"]))
        if "awsQueryCompatible" in self.model["metadata"]:
            headers.append(("x-amzn-query-mode", "true"))
        return "&[" + ", ".join(f"({rust_str(k)}, {rust_str(v)})" for k, v in headers) + "]"

    def wire_name(self, shape_name, member):
        """The name the member `member` of `shape_name` has in the table's
        API JSON: its own when bound to the path, query or a header (it is
        read back from there under that name), else the model's
        `locationName`, under which a body member travels."""
        spec = self.shapes[shape_name]["members"][member]
        return member if "location" in spec else spec.get("locationName", member)

    def unsendable(self, op):
        """Why the host cannot send `op` yet, or None: events streamed to
        the service or a stream that stays open, a header the host owns."""
        def streams(key):
            members = self.shapes[op[key]["shape"]].get("members", {}).values() if key in op else []
            return any(self.shapes[m["shape"]].get("eventstream") for m in members)
        if streams("input"):
            return "it streams events to the service, which needs a two-way stream"
        if streams("output"):
            if (self.model["metadata"]["endpointPrefix"], op["name"]) in OPEN_ENDED_STREAMS:
                return "its event stream stays open for minutes, and the host answers once a reply ends"
            if self.protocol not in ("json", "rest-json", "rest-xml"):
                return f"it streams events over {self.protocol}, which connector-sdk does not read"
        for name, spec in self.shapes[op["input"]["shape"]]["members"].items():
            if spec.get("location") == "header" and spec.get("locationName", name).lower() in HOST_HEADERS:
                return f"its member {name} is the header {spec['locationName']}, which the host sets"
        return None

    def http(self, op):
        """The REST binding of `op`."""

        def bindings(shape, locations):
            out = []
            for name, member in shape.get("members", {}).items():
                location, wire = member.get("location"), member.get("locationName", name)
                if location not in locations:
                    continue
                if location == "uri":
                    src = f"Location::Label({rust_str(wire)})"
                elif location == "querystring":
                    kind = self.shapes[member["shape"]]["type"]
                    src = "Location::QueryMap" if kind == "map" else f"Location::Query({rust_str(wire)})"
                elif location == "header" and member.get("jsonvalue"):
                    src = f"Location::JsonHeader({rust_str(wire)})"
                elif location == "header":
                    src = f"Location::Header({rust_str(wire)})"
                elif location == "headers":
                    src = f"Location::Headers({rust_str(wire)})"
                else:
                    src = "Location::StatusCode"
                out.append(f"Binding {{ member: {rust_str(name)}, location: {src} }}")
            return "&[" + ", ".join(out) + "]"

        inp = self.shapes[op["input"]["shape"]]
        out = self.shapes[op["output"]["shape"]] if "output" in op else {}

        def payload(shape_name):
            shape = self.shapes[shape_name] if shape_name else {}
            return f"Some({rust_str(self.wire_name(shape_name, shape['payload']))})" if "payload" in shape else "None"

        return (f"Some(&Http {{ method: {rust_str(op['http']['method'])}, uri: {rust_str(op['http']['requestUri'])}, "
                f"input: {bindings(inp, ('uri', 'querystring', 'header', 'headers'))}, "
                f"output: {bindings(out, ('header', 'headers', 'statusCode'))}, "
                f"input_payload: {payload(op['input']['shape'])}, "
                f"output_payload: {payload(op['output']['shape'] if 'output' in op else None)}, "
                f"xml_root: {self.xml_root(op)}, checksum: {self.checksum(op)} }})")

    def xml_root(self, op):
        """REST-XML: the request body's root element, the payload member's
        or the input's, with its namespace."""
        if self.protocol != "rest-xml":
            return "None"
        inp = self.shapes[op["input"]["shape"]]
        if "payload" in inp:
            member = inp["members"][inp["payload"]]
            if self.shapes[member["shape"]]["type"] != "structure":
                return "None"
            name = member.get("locationName", inp["payload"])
            namespace = member.get("xmlNamespace") or self.shapes[member["shape"]].get("xmlNamespace")
        elif any("location" not in m for m in inp["members"].values()):
            # The operation's reference to its input may name the root and
            # its namespace (S3's SelectObjectContent), else the shape does.
            name = op["input"].get("locationName") or inp.get("locationName", op["input"]["shape"])
            namespace = op["input"].get("xmlNamespace") or inp.get("xmlNamespace")
        else:
            return "None"
        return f"Some(XmlRoot {{ name: {rust_str(name)}, namespace: {namespace_src(namespace)} }})"

    def checksum(self, op):
        """The body's checksum, where the model asks for one."""
        spec = op.get("httpChecksum", {})
        if not (spec.get("requestAlgorithmMember") or spec.get("requestChecksumRequired")
                or op.get("httpChecksumRequired")):
            return "Checksum::None"
        member = spec.get("requestAlgorithmMember")
        header = None
        if member:
            header = self.shapes[op["input"]["shape"]]["members"][member].get("locationName")
        return f"Checksum::Crc32 {{ algorithm_header: {f'Some({rust_str(header)})' if header else 'None'} }}"

    def render_shape(self, name):
        shape = self.shapes[name]
        kind = shape["type"]
        if kind == "structure" and shape.get("eventstream"):
            events = []
            for api, spec in self.table_members(shape).items():
                event = self.shapes[spec["shape"]]
                payload = next((m for m, s in event.get("members", {}).items() if s.get("eventpayload")), None)
                events.append(f"Event {{ member: Member {{ name: {rust_str(snake(api))}, api_name: {rust_str(api)}, "
                              f"shape: {shape_ref(spec['shape'])}, required: false }}, "
                              f"payload: {f'Some({rust_str(payload)})' if payload else 'None'} }}")
            inner = "Kind::EventStream(&[" + ", ".join(events) + "])"
        elif kind == "structure":
            members = []
            required = set(shape.get("required", []))
            for api, spec in shape["members"].items():
                wire = self.wire_name(name, api)
                members.append(f"Member {{ name: {rust_str(snake(api))}, api_name: {rust_str(wire)}, "
                               f"shape: {shape_ref(spec['shape'])}, required: {'true' if api in required else 'false'} }}")
            variant = "Union" if shape.get("union") else "Structure"
            inner = f"Kind::{variant}(&[" + ", ".join(members) + "])"
            if shape.get("document"):
                inner = "Kind::Document"
        elif kind == "list":
            inner = f"Kind::List {{ item: {shape_ref(shape['member']['shape'])} }}"
        elif kind == "map":
            inner = f"Kind::Map {{ key: {shape_ref(shape['key']['shape'])}, value: {shape_ref(shape['value']['shape'])} }}"
        elif kind == "string":
            values = ", ".join(rust_str(v) for v in shape.get("enum", []))
            inner = f"Kind::String {{ values: &[{values}] }}"
        elif kind in ("integer", "long"):
            inner = "Kind::Integer"
        elif kind in ("double", "float"):
            inner = "Kind::Number"
        elif kind == "boolean":
            inner = "Kind::Boolean"
        elif kind == "timestamp":
            formats = {None: "Default", "iso8601": "Iso8601", "rfc822": "HttpDate", "unixTimestamp": "EpochSeconds"}
            inner = f"Kind::Timestamp(TimestampFormat::{formats[shape.get('timestampFormat')]})"
        elif kind == "blob":
            inner = "Kind::Blob"
        else:
            raise SystemExit(f"shape {name}: unsupported type {kind}")
        bound = lambda k: f"Some({int(shape[k])})" if k in shape else "None"
        bounds = f"Some(&Bounds {{ min: {bound('min')}, max: {bound('max')} }})" if "min" in shape or "max" in shape else "None"
        recursive = "true" if name in self.recursive else "false"
        return (f"Shape {{ kind: {inner}, bounds: {bounds}, "
                f"sensitive: {'true' if shape.get('sensitive') else 'false'}, recursive: {recursive}, "
                f"xml: {self.xml_names(shape)} }}")

    def xml_names(self, shape):
        """For the XML protocols, how a shape appears where it is not the
        default: a list's or map's element names, a flattened shape, a
        structure's namespace and attributes, EC2's parameter names that are
        not the XML names capitalized."""
        if self.protocol not in ("query", "ec2", "rest-xml") or shape["type"] not in ("list", "map", "structure"):
            return "None"
        item = shape.get("member", {}).get("locationName", "") if shape["type"] == "list" else ""
        key = shape.get("key", {}).get("locationName", "") if shape["type"] == "map" else ""
        value = shape.get("value", {}).get("locationName", "") if shape["type"] == "map" else ""
        flattened = bool(shape.get("flattened"))
        namespace = shape.get("xmlNamespace") if shape["type"] == "structure" else None
        members = shape.get("members", {}) if shape["type"] == "structure" else {}
        attributes = [spec.get("locationName", name) for name, spec in members.items() if spec.get("xmlAttribute")]
        query_names = []
        if self.protocol == "ec2":
            for name, spec in members.items():
                wire = spec.get("locationName", name)
                if "queryName" in spec and spec["queryName"] != wire[:1].upper() + wire[1:]:
                    query_names.append((wire, spec["queryName"]))
        if not (item or key or value or flattened or namespace or attributes or query_names):
            return "None"
        attributes_src = "&[" + ", ".join(rust_str(a) for a in attributes) + "]"
        query_src = "&[" + ", ".join(f"({rust_str(a)}, {rust_str(b)})" for a, b in query_names) + "]"
        return (f"Some(&XmlNames {{ item: {rust_str(item)}, key: {rust_str(key)}, value: {rust_str(value)}, "
                f"flattened: {'true' if flattened else 'false'}, namespace: {namespace_src(namespace)}, "
                f"attributes: {attributes_src}, query_names: {query_src} }})")


# A shape's index in a row being written, before the table's order is final.
REF_MARK = "\x00"


def shape_ref(name):
    return f"{REF_MARK}{name}{REF_MARK}"


def resolve_refs(text, index, keep_unknown=False):
    """`text` with each shape reference replaced by its row in `index`."""
    def one(match):
        name = match.group(1)
        if name in index:
            return str(index[name])
        if keep_unknown:
            return match.group(0)
        raise KeyError(name)
    return re.sub(f"{REF_MARK}([^{REF_MARK}]+){REF_MARK}", one, text)


def namespace_src(namespace):
    """A model's `xmlNamespace` (a URI, or an object with one and maybe a
    prefix) as the table's `Option<(prefix, uri)>`."""
    if not namespace:
        return "None"
    if isinstance(namespace, str):
        namespace = {"uri": namespace}
    return f"Some(({rust_str(namespace.get('prefix', ''))}, {rust_str(namespace['uri'])}))"


WIRE_OUTPUT = os.path.join(ROOT, "tests", "tests", "suite", "wire", "wire_cases", "mod.rs")


def pascal(name):
    return "".join(w[:1].upper() + w[1:] for w in split_words(name))


class WireCases:
    """Renders, for every operation, its [`sample`] input twice: as the
    connector's snake_case JSON and as the official Rust SDK's builder
    calls, so a test can compare what both send; and a sample response with
    every output member, which the connector must pass on and the SDK must
    parse."""

    def __init__(self, model):
        self.model = model
        self.shapes = model["shapes"]

    def rust(self, shape_name, value):
        """The Rust SDK expression for `value` (in the API's names) of `shape_name`."""
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure" and shape.get("document"):
            return ("aws_smithy_types::Document::Object(std::collections::HashMap::from([(\"sample_key\".to_owned(), "
                    "aws_smithy_types::Document::String(\"value\".to_owned()))]))")
        if kind == "structure":
            setters = "".join(f".set_{snake(m)}(Some({self.rust(shape['members'][m]['shape'], v)}))"
                              for m, v in value.items())
            # smithy-rs builders fail on a missing required member, except
            # for members that are structures, which stay optional.
            fallible = any(self.shapes[shape["members"][m]["shape"]]["type"] != "structure"
                           for m in shape.get("required", []))
            build = ".build().expect(\"the sample has every member\")" if fallible else ".build()"
            return f"types::{pascal(shape_name)}::builder(){setters}{build}"
        if kind == "list":
            return "vec![" + ", ".join(self.rust(shape["member"]["shape"], v) for v in value) + "]"
        if kind == "map":
            entries = ", ".join(f"({rust_str(k)}.to_owned(), {self.rust(shape['value']['shape'], v)})"
                                for k, v in value.items())
            return f"std::collections::HashMap::from([{entries}])"
        if kind == "string" and "enum" in shape:
            return f"types::{pascal(shape_name)}::from({rust_str(value)})"
        if kind == "string":
            return f"{rust_str(value)}.to_owned()"
        if kind == "blob":
            return f"aws_smithy_types::Blob::new(b{rust_str(base64.b64decode(value).decode())}.to_vec())"
        if kind in ("integer", "long", "double", "float"):
            return str(value)
        if kind == "boolean":
            return "true" if value else "false"
        raise SystemExit(f"no Rust wire sample for {shape_name} ({kind})")

    def render(self):
        ops = sorted(self.model["operations"], key=snake)
        inputs, sends, outputs = [], [], []
        for api_name in ops:
            op = self.model["operations"][api_name]
            ours, theirs = sample(self.shapes, op["input"]["shape"], api_name)
            members = self.shapes[op["input"]["shape"]]["members"]
            setters = "".join(f".set_{snake(m)}(Some({self.rust(members[m]['shape'], v)}))" for m, v in theirs.items())
            inputs.append(f"        {rust_str(snake(api_name))} => json!({json.dumps(ours, ensure_ascii=False)}),")
            sends.append(f"        {rust_str(snake(api_name))} => client.{snake(api_name)}(){setters}.send().await.map(drop)"
                         ".map_err(|e| format!(\"{e:?}\")),")
            output = sample(self.shapes, op["output"]["shape"], api_name)[1] if "output" in op else {}
            outputs.append(f"        {rust_str(snake(api_name))} => json!({json.dumps(output, ensure_ascii=False)}),")
        return "\n".join([
            "// @generated by connector-sdk/codegen/aws.py from the cognito-idp API model. Do not edit.",
            "//! One representative input per operation, as the connector's JSON and as",
            "//! the official SDK's builder calls for the same logical value.",
            "",
            "#![allow(clippy::all)]",
            "",
            "use aws_sdk_cognitoidentityprovider::{Client, types};",
            "use serde_json::{Value, json};",
            "",
            "/// Every operation of the model, by its snake_case name.",
            "pub const OPERATIONS: &[&str] = &[" + ", ".join(rust_str(snake(o)) for o in ops) + "];",
            "",
            "/// The connector input for `operation`.",
            "pub fn input(operation: &str) -> Value {",
            "    match operation {",
            *inputs,
            "        other => panic!(\"no wire case for {other}\"),",
            "    }",
            "}",
            "",
            "/// Sends the same input through the SDK; Err when the SDK fails,",
            "/// including when it cannot parse the response.",
            "pub async fn send_with_sdk(client: &Client, operation: &str) -> Result<(), String> {",
            "    match operation {",
            *sends,
            "        other => panic!(\"no wire case for {other}\"),",
            "    }",
            "}",
            "",
            "/// A response for `operation` with every output member, in the API's JSON.",
            "pub fn output(operation: &str) -> Value {",
            "    match operation {",
            *outputs,
            "        other => panic!(\"no wire case for {other}\"),",
            "    }",
            "}",
            "",
        ])


def sample(shapes, shape_name, member, stack=()):
    """One representative value of `shape_name`, twice: as the connector's
    snake_case JSON and in the API's own names (what the SDKs take, blobs as
    base64 text); None to leave the member out. Unions get one member; a
    shape already being filled in is left out, so recursive shapes end."""
    if shape_name in stack:
        return None
    stack = stack + (shape_name,)
    shape = shapes[shape_name]
    kind = shape["type"]
    if kind == "structure" and shape.get("document"):
        return {"sample_key": "value"}, {"sample_key": "value"}
    if kind == "structure":
        ours, theirs = {}, {}
        for api, spec in shape["members"].items():
            value = sample(shapes, spec["shape"], api, stack)
            if value is None:
                continue
            ours[snake(api)], theirs[api] = value
            if shape.get("union"):
                break
        return ours, theirs
    if kind == "list":
        value = sample(shapes, shape["member"]["shape"], member, stack)
        if value is None:
            return [], []
        count = max(1, shape.get("min", 1))
        return [value[0]] * count, [value[1]] * count
    if kind == "map":
        key_shape = shapes[shape["key"]["shape"]]
        count = max(1, shape.get("min", 1))
        keys = key_shape["enum"][:count] if "enum" in key_shape else ["sample_key"] + [f"sample_key{i}" for i in range(2, count + 1)]
        value = sample(shapes, shape["value"]["shape"], member, stack)
        if value is None:
            return {}, {}
        return {key: value[0] for key in keys}, {key: value[1] for key in keys}
    if kind == "string":
        if "enum" in shape:
            return shape["enum"][0], shape["enum"][0]
        if member == "Expires":
            # A date in S3's model, which botocore takes as a timestamp.
            return "Tue, 14 Nov 2023 22:13:20 GMT", "Tue, 14 Nov 2023 22:13:20 GMT"
        value = f"{member}-value"
        value = (value * (shape.get("min", 0) // len(value) + 1))[:max(shape.get("min", 0), len(value))]
        value = value[:shape.get("max", len(value))]
        return value, value
    if kind in ("integer", "long"):
        value = int(max(shape.get("min", 3), min(shape.get("max", 3), 3)))
        return value, value
    if kind in ("double", "float"):
        value = max(shape.get("min", 1.5), min(shape.get("max", 1.5), 1.5))
        return value, value
    if kind == "boolean":
        return True, True
    if kind == "blob":
        return "YmxvYg==", "YmxvYg=="
    if kind == "timestamp":
        return 1700000000.5, 1700000000.5
    raise SystemExit(f"no wire sample for {shape_name} ({kind})")


class Boto3Cases:
    """For every operation, its [`sample`] input, so a test can compare
    what the connector and boto3 send for it."""

    def __init__(self, model, included):
        self.model = model
        self.shapes = model["shapes"]
        self.included = included

    def render(self):
        cases = {}
        for api_name in sorted(self.included, key=snake):
            op = self.model["operations"][api_name]
            ours, theirs = sample(self.shapes, op["input"]["shape"], api_name)
            cases[snake(api_name)] = {"api_name": api_name, "input": ours, "api_input": theirs}
            output = self.shapes[op["output"]["shape"]] if "output" in op else {}
            if any(self.shapes[m["shape"]].get("eventstream") for m in output.get("members", {}).values()):
                # The reply is an event stream; an empty one has no events.
                cases[snake(api_name)]["streams_events"] = True
        return json.dumps(cases, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


# In botocore's order of preference (botocore.utils.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS).
SUPPORTED_PROTOCOLS = ("json", "rest-json", "rest-xml", "smithy-rpc-v2-cbor", "query", "ec2")


def chosen_protocol(metadata):
    """The protocol botocore speaks to the service: the first of its
    protocols in botocore's order of preference (JSON before CBOR before
    query, as CloudWatch lists all three), or None."""
    listed = metadata.get("protocols", [metadata["protocol"]])
    return next((p for p in SUPPORTED_PROTOCOLS if p in listed), None)


def unsupported_protocol(metadata):
    protocols = metadata.get("protocols", [metadata["protocol"]])
    return (f"{metadata['endpointPrefix']} speaks {' and '.join(protocols)}; connectors are generated for AWS JSON, "
            "REST-JSON, REST-XML, query, EC2 and Smithy RPC v2 CBOR")


def plain_text(html_text):
    """Documentation of the model, its markup taken out."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", html_text or ""))
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r" ([.,;:)])", r"\1", text).replace("( ", "(")


def first_sentences(text, limit=300):
    """As many whole sentences of `text` as fit in `limit` characters."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind(".)"))
    return cut[:end + 1] if end > 40 else cut.rsplit(" ", 1)[0] + "..."


def descriptions_from_docs(model):
    """Titles from the operations' names, descriptions from their
    documentation (for a connector made on a user's machine)."""
    out = {}
    for api_name, op in model["operations"].items():
        words = split_words(api_name)
        title = " ".join(words)
        title = title[:1].upper() + title[1:]
        out[api_name] = {"title": title, "description": first_sentences(plain_text(op.get("documentation"))) or title}
    return out


def latest_model_dir(data, service):
    """The newest API version's directory of `service`, or a clear error
    with the nearest service names."""
    names = sorted(n for n in os.listdir(data) if os.path.isdir(os.path.join(data, n)))
    if service not in names:
        near = [n for n in names if n.startswith(service)]
        near += [n for n in difflib.get_close_matches(service, names, n=5, cutoff=0.5) if n not in near]
        near = near[:5]
        hint = f"; nearest: {', '.join(near)}" if near else ""
        raise SystemExit(f"botocore {botocore_version(data)} has no AWS service `{service}`{hint}")
    service_dir = os.path.join(data, service)
    versions = sorted(v for v in os.listdir(service_dir) if os.path.exists(os.path.join(service_dir, v, "service-2.json.gz")))
    if not versions:
        raise SystemExit(f"botocore has no API model for `{service}`")
    return os.path.join(service_dir, versions[-1]), versions[-1]


def botocore_version(data):
    try:
        with open(os.path.join(os.path.dirname(data), "__init__.py"), encoding="utf-8") as f:
            return re.search(r"__version__ = '([^']+)'", f.read()).group(1)
    except (OSError, AttributeError):
        return "(unknown version)"


def select_operations(model, globs):
    """`model` with only the operations whose snake_case name matches one
    of `globs` (comma-separated)."""
    patterns = [g.strip() for g in globs.split(",") if g.strip()]
    chosen = {k: v for k, v in model["operations"].items() if any(fnmatch.fnmatchcase(snake(k), p) for p in patterns)}
    if not chosen:
        raise SystemExit(f"--operations {globs!r} matches none of the {len(model['operations'])} operations "
                         f"(snake_case names, such as {snake(sorted(model['operations'])[0])})")
    return dict(model, operations=chosen)


def read_operation(model):
    """An operation that only reads and needs no input, to try a new
    connector with: the shortest-named listing or description
    (`list_tables` before `list_global_tables`, EC2's `describe_tags`), else
    a get."""
    for prefixes in (("list_", "describe_"), ("get_",)):
        candidates = []
        for api_name, op in model["operations"].items():
            required = model["shapes"][op["input"]["shape"]].get("required", []) if "input" in op else []
            if snake(api_name).startswith(prefixes) and not required:
                candidates.append(snake(api_name))
        if candidates:
            return min(candidates, key=lambda name: (len(name), name))
    return None


def load_service(model_dir):
    """The API model and paginators in `model_dir`; an operation without
    input gets an empty one, so every operation has an input shape. A
    header member holding JSON (`jsonvalue`) takes any JSON value. A
    member that flattens a list the shape itself does not points to a
    flattened copy of it (the table says how a shape appears, not a
    member); a deprecated member that has another member's wire name
    (S3's `Event` beside `Events`) is left out, and so is an input member
    bound to `Content-Length`, which the transport sets from the body."""
    model = load_json(os.path.join(model_dir, "service-2.json.gz"))
    for op in model["operations"].values():
        op.setdefault("input", {"shape": "__Empty"})
    shapes = model["shapes"]
    shapes.setdefault("__Empty", {"type": "structure", "members": {}})
    for op in model["operations"].values():
        members = shapes[op["input"]["shape"]].get("members", {})
        for name, spec in list(members.items()):
            if spec.get("location") == "header" and spec.get("locationName", "").lower() == "content-length":
                del members[name]
    for shape in list(shapes.values()):
        if shape["type"] != "structure":
            continue
        for name, spec in list(shape["members"].items()):
            if spec.get("location") == "header" and (spec.get("jsonvalue") or shapes[spec["shape"]].get("jsonvalue")):
                # Any JSON value, sent as base64 of its text.
                spec["jsonvalue"] = True
                spec["shape"] = "__JsonValue"
                shapes.setdefault("__JsonValue", {"type": "structure", "document": True, "members": {}})
            if spec.get("flattened") and not shapes[spec["shape"]].get("flattened"):
                copy = spec["shape"] + "__flattened"
                shapes.setdefault(copy, dict(shapes[spec["shape"]], flattened=True))
                spec["shape"] = copy
        wire = lambda name: shape["members"][name].get("locationName", name)
        for name, spec in list(shape["members"].items()):
            clash = [other for other in shape["members"] if other != name and wire(other) == wire(name)]
            if clash and spec.get("deprecated") and "location" not in spec:
                del shape["members"][name]
                if name in shape.get("required", []):
                    shape["required"].remove(name)
    paginators_path = os.path.join(model_dir, "paginators-1.json")
    return model, load_json(paginators_path) if os.path.exists(paginators_path) else {}


def unmakeable(service, model):
    """Why no connector of `model` can be made, or None."""
    metadata = model["metadata"]
    if chosen_protocol(metadata) is None:
        return unsupported_protocol(metadata)
    signing_name = metadata.get("signingName", metadata["endpointPrefix"])
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,63}", signing_name):
        return (f"{service} signs as `{signing_name}`, which is not a service name connector-host takes "
                "(letters, digits and `-`)")
    return None


def rustfmt(text, required):
    """`text` formatted; as it is when rustfmt is missing and not `required`."""
    try:
        return subprocess.run(["rustfmt", "--edition", "2024", "--config", "max_width=120"], input=text,
                              capture_output=True, text=True, check=required).stdout or text
    except OSError:
        if required:
            raise
        return text  # the table compiles unformatted


def makeable_services(data):
    """`--list`: every service of botocore a connector can be made of."""
    for service in sorted(os.listdir(data)):
        if not os.path.isdir(os.path.join(data, service)):
            continue
        try:
            model_dir, _ = latest_model_dir(data, service)
        except SystemExit:
            continue
        if unmakeable(service, load_service(model_dir)[0]) is None:
            print(service)


def generate_one(args):
    """`--service`: one connector's table for any service, on a user's machine."""
    model_dir, version = latest_model_dir(args.data, args.service)
    model, paginators = load_service(model_dir)
    reason = unmakeable(args.service, model)
    if reason:
        raise SystemExit(reason)
    if args.operations:
        model = select_operations(model, args.operations)
    metadata = model["metadata"]
    title = args.title or metadata.get("serviceFullName", args.service)
    note = ("Operation descriptions are the model's documentation, markup removed (botocore, Apache License 2.0). "
            "Do not edit.")
    generator = Generator(model, paginators, descriptions_from_docs(model), title,
                          f"{args.service} {version}", note=note)
    text = rustfmt(generator.render(), required=False)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    for note in generator.notes:
        print(f"note: {note}", file=sys.stderr)
    included = dict(model, operations={name: model["operations"][name] for name in generator.included})
    print(json.dumps({"operations": generator.rendered, "title": title, "version": version,
                      "read_operation": read_operation(included)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("connectors", nargs="*", metavar="CONNECTOR", help=f"of {', '.join(PREBUILT)} (default: all)")
    parser.add_argument("--check", action="store_true", help="fail if a generated file is out of date")
    parser.add_argument("--service", help="generate for this botocore service instead (with --out and --data)")
    parser.add_argument("--out", help="with --service: the model.rs to write")
    parser.add_argument("--data", help="with --service: botocore's data directory")
    parser.add_argument("--title", help="with --service: the connector's title (default: the service's name)")
    parser.add_argument("--operations", metavar="GLOBS", help="with --service: only these operations (comma-separated)")
    parser.add_argument("--list", action="store_true", help="with --data: list the services a connector can be made of")
    args = parser.parse_args()
    if args.list:
        if not args.data:
            raise SystemExit("--list needs --data")
        return makeable_services(args.data)
    if args.service:
        if not (args.out and args.data):
            raise SystemExit("--service needs --out and --data")
        return generate_one(args)
    unknown = [c for c in args.connectors if c not in PREBUILT]
    if unknown:
        raise SystemExit(f"unknown connector {', '.join(unknown)}; known: {', '.join(PREBUILT)}")
    data = botocore_data()
    outputs = {}
    for crate in args.connectors or PREBUILT:
        spec = PREBUILT[crate]
        model_dir = os.path.join(data, spec["service"], spec["version"])
        model, paginators = load_service(model_dir)
        with open(os.path.join(ROOT, crate, "codegen", "descriptions.json"), encoding="utf-8") as f:
            descriptions = json.load(f)
        generator = Generator(model, paginators, descriptions, spec["title"], f"{spec['service']} {spec['version']}")
        outputs[os.path.join(ROOT, crate, "src", "model.rs")] = (generator.render(), generator.rendered)
        for note in generator.notes:
            print(f"{crate}: {note}", file=sys.stderr)
        if spec.get("wire"):
            outputs[WIRE_OUTPUT] = (WireCases(model).render(), len(model["operations"]))
        if spec.get("boto3"):
            path = os.path.join(BOTO3_CASES, f"{spec['service']}.json")
            outputs[path] = (Boto3Cases(model, generator.included).render(), generator.rendered)
    stale = []
    for path, (text, count) in outputs.items():
        if path.endswith(".rs"):
            text = rustfmt(text, required=True)
        if args.check:
            with open(path, encoding="utf-8") as f:
                if f.read() != text:
                    stale.append(path)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {os.path.relpath(path, ROOT)}: {count} operations")
    if stale:
        print(f"out of date: {', '.join(stale)}; run {sys.argv[0]}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
