//! Wire conformance: for every operation, the request the connector sends
//! (X-Amz-Target, JSON body, signed or not) equals the one an official
//! client sends for the same logical input: aws-sdk-cognitoidentityprovider
//! for Cognito, boto3 (of the models' own botocore) for the other
//! generated connectors. This is the check for the operations no emulator
//! implements. Each Cognito operation's full response shape (every output
//! member) is also returned verbatim by the connector and parsed by the SDK.

mod wire_cases;

use aws_sdk_cognitoidentityprovider as sdk;
use aws_smithy_http_client::test_util::capture_request;
use connector_tests::capture::CaptureServer;
use connector_tests::emulator::models_venv;
use connector_tests::{REGION, components, host_for, test_credentials};
use serde_json::{Value, json};

fn sdk_capturing(response: &Value) -> (sdk::Client, aws_smithy_http_client::test_util::CaptureRequestReceiver) {
    let response = http::Response::builder()
        .status(200)
        .header("content-type", "application/x-amz-json-1.1")
        .body(aws_smithy_types::body::SdkBody::from(response.to_string()))
        .unwrap();
    let (http_client, receiver) = capture_request(Some(response));
    let config = sdk::Config::builder()
        .behavior_version(sdk::config::BehaviorVersion::latest())
        .region(sdk::config::Region::new(REGION))
        .endpoint_url("http://127.0.0.1:1")
        .credentials_provider(test_credentials())
        .http_client(http_client)
        .build();
    (sdk::Client::from_conf(config), receiver)
}

/// The generated SDK calls build deeply nested values; unoptimized test
/// builds need a larger stack than a test thread's default for them.
#[test]
fn every_operation_sends_what_the_sdk_sends() {
    std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(|| tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(compare_all()))
        .unwrap()
        .join()
        .unwrap();
}

async fn compare_all() {
    let server = CaptureServer::start();
    let host = host_for(&server.endpoint()).await;
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();

    let listed: Vec<&str> =
        cognito.manifest().operations.iter().map(|op| op.name.as_str()).filter(|n| *n != "call_api").collect();
    assert_eq!(listed, wire_cases::OPERATIONS, "the manifest lists exactly the model's operations");
    assert_eq!(listed.len(), 132);

    let mut mismatches = Vec::new();
    for &operation in wire_cases::OPERATIONS {
        let input = wire_cases::input(operation);
        let response = wire_cases::output(operation);
        server.respond_with(200, response.to_string().as_bytes());
        match host.invoke(&cognito, operation, &input).await {
            Ok(output) if output == response => {}
            Ok(output) => mismatches.push(format!("{operation}: output changed on the way:\n  {output}\n  {response}")),
            Err(e) => {
                mismatches.push(format!("{operation}: the connector refused the sample input: {e}"));
                continue;
            }
        }
        let ours = server.take().pop().expect("the connector sent a request");

        let (client, receiver) = sdk_capturing(&response);
        if let Err(e) = wire_cases::send_with_sdk(&client, operation).await {
            mismatches.push(format!("{operation}: the SDK could not parse the full response shape: {e}"));
        }
        let theirs = receiver.expect_request();

        let their_target = theirs.headers().get("x-amz-target").unwrap_or_default();
        if ours.header("x-amz-target") != Some(their_target) {
            mismatches.push(format!("{operation}: target {:?} vs SDK {their_target:?}", ours.header("x-amz-target")));
        }
        let their_body: Value = serde_json::from_slice(theirs.body().bytes().unwrap()).unwrap();
        let our_body: Value = serde_json::from_slice(&ours.body).unwrap();
        if input.as_object().is_some_and(|fields| !fields.is_empty()) && our_body == serde_json::json!({}) {
            mismatches.push(format!("{operation}: the sample input produced an empty body"));
        }
        if our_body != their_body {
            mismatches.push(format!("{operation}: body\n  ours: {our_body}\n  sdk:  {their_body}"));
        }
        let their_signed = theirs.headers().contains_key("authorization");
        if ours.header("authorization").is_some() != their_signed {
            mismatches.push(format!("{operation}: signed {} vs SDK {their_signed}", !their_signed));
        }
        if ours.header("content-type") != theirs.headers().get("content-type") {
            mismatches.push(format!("{operation}: content-type differs"));
        }
    }
    assert!(mismatches.is_empty(), "{} of 132 operations differ:\n{}", mismatches.len(), mismatches.join("\n"));
}

/// Every DynamoDB operation's request, from the generator's sample input
/// (`wire/boto3/dynamodb.json`), against boto3's for the same input.
#[tokio::test]
async fn every_dynamodb_operation_sends_what_boto3_sends() {
    compare_with_boto3("dynamodb", components::GUEST_DYNAMODB, 62, Reply::Json).await;
}

