//! Input checking and conversion of typical inputs, natively.
//!
//!     cargo bench -p guest-cognito --bench input

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

fn inputs(c: &mut Criterion) {
    let get_user = json!({"user_pool_id": "us-east-1_bench", "username": "exampleUsername"});
    c.bench_function("convert_admin_get_user_input", |b| {
        b.iter(|| guest_cognito::api_input("admin_get_user", std::hint::black_box(&get_user)).unwrap())
    });
    let create_pool = json!({
        "pool_name": "Marketing Department",
        "policies": {"password_policy": {"minimum_length": 12, "require_uppercase": true, "require_numbers": true}},
        "alias_attributes": ["email", "preferred_username"],
        "auto_verified_attributes": ["email"],
        "schema": [
            {"name": "email", "attribute_data_type": "String", "required": true, "mutable": true},
            {"name": "department", "attribute_data_type": "String", "mutable": true,
             "string_attribute_constraints": {"min_length": "1", "max_length": "64"}}
        ],
        "admin_create_user_config": {"allow_admin_create_user_only": true},
        "user_pool_tags": {"team": "marketing"}
    });
    c.bench_function("convert_create_user_pool_input", |b| {
        b.iter(|| guest_cognito::api_input("create_user_pool", std::hint::black_box(&create_pool)).unwrap())
    });
}

criterion_group!(benches, inputs);
criterion_main!(benches);
