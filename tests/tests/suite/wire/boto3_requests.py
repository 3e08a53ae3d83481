"""Prints the request boto3 sends for each wire case of a service, without
sending it: a `before-send` hook keeps the request and answers `{}`.

    python boto3_requests.py SERVICE CASES.json

CASES.json is what connector-sdk/codegen/aws.py writes: per operation, its
API name and an input in the API's own member names (blobs as base64 text,
turned into bytes here as boto3 takes them). Prints one JSON object: per
operation, the method, path, query (sorted pairs), the headers (names in
lower case; the test keeps those that carry input), whether it is signed,
and the body: as JSON, a form as sorted pairs, or base64 text.
"""

import base64
import json
import sys
from urllib.parse import parse_qsl, urlsplit

import boto3
from botocore.awsrequest import AWSResponse


class Body:
    def __init__(self, data):
        self.data = data

    def stream(self, **_):
        yield self.data


def body_of(data, content_type):
    """A body as JSON, a form as its sorted pairs, else base64 text."""
    if not data:
        return None
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {"form": sorted(parse_qsl(data.decode(), keep_blank_values=True))}
    try:
        return json.loads(data)
    except ValueError:
        return {"base64": base64.b64encode(data).decode()}


def with_bytes(shape, value):
    """`value` with every blob member's base64 text turned into bytes."""
    kind = shape.type_name
    if kind == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    if kind == "structure" and isinstance(value, dict):
        return {k: with_bytes(shape.members[k], v) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [with_bytes(shape.member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: with_bytes(shape.value, v) for k, v in value.items()}
    return value


def main():
    service, cases_path = sys.argv[1], sys.argv[2]
    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)
    client = boto3.client(service, endpoint_url="http://127.0.0.1:1", region_name="us-east-1",
                          aws_access_key_id="AKIDWIRE", aws_secret_access_key="wire-secret")
    sent = []
    current = {"action": ""}
    protocol = client.meta.service_model.resolved_protocol
    xml = protocol in ("query", "ec2", "rest-xml")

    def keep(request, **_):
        sent.append(request)
        if xml:
            action = current["action"]
            reply = f"<{action}Response><{action}Result/></{action}Response>".encode()
            return AWSResponse(request.url, 200, {"content-type": "text/xml"}, Body(reply))
        if protocol == "smithy-rpc-v2-cbor":  # an empty map
            headers = {"content-type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
            return AWSResponse(request.url, 200, headers, Body(b"\xa0"))
        return AWSResponse(request.url, 200, {"content-type": "application/x-amz-json-1.0"}, Body(b"{}"))

    client.meta.events.register("before-send", keep)
    if service == "ec2":
        # boto3 base64-encodes RunInstances' UserData for its caller; the
        # API (and the connector) takes it base64-encoded already.
        from botocore.handlers import base64_encode_user_data
        client.meta.events.unregister("before-parameter-build.ec2.RunInstances", base64_encode_user_data)
    model = client.meta.service_model
    out = {}
    for name, case in cases.items():
        operation = model.operation_model(case["api_name"])
        params = with_bytes(operation.input_shape, case["api_input"])
        sent.clear()
        current["action"] = case["api_name"]
        getattr(client, operation_method(client, case["api_name"]))(**params)
        request = sent[-1]
        headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        body = request.body
        if hasattr(body, "read"):  # a streaming body (S3's PutObject)
            body.seek(0)
            body = body.read()
        body = body.encode() if isinstance(body, str) else (body or b"")
        url = urlsplit(request.url)
        out[name] = {
            "method": request.method,
            "path": url.path or "/",
            "query": sorted(parse_qsl(url.query, keep_blank_values=True)),
            "headers": dict(sorted(headers.items())),
            "signed": "authorization" in headers,
            "body": body_of(body, headers.get("content-type", "")),
        }
    json.dump(out, sys.stdout)


def operation_method(client, api_name):
    """boto3's method name for an API operation (`PutItem` -> `put_item`)."""
    names = {v: k for k, v in client.meta.method_to_api_mapping.items()}
    return names[api_name]


if __name__ == "__main__":
    main()
