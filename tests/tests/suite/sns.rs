//! The SNS connector, generated from SNS's API model (the query
//! protocol), against moto: a topic with attributes and tags, a
//! subscription, a message with attributes published, a missing topic a
//! typed service error, bad input refused before any request; what it did
//! read back with boto3.

use connector_host::InvokeError;
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{components, host_for};
use serde_json::{Value, json};

#[tokio::test]
async fn a_generated_query_connector_makes_topics_subscribes_and_publishes() {
    let emulator = Emulator::start(Kind::Moto);
    let endpoint = emulator.endpoint();
    let host = host_for(&endpoint).await;
    let sns = host.load(components::GUEST_SNS).await.expect("the SNS connector loads");
    assert_eq!(sns.manifest().services, ["sns"]);
    let call = |operation: &'static str, input: Value| {
        let (host, sns) = (&host, &sns);
        async move { host.invoke(sns, operation, &input).await }
    };

    // A map (attributes) and a list of structures (tags), flattened into
    // form parameters.
    let created = call(
        "create_topic",
        json!({"name": "orders", "attributes": {"DisplayName": "Orders"},
               "tags": [{"key": "team", "value": "growth"}, {"key": "stage", "value": "test"}]}),
    )
    .await
    .unwrap();
    let topic = created["TopicArn"].as_str().expect("a topic ARN").to_owned();
    assert!(topic.ends_with(":orders"), "{created}");
    call("create_topic", json!({"name": "other"})).await.unwrap();

    let attributes = call("get_topic_attributes", json!({"topic_arn": topic})).await.unwrap();
    assert_eq!(attributes["Attributes"]["DisplayName"], "Orders", "{attributes}");
    call(
        "set_topic_attributes",
        json!({"topic_arn": topic, "attribute_name": "DisplayName", "attribute_value": "All orders"}),
    )
    .await
    .unwrap();

    // A list read by the output shape: each item an object, even one.
    let topics = call("list_topics", json!({})).await.unwrap();
    let mut arns: Vec<&str> =
        topics["Topics"].as_array().unwrap().iter().map(|t| t["TopicArn"].as_str().unwrap()).collect();
    arns.sort();
    assert_eq!(arns.len(), 2, "{topics}");
    let tags = call("list_tags_for_resource", json!({"resource_arn": topic})).await.unwrap();
    assert_eq!(tags["Tags"].as_array().map(Vec::len), Some(2), "{tags}");

    let subscribed = call(
        "subscribe",
        json!({"topic_arn": topic, "protocol": "email", "endpoint": "orders@example.com", "return_subscription_arn": true}),
    )
    .await
    .unwrap();
    assert!(subscribed["SubscriptionArn"].as_str().is_some_and(|a| a.starts_with(&topic)), "{subscribed}");
    let subscriptions = call("list_subscriptions_by_topic", json!({"topic_arn": topic})).await.unwrap();
    assert_eq!(subscriptions["Subscriptions"][0]["Endpoint"], "orders@example.com", "{subscriptions}");

    // Message attributes: a map whose entries are `Name` and `Value`.
    let published = call(
        "publish",
        json!({"topic_arn": topic, "message": "order 42 shipped", "subject": "Shipped",
               "message_attributes": {"order": {"data_type": "Number", "string_value": "42"}}}),
    )
    .await
    .unwrap();
    assert!(published["MessageId"].as_str().is_some_and(|id| !id.is_empty()), "{published}");

    let missing = format!("{}-missing", topic);
    match call("get_topic_attributes", json!({"topic_arn": missing})).await {
        Err(InvokeError::Service { code, status, retryable, .. }) => {
            assert_eq!((code.as_str(), status, retryable), ("NotFound", 404, false))
        }
        other => panic!("a missing topic must be NotFound, got {other:?}"),
    }

    let bad = [
        (json!({"name": "t", "tags": [{"key": "k"}]}), "tags[0].value: required field is missing"),
        (json!({"name": "t", "attributes": "DisplayName"}), "attributes: expected an object"),
        (json!({"name": "t", "colour": 1}), "colour: unknown field"),
    ];
    for (input, problem) in bad {
        match call("create_topic", input.clone()).await {
            Err(InvokeError::InvalidInput(message)) => assert!(message.contains(problem), "{input}: {message}"),
            other => panic!("{input} must be refused, got {other:?}"),
        }
    }

    let script = r#"
sns = client("sns")
topic = sys.argv[1]
print(json.dumps({
    "name": sns.get_topic_attributes(TopicArn=topic)["Attributes"]["DisplayName"],
    "tags": sorted(t["Key"] for t in sns.list_tags_for_resource(ResourceArn=topic)["Tags"]),
    "endpoints": [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]],
}))
"#;
    let seen = emulator.boto3(script, &[&topic]);
    assert_eq!(seen, json!({"name": "All orders", "tags": ["stage", "team"], "endpoints": ["orders@example.com"]}));

    call("delete_topic", json!({"topic_arn": topic})).await.unwrap();
    let left = call("list_topics", json!({})).await.unwrap();
    assert_eq!(left["Topics"].as_array().map(Vec::len), Some(1), "{left}");
}