/// Every Lambda operation's request (REST-JSON: path labels, query,
/// headers, payloads) against boto3's.
#[tokio::test]
async fn every_lambda_operation_sends_what_boto3_sends() {
    compare_with_boto3("lambda", components::GUEST_LAMBDA, 88, Reply::Json).await;
}

/// Every SNS operation's request (the query protocol: lists, maps with
/// their own element names, flattened into form parameters) against
/// boto3's.
#[tokio::test]
async fn every_sns_operation_sends_what_boto3_sends() {
    compare_with_boto3("sns", components::GUEST_SNS, 42, Reply::Xml).await;
}

/// Every S3 operation's request (REST-XML: path labels, headers, XML
/// bodies with their namespaces, checksums) against boto3's.
#[tokio::test]
async fn every_s3_operation_sends_what_boto3_sends() {
    compare_with_boto3("s3", components::GUEST_S3, 116, Reply::Xml).await;
}

/// Every EC2 operation's request (EC2's query protocol: `Name.N` lists,
/// capitalized names) against boto3's.
#[tokio::test]
async fn every_ec2_operation_sends_what_boto3_sends() {
    compare_with_boto3("ec2", components::GUEST_EC2, 811, Reply::Xml).await;
}

/// Every CloudWatch operation's request against boto3's: it lists CBOR,
/// JSON and query, and both speak JSON, botocore's first choice.
#[tokio::test]
async fn every_cloudwatch_operation_sends_what_boto3_sends() {
    compare_with_boto3("cloudwatch", components::GUEST_CLOUDWATCH, 55, Reply::Json).await;
}

/// Every operation of EventBridge v2, which speaks only Smithy RPC v2 CBOR
/// (the path naming the operation, the input as CBOR with byte strings and
/// tagged timestamps), against boto3's.
#[tokio::test]
async fn every_cbor_operation_sends_what_boto3_sends() {
    compare_with_boto3("eventbridgev2", components::EVENTS_V2, 25, Reply::Cbor).await;
}

/// What a service answers in.
#[derive(Clone, Copy)]
enum Reply {
    Json,
    /// Query, EC2, REST-XML.
    Xml,
    /// Smithy RPC v2 CBOR.
    Cbor,
}

