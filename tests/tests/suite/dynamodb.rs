//! The DynamoDB connector, generated from DynamoDB's API model, against
//! moto: a table made, written, read, queried page by page and in
//! batches, a conditional write refused as a typed service error, bad
//! input refused before any request; what it did read back with boto3.

use connector_host::InvokeError;
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{components, host_for};
use serde_json::{Value, json};

/// What boto3 (an independent client) reads from `table`.
fn boto3_items(emulator: &Emulator, table: &str) -> Value {
    let script = r#"
db = client("dynamodb")

def plain(value):
    (kind, inner), = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "M":
        return {"M": {k: plain(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [plain(v) for v in inner]}
    return {kind: inner}

items = [{k: plain(v) for k, v in item.items()} for item in db.scan(TableName=sys.argv[1])["Items"]]
print(json.dumps(sorted(items, key=lambda item: item["sk"]["S"])))
"#;
    emulator.boto3(script, &[table])
}

#[tokio::test]
async fn a_generated_connector_creates_writes_queries_and_fails_typed() {
    let emulator = Emulator::start(Kind::Moto);
    let host = host_for(&emulator.endpoint()).await;
    let dynamodb = host.load(components::GUEST_DYNAMODB).await.expect("the DynamoDB connector loads");
    assert_eq!(dynamodb.manifest().services, ["dynamodb"]);
    let call = |operation: &'static str, input: Value| {
        let (host, dynamodb) = (&host, &dynamodb);
        async move { host.invoke(dynamodb, operation, &input).await }
    };

    let created = call(
        "create_table",
        json!({
            "table_name": "Orders",
            "attribute_definitions": [{"attribute_name": "pk", "attribute_type": "S"},
                                      {"attribute_name": "sk", "attribute_type": "S"}],
            "key_schema": [{"attribute_name": "pk", "key_type": "HASH"}, {"attribute_name": "sk", "key_type": "RANGE"}],
            "billing_mode": "PAY_PER_REQUEST",
        }),
    )
    .await
    .unwrap();
    assert_eq!(created["TableDescription"]["TableName"], "Orders", "{created}");

    // A binary attribute, and a map holding a list: the recursive
    // attribute value, converted at every depth.
    let first = json!({"pk": {"s": "customer-1"}, "sk": {"s": "order-1"}, "blob": {"b": "AAEC/w=="},
                       "lines": {"m": {"items": {"l": [{"s": "pen"}, {"n": "2"}]}}}});
    call("put_item", json!({"table_name": "Orders", "item": first})).await.unwrap();
    let got =
        call("get_item", json!({"table_name": "Orders", "key": {"pk": {"s": "customer-1"}, "sk": {"s": "order-1"}}}))
            .await
            .unwrap();
    assert_eq!(got["Item"]["blob"], json!({"B": "AAEC/w=="}), "{got}");
    assert_eq!(got["Item"]["lines"]["M"]["items"]["L"][1], json!({"N": "2"}));

    let more: Vec<Value> = (2..=5)
        .map(|i| json!({"put_request": {"item": {"pk": {"s": "customer-1"}, "sk": {"s": format!("order-{i}")}}}}))
        .collect();
    let written = call("batch_write_item", json!({"request_items": {"Orders": more}})).await.unwrap();
    assert_eq!(written["UnprocessedItems"], json!({}), "{written}");

    // One item a page: every page followed by its key object, the counts summed.
    let query = json!({"table_name": "Orders", "key_condition_expression": "pk = :pk",
                       "expression_attribute_values": {":pk": {"s": "customer-1"}}, "limit": 1});
    let page = call("query", query.clone()).await.unwrap();
    assert_eq!((page["Count"].clone(), page["LastEvaluatedKey"]["sk"].clone()), (json!(1), json!({"S": "order-1"})));
    let mut all = query.clone();
    all["all_pages"] = json!(true);
    let everything = call("query", all).await.unwrap();
    let keys: Vec<&str> =
        everything["Items"].as_array().unwrap().iter().map(|i| i["sk"]["S"].as_str().unwrap()).collect();
    assert_eq!(keys, ["order-1", "order-2", "order-3", "order-4", "order-5"], "{everything}");
    assert_eq!(everything["Count"], 5);
    let mut bounded = query;
    bounded["all_pages"] = json!(true);
    bounded["max_pages"] = json!(2);
    match call("query", bounded).await {
        Err(InvokeError::Connector(message)) => assert!(message.contains("did not end within 2 pages"), "{message}"),
        other => panic!("a listing past max_pages must fail, got {other:?}"),
    }

    // A conditional write that fails keeps the service's code, status and
    // retryable flag.
    let again = json!({"table_name": "Orders", "item": first, "condition_expression": "attribute_not_exists(pk)"});
    match call("put_item", again).await {
        Err(InvokeError::Service { code, status, retryable, .. }) => {
            assert_eq!((code.as_str(), status, retryable), ("ConditionalCheckFailedException", 400, false))
        }
        other => panic!("expected ConditionalCheckFailedException, got {other:?}"),
    }

    // Bad input is refused by the connector, naming the member, before
    // any request: moto never sees the table.
    let bad = [
        (json!({"table_name": "Bad", "bogus": 1}), "bogus: unknown field"),
        (json!({"table_name": 5}), "table_name: expected a string, got the number 5"),
        (json!({"table_name": ""}), "table_name: has 0 characters, at least 1 needed"),
        (json!({"table_name": "Bad", "billing_mode": "FREE"}), "billing_mode: `FREE` is not one of"),
        (
            json!({"table_name": "Bad", "on_demand_throughput": {"max_read_request_units": "many"}}),
            "on_demand_throughput.max_read_request_units: expected an integer",
        ),
    ];
    for (input, problem) in bad {
        match call("create_table", input.clone()).await {
            Err(InvokeError::InvalidInput(message)) => assert!(message.contains(problem), "{input}: {message}"),
            other => panic!("{input} must be refused, got {other:?}"),
        }
    }
    let tables = call("list_tables", json!({})).await.unwrap();
    assert_eq!(tables["TableNames"], json!(["Orders"]));

    let seen = boto3_items(&emulator, "Orders");
    assert_eq!(seen.as_array().unwrap().len(), 5);
    assert_eq!(seen[0]["blob"], json!({"B": "AAEC/w=="}));
    assert_eq!(seen[0]["lines"], json!({"M": {"items": {"L": [{"S": "pen"}, {"N": "2"}]}}}));

    call("delete_table", json!({"table_name": "Orders"})).await.unwrap();
    let tables = call("list_tables", json!({})).await.unwrap();
    assert_eq!(tables["TableNames"], json!([]));
}
