//! The S3 connector, generated from S3's API model (REST-XML), against
//! moto: a bucket with tags (an XML body with its checksum), objects with
//! binary bodies, metadata and keys that need encoding, a listing by
//! prefix followed page by page and with `all_pages`, a ranged read, a
//! batch delete, S3 Select's event stream read whole, a missing key as a
//! typed service error, bad input refused
//! before any request; what it did read back with boto3.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use connector_host::InvokeError;
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{components, host_for};
use serde_json::{Value, json};

#[tokio::test]
async fn a_generated_rest_xml_connector_stores_lists_reads_and_deletes_objects() {
    let emulator = Emulator::start(Kind::Moto);
    let host = host_for(&emulator.endpoint()).await;
    let s3 = host.load(components::GUEST_S3).await.expect("the S3 connector loads");
    assert_eq!(s3.manifest().services, ["s3"]);
    let call = |operation: &'static str, input: Value| {
        let (host, s3) = (&host, &s3);
        async move { host.invoke(s3, operation, &input).await }
    };

    call("create_bucket", json!({"bucket": "reports"})).await.unwrap();
    // An XML payload, which S3 takes only with a checksum.
    call(
        "put_bucket_tagging",
        json!({"bucket": "reports", "tagging": {"tag_set": [{"key": "team", "value": "finance"}]}}),
    )
    .await
    .unwrap();
    let tags = call("get_bucket_tagging", json!({"bucket": "reports"})).await.unwrap();
    assert_eq!(tags["TagSet"], json!([{"Key": "team", "Value": "finance"}]), "a one-tag list stays a list");

    // A binary body with metadata; keys with a space, `+`, a non-ASCII
    // letter and `/` are path data, signed as sent.
    let keys = ["2024/q1 report+é.bin", "2024/q2.bin", "2024/q3.bin", "2025/q1.bin", "top.bin"];
    for (i, key) in keys.iter().enumerate() {
        let put = call(
            "put_object",
            json!({"bucket": "reports", "key": key, "body": "AAEC/w==", "content_type": "application/octet-stream",
                   "metadata": {"owner": "ann", "index": i.to_string()}}),
        )
        .await
        .unwrap();
        assert!(put["ETag"].as_str().is_some_and(|etag| etag.starts_with('"')), "{put}");
    }

    // One page at a time, following the continuation token by hand.
    let first = call("list_objects_v2", json!({"bucket": "reports", "prefix": "2024/", "max_keys": 2})).await.unwrap();
    assert_eq!(first["IsTruncated"], json!(true), "{first}");
    assert_eq!(first["KeyCount"], json!(2));
    let token = first["NextContinuationToken"].as_str().expect("a continuation token");
    let second = call(
        "list_objects_v2",
        json!({"bucket": "reports", "prefix": "2024/", "max_keys": 2, "continuation_token": token}),
    )
    .await
    .unwrap();
    let listed: Vec<&str> = [&first, &second]
        .iter()
        .flat_map(|page| page["Contents"].as_array().unwrap())
        .map(|object| object["Key"].as_str().unwrap())
        .collect();
    assert_eq!(listed, &keys[..3]);
    assert_eq!(second["Contents"][0]["Size"], json!(4), "numbers keep their type");

    // Every page at once: both item lists gathered.
    let all = call("list_objects_v2", json!({"bucket": "reports", "delimiter": "/", "max_keys": 1, "all_pages": true}))
        .await
        .unwrap();
    assert_eq!(all["Contents"].as_array().map(Vec::len), Some(1), "{all}");
    assert_eq!(all["CommonPrefixes"], json!([{"Prefix": "2024/"}, {"Prefix": "2025/"}]));

    // A byte range of a binary body, and its metadata from the headers.
    let got = call("get_object", json!({"bucket": "reports", "key": keys[0], "range": "bytes=1-2"})).await.unwrap();
    assert_eq!(got["Body"], json!("AQI="), "bytes 1 and 2, base64");
    assert_eq!(got["ContentRange"], json!("bytes 1-2/4"));
    assert_eq!(got["ContentLength"], json!(2));
    assert_eq!(got["Metadata"], json!({"owner": "ann", "index": "0"}));

    // A missing key is S3's own error.
    match call("get_object", json!({"bucket": "reports", "key": "nope"})).await {
        Err(InvokeError::Service { code, status, retryable, .. }) => {
            assert_eq!((code.as_str(), status, retryable), ("NoSuchKey", 404, false))
        }
        other => panic!("expected NoSuchKey, got {other:?}"),
    }

    // Bad input is refused by the connector, naming the member, before any
    // request.
    let bad = [
        ("list_buckets", json!({"bogus": 1}), "bogus: unknown field"),
        ("list_buckets", json!({"max_buckets": "ten"}), "max_buckets: expected an integer"),
        ("list_buckets", json!({"max_buckets": 0}), "max_buckets: 0 is below the minimum 1"),
        (
            "list_directory_buckets",
            json!({"continuation_token": "t".repeat(1025)}),
            "continuation_token: has 1025 characters, at most 1024",
        ),
        ("get_object", json!({"bucket": "reports", "key": ""}), "key: has 0 characters, at least 1 needed"),
        ("get_object", json!({"bucket": "..", "key": "x"}), "Bucket: `..` cannot be a part of the path"),
    ];
    for (operation, input, problem) in bad {
        match call(operation, input.clone()).await {
            Err(InvokeError::InvalidInput(message)) => assert!(message.contains(problem), "{input}: {message}"),
            other => panic!("{input} must be refused, got {other:?}"),
        }
    }

    // What boto3 sees: the body's bytes, the metadata and the tags.
    let seen = emulator.boto3(
        r#"
s3 = client("s3")
head = s3.head_object(Bucket="reports", Key=sys.argv[1])
body = s3.get_object(Bucket="reports", Key=sys.argv[1])["Body"].read()
tags = s3.get_bucket_tagging(Bucket="reports")["TagSet"]
print(json.dumps({"metadata": head["Metadata"], "body": list(body), "tags": tags}))
"#,
        &[keys[0]],
    );
    assert_eq!(
        seen,
        json!({"metadata": {"owner": "ann", "index": "0"}, "body": [0, 1, 2, 255],
                            "tags": [{"Key": "team", "Value": "finance"}]})
    );

    // An operation that streams events: S3 Select over a CSV object. The
    // events arrive whole, in order, as boto3 reads them.
    let csv = "name,age\nann,34\nbob,27\n";
    call("put_object", json!({"bucket": "reports", "key": "people.csv", "body": BASE64.encode(csv)})).await.unwrap();
    let select = json!({
        "bucket": "reports", "key": "people.csv", "expression": "SELECT * FROM S3Object", "expression_type": "SQL",
        "input_serialization": {"csv": {"file_header_info": "USE"}}, "output_serialization": {"json": {}},
    });
    let selected = call("select_object_content", select).await.unwrap();
    let events = selected["Payload"].as_array().expect("the events, as a list");
    let kinds: Vec<&str> = events.iter().map(|e| e.as_object().unwrap().keys().next().unwrap().as_str()).collect();
    assert_eq!(kinds.last(), Some(&"End"), "{selected}");
    let records: Vec<u8> = events
        .iter()
        .filter_map(|e| e["Records"]["Payload"].as_str())
        .flat_map(|payload| BASE64.decode(payload).unwrap())
        .collect();
    let stats = events.iter().find_map(|e| e.get("Stats")).expect("a Stats event");
    assert!(stats["Details"]["BytesScanned"].as_i64().is_some_and(|n| n > 0), "{stats}");
    let boto3_records = emulator.boto3(
        r#"
s3 = client("s3")
reply = s3.select_object_content(Bucket="reports", Key="people.csv", Expression="SELECT * FROM S3Object",
    ExpressionType="SQL", InputSerialization={"CSV": {"FileHeaderInfo": "USE"}}, OutputSerialization={"JSON": {}})
print(json.dumps(b"".join(e["Records"]["Payload"] for e in reply["Payload"] if "Records" in e).decode()))
"#,
        &[],
    );
    assert_eq!(Value::String(String::from_utf8(records).unwrap()), boto3_records);
    assert!(boto3_records.as_str().unwrap().contains(r#""name":"ann""#), "{boto3_records}");
    call("delete_object", json!({"bucket": "reports", "key": "people.csv"})).await.unwrap();

    // A batch delete (an XML body S3 takes only with a checksum), then the
    // bucket.
    let objects: Vec<Value> = keys.iter().map(|key| json!({"key": key})).collect();
    let deleted = call("delete_objects", json!({"bucket": "reports", "delete": {"objects": objects}})).await.unwrap();
    assert_eq!(deleted["Deleted"].as_array().map(Vec::len), Some(keys.len()), "{deleted}");
    call("delete_bucket", json!({"bucket": "reports"})).await.unwrap();
    let buckets = call("list_buckets", json!({})).await.unwrap();
    assert_eq!(buckets.get("Buckets").cloned().unwrap_or(json!([])), json!([]), "{buckets}");
}