async fn compare_with_boto3(service: &str, component: &str, operations: usize, reply: Reply) {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suite/wire");
    let cases_file = here.join(format!("boto3/{service}.json"));
    let cases: serde_json::Map<String, Value> =
        serde_json::from_slice(&std::fs::read(&cases_file).unwrap()).expect("the wire cases are JSON");
    let boto3 = std::process::Command::new(models_venv().join("bin/python"))
        .arg(here.join("boto3_requests.py"))
        .arg(service)
        .arg(&cases_file)
        .output()
        .expect("python runs");
    assert!(boto3.status.success(), "boto3: {}", String::from_utf8_lossy(&boto3.stderr));
    let theirs: serde_json::Map<String, Value> = serde_json::from_slice(&boto3.stdout).unwrap();

    let server = CaptureServer::start();
    let host = host_for(&server.endpoint()).await;
    let connector = host.load(component).await.unwrap();
    let listed: Vec<&str> =
        connector.manifest().operations.iter().map(|op| op.name.as_str()).filter(|n| *n != "call_api").collect();
    assert_eq!(listed, cases.keys().map(String::as_str).collect::<Vec<_>>(), "one case per operation");
    assert_eq!(listed.len(), operations);

    let mut mismatches = Vec::new();
    for (operation, case) in &cases {
        // An empty answer in the service's own format.
        let action = case["api_name"].as_str().unwrap();
        match reply {
            // An event stream without events.
            _ if case.get("streams_events").is_some() => server.respond_with(200, b""),
            Reply::Xml => {
                server.respond_with(200, format!("<{action}Response><{action}Result/></{action}Response>").as_bytes())
            }
            Reply::Json => server.respond_with(200, b"{}"),
            // An empty CBOR map.
            Reply::Cbor => server.respond_with(200, b"\xa0"),
        }
        if let Err(e) = host.invoke(&connector, operation, &case["input"]).await {
            mismatches.push(format!("{operation}: the connector refused the sample input: {e}"));
            continue;
        }
        let ours = server.take().pop().expect("the connector sent a request");
        let ours = canonical_body(request_json(&ours));
        let mut boto3_request = canonical_body(theirs[operation].clone());
        if let Some(Value::Object(headers)) = boto3_request.get_mut("headers") {
            *headers = input_headers(std::mem::take(headers).into_iter());
        }
        if ours != boto3_request {
            mismatches.push(format!("{operation}:\n  ours:  {ours}\n  boto3: {boto3_request}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {operations} {service} operations differ from boto3:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// A captured request as boto3_requests.py prints boto3's.
fn request_json(request: &connector_tests::capture::CapturedRequest) -> Value {
    let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
    let pairs = sorted_pairs(query);
    let headers = input_headers(request.headers.iter().map(|(name, value)| (name.clone(), json!(value))));
    let form = request.header("content-type").is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let body = match request.body.as_slice() {
        [] => Value::Null,
        bytes if form => json!({"form": sorted_pairs(&String::from_utf8_lossy(bytes))}),
        bytes => serde_json::from_slice(bytes).unwrap_or_else(|_| {
            use base64::Engine;
            json!({"base64": base64::engine::general_purpose::STANDARD.encode(bytes)})
        }),
    };
    json!({
        "method": request.method,
        "path": path,
        "query": pairs,
        "headers": headers,
        "signed": request.header("authorization").is_some(),
        "body": body,
    })
}

/// `request` as both clients' requests compare: a CRC32 checksum header
/// replaced by whether it is the body's (two clients may write the same
/// XML in other bytes), and an XML body (base64 text that decodes to XML)
/// as its canonical tree: namespaces resolved, attributes and children
/// sorted (the order of a structure's members is free; the sample's list
/// items are all alike), text trimmed, the XML declaration gone.
fn canonical_body(mut request: Value) -> Value {
    use base64::Engine;
    let bytes = match &request["body"] {
        Value::Null => Some(Vec::new()),
        body => body["base64"].as_str().and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok()),
    };
    if let (Some(bytes), Some(checksum)) = (&bytes, request["headers"].get_mut("x-amz-checksum-crc32")) {
        let expected = base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(bytes).to_be_bytes());
        *checksum = json!(if *checksum == expected {
            "the body's CRC32".to_owned()
        } else {
            format!("{checksum}, not the body's CRC32")
        });
    }
    let Some(bytes) = bytes else { return request };
    if request["headers"]["content-type"] == "application/cbor" {
        let decoded: ciborium::Value = ciborium::from_reader(bytes.as_slice()).expect("a CBOR body");
        request["body"] = json!({"cbor": cbor_json(decoded)});
        return request;
    }
    let Some(document) = std::str::from_utf8(&bytes).ok().and_then(|t| roxmltree::Document::parse(t).ok()) else {
        return request;
    };
    fn tree(node: roxmltree::Node<'_, '_>) -> Value {
        let name = |n: roxmltree::ExpandedName<'_, '_>| format!("{{{}}}{}", n.namespace().unwrap_or(""), n.name());
        let mut attributes: Vec<(String, String)> = node
            .attributes()
            .map(|a| (format!("{{{}}}{}", a.namespace().unwrap_or(""), a.name()), a.value().to_owned()))
            .collect();
        attributes.sort();
        let mut children: Vec<Value> = node.children().filter(|c| c.is_element()).map(tree).collect();
        children.sort_by_key(|c| c.to_string());
        let text = if children.is_empty() { node.text().unwrap_or("").trim() } else { "" };
        json!({"name": name(node.tag_name()), "attributes": attributes, "text": text, "children": children})
    }
    request["body"] = json!({"xml": tree(document.root_element())});
    request
}

/// A CBOR value as JSON that keeps what CBOR says: byte strings and tags
/// are marked, numbers compare by value whether sent as integers, single
/// or double floats.
fn cbor_json(value: ciborium::Value) -> Value {
    use ciborium::Value as Cbor;
    match value {
        Cbor::Integer(i) => json!(i128::from(i) as f64),
        Cbor::Float(f) => json!(f),
        Cbor::Bytes(bytes) => json!({"bytes": bytes}),
        Cbor::Text(text) => json!(text),
        Cbor::Bool(b) => json!(b),
        Cbor::Null => Value::Null,
        Cbor::Tag(tag, inner) => json!({"tag": tag, "value": cbor_json(*inner)}),
        Cbor::Array(items) => Value::Array(items.into_iter().map(cbor_json).collect()),
        Cbor::Map(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| (k.into_text().unwrap_or_else(|k| format!("{k:?}")), cbor_json(v)))
                .collect(),
        ),
        other => json!(format!("{other:?}")),
    }
}

/// The pairs of a query string or form body, decoded and sorted.
fn sorted_pairs(encoded: &str) -> Vec<(String, String)> {
    let url = reqwest::Url::parse(&format!("http://x/?{encoded}")).unwrap();
    let mut pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    pairs.sort();
    pairs
}

/// The headers that carry input, in name order: not the signature's, the
/// SDK's own or the transport's, which differ between any two clients.
fn input_headers(headers: impl Iterator<Item = (String, Value)>) -> serde_json::Map<String, Value> {
    const NOT_INPUT: &[&str] = &[
        "authorization",
        "x-amz-date",
        "x-amz-content-sha256",
        "x-amz-security-token",
        "user-agent",
        "x-amz-user-agent",
        "content-length",
        "host",
        "accept-encoding",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
        "expect",
        "x-amzn-trace-id",
        "transfer-encoding",
        "connection",
        "accept",
    ];
    let kept: std::collections::BTreeMap<String, Value> =
        headers.filter(|(name, _)| !NOT_INPUT.contains(&name.as_str())).collect();
    kept.into_iter().collect()
}
