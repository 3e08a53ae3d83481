#!/usr/bin/env python3
"""Generates guest-cognito/src/model.rs (the connector's operation and shape
table) and tests/tests/suite/wire/wire_cases/mod.rs (one representative input per
operation, for the wire test against the SDK) from the Cognito user pools API
model.

The model is botocore's `cognito-idp` 2016-04-18 JSON, botocore pinned in
requirements.lock beside this script to the version whose model matches the
aws-sdk-cognitoidentityprovider crate the project pins. Only names and types
are carried over: titles and descriptions are ours, from descriptions.json.

    python3 guest-cognito/codegen/generate.py [--model PATH] [--check]

Without --model the model comes from a cached venv made by
tests/emulators/ensure-venv from requirements.lock. --check exits 1 when a generated file is out of date.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUTPUT = os.path.join(ROOT, "guest-cognito", "src", "model.rs")
DESCRIPTIONS = os.path.join(HERE, "descriptions.json")

# Page tokens the Cognito API uses; an operation is a listing when its input
# and output both carry one of them.
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
    return json.dumps(s, ensure_ascii=False)


def find_model():
    """The model file of the pinned botocore, installed into a cached venv."""
    venv = subprocess.run([os.path.join(ROOT, "tests", "emulators", "ensure-venv"),
                           os.path.join(HERE, "requirements.lock")],
                          check=True, capture_output=True, text=True).stdout.strip()
    out = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                          "import botocore, os; print(os.path.dirname(botocore.__file__))"],
                         check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(out, "data", "cognito-idp", "2016-04-18", "service-2.json.gz")


def load_json(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


class Generator:
    def __init__(self, model, paginators, descriptions):
        self.model = model
        self.shapes = model["shapes"]
        self.paginators = paginators.get("pagination", {})
        self.descriptions = descriptions
        self.index = {}    # shape name -> table index
        self.order = []    # shape names in table order

    def shape_id(self, name, stack=()):
        if name in stack:
            raise SystemExit(f"recursive shape {name}: schemas are inlined, recursion is not supported")
        if name in self.index:
            return self.index[name]
        shape = self.shapes[name]
        kind = shape["type"]
        # Children first, so the table is in dependency order.
        if kind == "structure":
            for member in shape["members"].values():
                self.shape_id(member["shape"], stack + (name,))
        elif kind == "list":
            self.shape_id(shape["member"]["shape"], stack + (name,))
        elif kind == "map":
            self.shape_id(shape["key"]["shape"], stack + (name,))
            self.shape_id(shape["value"]["shape"], stack + (name,))
        self.index[name] = len(self.order)
        self.order.append(name)
        return self.index[name]

    def pagination(self, op):
        inp = self.shapes[op["input"]["shape"]]["members"]
        out = self.shapes[op["output"]["shape"]]["members"] if "output" in op else {}
        known = self.paginators.get(op["name"])
        if known:
            return known["input_token"], known["output_token"], known.get("limit_key"), known["result_key"]
        token = next((t for t in PAGE_TOKENS if t in inp and t in out), None)
        if token is None:
            return None
        limit = next((l for l in PAGE_LIMITS if l in inp), None)
        lists = [m for m, spec in out.items() if self.shapes[spec["shape"]]["type"] == "list"]
        if len(lists) != 1:
            raise SystemExit(f"{op['name']}: page token but {len(lists)} list members in the output")
        return token, token, limit, lists[0]

    def render(self):
        ops = self.model["operations"]
        missing = sorted(set(ops) - set(self.descriptions))
        extra = sorted(set(self.descriptions) - set(ops))
        if missing or extra:
            raise SystemExit(f"descriptions.json: missing {missing}, not in the model {extra}")
        op_rows = []
        for api_name in sorted(ops, key=snake):
            op = ops[api_name]
            input_shape = self.shape_id(op["input"]["shape"])
            output_src = f"Some({self.shape_id(op['output']['shape'])})" if "output" in op else "None"
            unsigned = op.get("authtype") == "none" or op.get("auth") == ["smithy.api#noAuth"]
            page = self.pagination(op)
            text = self.descriptions[api_name]
            if page:
                token_in, token_out, limit, result = page
                limit_src = f"Some({rust_str(snake(limit))})" if limit else "None"
                page_src = (f"Some(Pagination {{ input_token: {rust_str(token_in)}, output_token: {rust_str(token_out)}, "
                            f"limit: {limit_src}, items: {rust_str(result)} }})")
            else:
                page_src = "None"
            op_rows.append(
                f"    Operation {{ name: {rust_str(snake(api_name))}, api_name: {rust_str(api_name)}, "
                f"title: {rust_str(text['title'])}, description: {rust_str(text['description'])}, "
                f"input: {input_shape}, output: {output_src}, signed: {'false' if unsigned else 'true'}, "
                f"pagination: {page_src} }},")

        shape_rows = []
        for name in self.order:
            shape_rows.append(f"    // {len(shape_rows)}: {name}\n    " + self.render_shape(name) + ",")

        return "\n".join([
            "// @generated by guest-cognito/codegen/generate.py from the cognito-idp",
            f"// {self.model['metadata']['apiVersion']} API model (names and types only). Do not edit.",
            "",
            "use crate::shapes::{Kind, Member, Operation, Pagination, Shape};",
            "",
            f"/// Prefix of the `X-Amz-Target` header.",
            f"pub const TARGET_PREFIX: &str = {rust_str(self.model['metadata']['targetPrefix'])};",
            f"/// SigV4 signing name of the service.",
            f"pub const SIGNING_NAME: &str = {rust_str(self.model['metadata'].get('signingName', self.model['metadata']['endpointPrefix']))};",
            "",
            "/// Every operation, sorted by name.",
            "pub static OPERATIONS: &[Operation] = &[",
            *op_rows,
            "];",
            "",
            "/// Every shape an operation's input or output reaches; `Member::shape`",
            "/// and the `Kind` indices point into this table.",
            "pub static SHAPES: &[Shape] = &[",
            *shape_rows,
            "];",
            "",
        ])

    def render_shape(self, name):
        shape = self.shapes[name]
        kind = shape["type"]
        if kind == "structure":
            members = []
            required = set(shape.get("required", []))
            for api, spec in shape["members"].items():
                members.append(f"Member {{ name: {rust_str(snake(api))}, api_name: {rust_str(api)}, "
                               f"shape: {self.index[spec['shape']]}, required: {'true' if api in required else 'false'} }}")
            inner = "Kind::Structure(&[" + ", ".join(members) + "])"
            if shape.get("document"):
                inner = "Kind::Document"
        elif kind == "list":
            inner = f"Kind::List {{ item: {self.index[shape['member']['shape']]} }}"
        elif kind == "map":
            inner = f"Kind::Map {{ key: {self.index[shape['key']['shape']]}, value: {self.index[shape['value']['shape']]} }}"
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
            inner = "Kind::Timestamp"
        elif kind == "blob":
            inner = "Kind::Blob"
        else:
            raise SystemExit(f"shape {name}: unsupported type {kind}")
        bound = lambda k: f"Some({shape[k]})" if k in shape else "None"
        return (f"Shape {{ kind: {inner}, min: {bound('min')}, max: {bound('max')}, "
                f"sensitive: {'true' if shape.get('sensitive') else 'false'} }}")


WIRE_OUTPUT = os.path.join(ROOT, "tests", "tests", "suite", "wire", "wire_cases", "mod.rs")


def pascal(name):
    return "".join(w[:1].upper() + w[1:] for w in split_words(name))


class WireCases:
    """Renders, for every operation, one representative input twice: as the
    connector's snake_case JSON and as the official SDK's builder calls, so
    a test can compare what both send."""

    def __init__(self, model):
        self.model = model
        self.shapes = model["shapes"]

    def sample(self, shape_name, member):
        """(snake_case JSON text, Rust SDK expression) for one value."""
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure" and shape.get("document"):
            return ('{"sample_key": "value"}',
                    "aws_smithy_types::Document::Object(std::collections::HashMap::from([(\"sample_key\".to_owned(), "
                    "aws_smithy_types::Document::String(\"value\".to_owned()))]))")
        if kind == "structure":
            json_parts, setters = [], []
            for api, spec in shape["members"].items():
                j, r = self.sample(spec["shape"], api)
                json_parts.append(f"{rust_str(snake(api))}: {j}")
                setters.append(f".set_{snake(api)}(Some({r}))")
            # smithy-rs builders fail on a missing required member, except
            # for members that are structures, which stay optional.
            fallible = any(self.shapes[shape["members"][m]["shape"]]["type"] != "structure"
                           for m in shape.get("required", []))
            build = ".build().expect(\"the sample has every member\")" if fallible else ".build()"
            return ("{" + ", ".join(json_parts) + "}",
                    f"types::{pascal(shape_name)}::builder(){''.join(setters)}{build}")
        if kind == "list":
            j, r = self.sample(shape["member"]["shape"], member)
            count = max(1, shape.get("min", 1))
            return "[" + ", ".join([j] * count) + "]", "vec![" + ", ".join([r] * count) + "]"
        if kind == "map":
            key_shape = self.shapes[shape["key"]["shape"]]
            key = key_shape["enum"][0] if "enum" in key_shape else "sample_key"
            j, r = self.sample(shape["value"]["shape"], member)
            return (f"{{{rust_str(key)}: {j}}}",
                    f"std::collections::HashMap::from([({rust_str(key)}.to_owned(), {r})])")
        if kind == "string":
            if "enum" in shape:
                value = shape["enum"][0]
                return rust_str(value), f"types::{pascal(shape_name)}::from({rust_str(value)})"
            value = f"{member}-value"
            value = (value * (shape.get("min", 0) // len(value) + 1))[:max(shape.get("min", 0), len(value))]
            value = value[:shape.get("max", len(value))]
            return rust_str(value), f"{rust_str(value)}.to_owned()"
        if kind in ("integer", "long"):
            value = max(shape.get("min", 3), min(shape.get("max", 3), 3))
            return str(value), f"{value}"
        if kind == "boolean":
            return "true", "true"
        if kind == "blob":
            return rust_str("YmxvYg=="), "aws_smithy_types::Blob::new(b\"blob\".to_vec())"
        raise SystemExit(f"no wire sample for {shape_name} ({kind})")

    def api_sample(self, shape_name, member, stack=()):
        """A response value in the API's own JSON (PascalCase members)."""
        if shape_name in stack:
            return "null"
        shape = self.shapes[shape_name]
        kind = shape["type"]
        stack = stack + (shape_name,)
        if kind == "structure" and shape.get("document"):
            return '{"sample_key": "value"}'
        if kind == "structure":
            return "{" + ", ".join(f"{rust_str(api)}: {self.api_sample(spec['shape'], api, stack)}"
                                   for api, spec in shape["members"].items()) + "}"
        if kind == "list":
            return "[" + self.api_sample(shape["member"]["shape"], member, stack) + "]"
        if kind == "map":
            key_shape = self.shapes[shape["key"]["shape"]]
            key = key_shape["enum"][0] if "enum" in key_shape else "sample_key"
            return f"{{{rust_str(key)}: {self.api_sample(shape['value']['shape'], member, stack)}}}"
        if kind == "timestamp":
            return "1700000000.5"
        return self.sample(shape_name, member)[0]

    def render(self):
        ops = sorted(self.model["operations"], key=snake)
        inputs, sends, outputs = [], [], []
        for api_name in ops:
            op = self.model["operations"][api_name]
            j, _ = self.sample(op["input"]["shape"], api_name)
            members = self.shapes[op["input"]["shape"]]["members"]
            setters = "".join(f".set_{snake(m)}(Some({self.sample(spec['shape'], m)[1]}))"
                              for m, spec in members.items())
            inputs.append(f"        {rust_str(snake(api_name))} => json!({j}),")
            sends.append(f"        {rust_str(snake(api_name))} => client.{snake(api_name)}(){setters}.send().await.map(drop)"
                         ".map_err(|e| format!(\"{e:?}\")),")
            output = self.api_sample(op["output"]["shape"], api_name) if "output" in op else "{}"
            outputs.append(f"        {rust_str(snake(api_name))} => json!({output}),")
        return "\n".join([
            "// @generated by guest-cognito/codegen/generate.py from the cognito-idp API model. Do not edit.",
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="service-2.json(.gz) of cognito-idp 2016-04-18")
    parser.add_argument("--check", action="store_true", help="fail if model.rs is out of date")
    args = parser.parse_args()
    model_path = args.model or find_model()
    model = load_json(model_path)
    paginators = load_json(os.path.join(os.path.dirname(model_path), "paginators-1.json"))
    with open(DESCRIPTIONS, encoding="utf-8") as f:
        descriptions = json.load(f)
    outputs = {
        OUTPUT: Generator(model, paginators, descriptions).render(),
        WIRE_OUTPUT: WireCases(model).render(),
    }
    stale = []
    for path, text in outputs.items():
        text = subprocess.run(["rustfmt", "--edition", "2024", "--config", "max_width=120"], input=text,
                              capture_output=True, text=True, check=True).stdout
        if args.check:
            with open(path, encoding="utf-8") as f:
                if f.read() != text:
                    stale.append(path)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {path}: {len(model['operations'])} operations")
    if stale:
        print(f"out of date: {', '.join(stale)}; run {sys.argv[0]}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
