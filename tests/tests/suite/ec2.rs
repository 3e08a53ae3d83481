//! The EC2 connector, generated from EC2's API model (EC2's query
//! protocol), against moto: regions described, a security group created
//! with tags, given rules, described and deleted, a dry run and a missing
//! group as typed service errors, bad input refused before any request;
//! what it did read back with boto3.

use connector_host::InvokeError;
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{components, host_for};
use serde_json::{Value, json};

#[tokio::test]
async fn a_generated_ec2_connector_manages_a_security_group() {
    let emulator = Emulator::start(Kind::Moto);
    let host = host_for(&emulator.endpoint()).await;
    let ec2 = host.load(components::GUEST_EC2).await.expect("the EC2 connector loads");
    assert_eq!(ec2.manifest().services, ["ec2"]);
    let call = |operation: &'static str, input: Value| {
        let (host, ec2) = (&host, &ec2);
        async move { host.invoke(ec2, operation, &input).await }
    };

    // A list filter (`RegionName.1`), read back as a list of structures.
    let regions = call("describe_regions", json!({"region_names": ["us-east-1", "eu-west-1"]})).await.unwrap();
    let mut names: Vec<&str> =
        regions["regionInfo"].as_array().unwrap().iter().map(|r| r["regionName"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["eu-west-1", "us-east-1"], "{regions}");

    // Nested lists of structures: tags at creation, then rules with ranges.
    let created = call(
        "create_security_group",
        json!({"group_name": "web", "description": "web tier",
               "tag_specifications": [{"resource_type": "security-group", "tags": [{"key": "team", "value": "web"}]}]}),
    )
    .await
    .unwrap();
    let group = created["groupId"].as_str().expect("a group id").to_owned();
    call(
        "authorize_security_group_ingress",
        json!({"group_id": group, "ip_permissions": [
            {"ip_protocol": "tcp", "from_port": 443, "to_port": 443,
             "ip_ranges": [{"cidr_ip": "10.0.0.0/8", "description": "internal"}]},
            {"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "ip_ranges": [{"cidr_ip": "192.168.0.0/16"}]}]}),
    )
    .await
    .unwrap();
    call("create_tags", json!({"resources": [group], "tags": [{"key": "stage", "value": "test"}]})).await.unwrap();

    let described = call("describe_security_groups", json!({"group_ids": [group]})).await.unwrap();
    let info = &described["securityGroupInfo"][0];
    assert_eq!(info["groupName"], json!("web"), "{described}");
    let mut ports: Vec<i64> =
        info["ipPermissions"].as_array().unwrap().iter().map(|p| p["fromPort"].as_i64().unwrap()).collect();
    ports.sort();
    assert_eq!(ports, [22, 443], "numbers keep their type");
    let tags = call(
        "describe_tags",
        json!({"filters": [{"name": "resource-id", "values": [group]}, {"name": "key", "values": ["stage", "team"]}]}),
    )
    .await
    .unwrap();
    assert_eq!(tags["tagSet"].as_array().map(Vec::len), Some(2), "{tags}");

    // A dry run answers with EC2's own error, as does a missing group.
    let service_error = |result: Result<Value, InvokeError>| match result {
        Err(InvokeError::Service { code, status, retryable, .. }) => (code, status, retryable),
        other => panic!("expected a service error, got {other:?}"),
    };
    let dry = service_error(call("delete_security_group", json!({"group_id": group, "dry_run": true})).await);
    assert_eq!(dry, ("DryRunOperation".to_owned(), 412, false));
    let missing = service_error(call("describe_security_groups", json!({"group_ids": ["sg-0000000000"]})).await);
    assert_eq!((missing.0.as_str(), missing.1), ("InvalidGroup.NotFound", 400));

    // Bad input is refused by the connector, naming the member.
    let bad = [
        ("describe_regions", json!({"bogus": 1}), "bogus: unknown field"),
        ("describe_regions", json!({"region_names": "us-east-1"}), "region_names: expected an array"),
        ("describe_security_groups", json!({"max_results": 4}), "max_results: 4 is below the minimum 5"),
        ("create_security_group", json!({"description": "x"}), "group_name"),
    ];
    for (operation, input, problem) in bad {
        match call(operation, input.clone()).await {
            Err(InvokeError::InvalidInput(message)) => assert!(message.contains(problem), "{input}: {message}"),
            other => panic!("{input} must be refused, got {other:?}"),
        }
    }

    // What boto3 sees.
    let seen = emulator.boto3(
        r#"
group = client("ec2").describe_security_groups(GroupIds=[sys.argv[1]])["SecurityGroups"][0]
rules = sorted((p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in group["IpPermissions"])
print(json.dumps({"rules": rules, "tags": sorted((t["Key"], t["Value"]) for t in group.get("Tags", []))}))
"#,
        &[&group],
    );
    assert_eq!(
        seen,
        json!({"rules": [[22, ["192.168.0.0/16"]], [443, ["10.0.0.0/8"]]], "tags": [["stage", "test"], ["team", "web"]]})
    );

    call("delete_security_group", json!({"group_id": group})).await.unwrap();
    let after = service_error(call("describe_security_groups", json!({"group_ids": [group]})).await);
    assert_eq!(after.0, "InvalidGroup.NotFound");
}
