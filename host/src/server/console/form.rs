//! A form from an operation's JSON Schema, and the input back from what the
//! form sends. Inputs are named by their JSON path (`pool_name`,
//! `policies.password_policy.minimum_length`, `user_attributes.0.name`):
//! strings, numbers and booleans get inputs and checkboxes, enums selects,
//! objects fieldsets, arrays repeatable groups, `writeOnly` members password
//! inputs; what a form cannot express well (maps, mixed types, nesting past
//! a bound) gets a JSON text area. Everything from the schema is escaped.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use crate::server::console::html::esc;

/// How deep the form follows nested objects before it offers JSON.
const MAX_DEPTH: usize = 8;

/// Most dot-separated segments a submitted field name may have: as many
/// levels as [`build`] reads (array items count as levels).
const MAX_SEGMENTS: usize = MAX_DEPTH + 2;

/// The form fields for `schema`'s members.
pub(super) fn fields(schema: &Value) -> String {
    let mut out = String::new();
    let required = required_of(schema);
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, member) in properties {
            let need = if required.contains(&name.as_str()) { Need::Required } else { Need::Optional };
            out.push_str(&field(member, name, name, need, 0));
        }
    }
    out
}

fn required_of(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The schema's single type, ignoring `null` in a type list.
fn type_of(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        Some(Value::Array(types)) => {
            let real: Vec<&str> = types.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect();
            if real.len() == 1 { Some(real[0]) } else { None }
        }
        _ if schema.get("enum").is_some() => Some("string"),
        _ => None,
    }
}

/// Whether a field must be filled.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Optional,
    /// Marked required, but only when its object is sent, which the
    /// browser cannot tell: a required member of an optional object.
    RequiredInItsObject,
    /// Marked required, and the browser enforces it (a top-level member).
    Required,
}

impl Need {
    /// What a member of a nested object needs, from its `required`.
    fn nested(required: bool) -> Need {
        if required { Need::RequiredInItsObject } else { Need::Optional }
    }
}

fn field(schema: &Value, path: &str, label: &str, need: Need, depth: usize) -> String {
    let id = format!("f-{path}");
    let mark = if need == Need::Optional { "" } else { " <span class=\"required\" title=\"required\">*</span>" };
    let hint =
        schema.get("description").and_then(Value::as_str).map(|d| format!(" title=\"{}\"", esc(d))).unwrap_or_default();
    let head = format!("<label for=\"{}\"{hint}>{}{mark}</label>", esc(&id), esc(label));
    let required_attr = if need == Need::Required { " required" } else { "" };
    let json_area = || {
        format!(
            "<div class=\"field\">{head}<textarea id=\"{}\" name=\"{}\" data-json=\"1\" rows=\"3\" placeholder=\"JSON\"{required_attr}></textarea></div>\n",
            esc(&id),
            esc(path)
        )
    };
    if depth > MAX_DEPTH || schema.get("$ref").is_some() {
        return json_area();
    }
    match type_of(schema) {
        Some("object") => {
            let Some(properties) = schema.get("properties").and_then(Value::as_object).filter(|p| !p.is_empty()) else {
                return json_area();
            };
            let inner_required = required_of(schema);
            let inner: String = properties
                .iter()
                .map(|(name, member)| {
                    let need = Need::nested(inner_required.contains(&name.as_str()));
                    field(member, &format!("{path}.{name}"), name, need, depth + 1)
                })
                .collect();
            format!("<fieldset data-path=\"{}\"><legend>{}{mark}</legend>\n{inner}</fieldset>\n", esc(path), esc(label))
        }
        Some("array") => {
            let items = schema.get("items").unwrap_or(&Value::Null);
            let item = field(items, &format!("{path}.0"), &format!("{label} 1"), Need::Optional, depth + 1);
            format!(
                "<fieldset class=\"repeat\" data-path=\"{}\"><legend>{}{mark}</legend>\n<div class=\"item\">\n{item}</div>\n\
                 <button type=\"button\" class=\"add\" data-path=\"{}\">Add</button></fieldset>\n",
                esc(path),
                esc(label),
                esc(path)
            )
        }
        Some("boolean") => format!(
            "<div class=\"field check\"><input type=\"checkbox\" id=\"{}\" name=\"{}\" value=\"true\"> {head}</div>\n",
            esc(&id),
            esc(path)
        ),
        Some(kind @ ("integer" | "number")) => {
            let bound = |key: &str, attr: &str| {
                schema.get(key).and_then(Value::as_f64).map(|v| format!(" {attr}=\"{v}\"")).unwrap_or_default()
            };
            format!(
                "<div class=\"field\">{head}<input type=\"number\" id=\"{}\" name=\"{}\" step=\"{}\"{}{}{required_attr}></div>\n",
                esc(&id),
                esc(path),
                if kind == "integer" { "1" } else { "any" },
                bound("minimum", "min"),
                bound("maximum", "max"),
            )
        }
        Some("string") => {
            if let Some(options) = schema.get("enum").and_then(Value::as_array) {
                let choices: String = options
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|o| format!("<option value=\"{}\">{}</option>", esc(o), esc(o)))
                    .collect();
                return format!(
                    "<div class=\"field\">{head}<select id=\"{}\" name=\"{}\"{required_attr}><option value=\"\"></option>{choices}</select></div>\n",
                    esc(&id),
                    esc(path)
                );
            }
            let secret = schema.get("writeOnly").and_then(Value::as_bool) == Some(true);
            let max = schema
                .get("maxLength")
                .and_then(Value::as_u64)
                .map(|m| format!(" maxlength=\"{m}\""))
                .unwrap_or_default();
            format!(
                "<div class=\"field\">{head}<input type=\"{}\" id=\"{}\" name=\"{}\" autocomplete=\"off\"{max}{required_attr}></div>\n",
                if secret { "password" } else { "text" },
                esc(&id),
                esc(path)
            )
        }
        _ => json_area(),
    }
}

/// A tree of submitted values by path segment.
#[derive(Default)]
struct Node {
    value: Option<String>,
    children: BTreeMap<String, Node>,
}

/// The input an operation form sent: each non-empty field put at its path
/// and typed as the schema says (numbers, booleans, JSON text areas).
pub(super) fn input(schema: &Value, pairs: &[(String, String)]) -> Result<Value, String> {
    let mut tree = Node::default();
    for (path, value) in pairs {
        if path.starts_with("__") || value.trim().is_empty() {
            continue;
        }
        // The tree is only as deep as a form can nest; a name with more
        // segments than that is not one this form sent. Checked before
        // the tree grows: a field name of 200,000 segments built a tree
        // whose (recursive) drop overflowed the stack and took the server
        // down.
        if path.split('.').nth(MAX_SEGMENTS).is_some() {
            return Err(format!(
                "field `{}` is nested more than {MAX_SEGMENTS} levels deep",
                crate::escape::truncate_chars(path, 80)
            ));
        }
        let mut node = &mut tree;
        for segment in path.split('.') {
            node = node.children.entry(segment.to_owned()).or_default();
        }
        node.value = Some(value.clone());
    }
    build(schema, &tree, "", 0)
}

/// The value of `node` as `schema` types it; a recursive `$ref` has no
/// type, so what is under it is read as JSON.
fn build(schema: &Value, node: &Node, path: &str, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH + 2 {
        return Err(format!("{path}: nested too deep"));
    }
    if let Some(text) = &node.value {
        return leaf(schema, text).map_err(|e| if path.is_empty() { e } else { format!("{path}: {e}") });
    }
    let child_path = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    if type_of(schema) == Some("array") {
        let items = schema.get("items").unwrap_or(&Value::Null);
        let mut indexed: Vec<(usize, &Node)> = Vec::new();
        for (key, child) in &node.children {
            let index = key.parse::<usize>().map_err(|_| format!("{}: expected an item number", child_path(key)))?;
            indexed.push((index, child));
        }
        indexed.sort_by_key(|(i, _)| *i);
        let values = indexed
            .into_iter()
            .map(|(i, child)| build(items, child, &child_path(&i.to_string()), depth + 1))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Value::Array(values));
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let mut object = Map::new();
    for (key, child) in &node.children {
        let member = properties.and_then(|p| p.get(key)).unwrap_or(&Value::Null);
        object.insert(key.clone(), build(member, child, &child_path(key), depth + 1)?);
    }
    Ok(Value::Object(object))
}

/// A submitted value as the schema's type.
fn leaf(schema: &Value, text: &str) -> Result<Value, String> {
    match type_of(schema) {
        Some("string") => Ok(Value::String(text.to_owned())),
        Some("boolean") => Ok(Value::Bool(text == "true" || text == "on")),
        Some("integer") => {
            text.trim().parse::<i64>().map(Value::from).map_err(|_| format!("`{text}` is not a whole number"))
        }
        Some("number") => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("`{text}` is not a number")),
        _ => serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "required": ["pool_name"], "properties": {
            "pool_name": {"type": "string", "maxLength": 128},
            "secret": {"type": "string", "writeOnly": true},
            "mode": {"type": "string", "enum": ["A", "B<"]},
            "policies": {"type": "object", "properties": {"password_policy": {"type": "object", "properties": {
                "minimum_length": {"type": "integer", "minimum": 6}, "require_symbols": {"type": "boolean"}}}}},
            "user_attributes": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "value": {"type": "string"}}}},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}}
        }})
    }

    #[test]
    fn fields_follow_the_schema_and_are_named_by_path() {
        let html = fields(&schema());
        for expected in [
            r#"name="pool_name" autocomplete="off" maxlength="128" required"#,
            r#"type="password" id="f-secret" name="secret""#,
            r#"<option value="B&lt;">B&lt;</option>"#,
            r#"name="policies.password_policy.minimum_length" step="1" min="6""#,
            r#"type="checkbox" id="f-policies.password_policy.require_symbols""#,
            r#"name="user_attributes.0.name""#,
            r#"name="tags" data-json="1""#,
            r#"<span class="required" title="required">*</span>"#,
        ] {
            assert!(html.contains(expected), "{expected} in\n{html}");
        }
    }

    #[test]
    fn submitted_fields_become_the_input() {
        let pairs: Vec<(String, String)> = [
            ("pool_name", "Marketing"),
            ("secret", ""),
            ("policies.password_policy.minimum_length", "12"),
            ("policies.password_policy.require_symbols", "true"),
            ("user_attributes.1.name", "email"),
            ("user_attributes.0.name", "name"),
            ("user_attributes.0.value", "Ann"),
            ("tags", r#"{"team": "marketing"}"#),
            ("__mode", "form"),
        ]
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
        assert_eq!(
            input(&schema(), &pairs).unwrap(),
            json!({"pool_name": "Marketing",
                   "policies": {"password_policy": {"minimum_length": 12, "require_symbols": true}},
                   "user_attributes": [{"name": "name", "value": "Ann"}, {"name": "email"}],
                   "tags": {"team": "marketing"}})
        );
        let bad = vec![("policies.password_policy.minimum_length".to_owned(), "twelve".to_owned())];
        assert_eq!(
            input(&schema(), &bad).unwrap_err(),
            "policies.password_policy.minimum_length: `twelve` is not a whole number"
        );
    }

    /// A field name of 200,000 segments (a 400 KB post) once built a tree
    /// whose drop overflowed the stack and aborted the server.
    #[test]
    fn field_names_nested_past_the_form_are_refused_before_the_tree_grows() {
        let deep = vec![(vec!["a"; 200_000].join("."), "x".to_owned())];
        let error = input(&schema(), &deep).unwrap_err();
        assert!(error.starts_with("field `a.a.a.") && error.ends_with("is nested more than 10 levels deep"), "{error}");
        assert!(error.len() < 200, "{error}");
        let deepest_read = ["a"; MAX_SEGMENTS].join(".");
        assert_eq!(
            input(&schema(), &[(deepest_read, "1".to_owned())]).unwrap(),
            json!({"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": 1}}}}}}}}}})
        );
    }
}

/// Property tests (`PROPTEST_CASES=N` runs more): forms from any schema,
/// and any posted form, stay bounded and never panic.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::runtime::schema::{SchemaBudget, resolve_references};
    use crate::test_support::{SCHEMA_WORDS, json};
    use proptest::prelude::*;

    /// Field names as forms (and attackers) send them: dot-separated
    /// segments, item numbers among them.
    fn field_name() -> impl Strategy<Value = String> {
        proptest::collection::vec(prop_oneof!["[a-z_]{0,8}", "[0-9]{1,3}", Just("__csrf".to_owned())], 1..30)
            .prop_map(|segments| segments.join("."))
    }

    proptest! {
        #[test]
        fn any_post_is_read_or_refused(pairs in proptest::collection::vec((field_name(), any::<String>()), 0..40)) {
            let _ = input(&tests_schema(), &pairs);
        }

        #[test]
        fn any_resolved_schema_makes_a_bounded_form(schema in json(6, SCHEMA_WORDS)) {
            if let Ok(resolved) = resolve_references(&schema, &mut SchemaBudget::default()) {
                let html = fields(&resolved);
                prop_assert!(html.len() <= 64 * resolved.to_string().len() + 4096);
            }
        }

        #[test]
        fn what_a_form_sends_reads_back(name in "[A-Za-z0-9][A-Za-z0-9 ]{0,19}", length in 6i64..99, symbols in any::<bool>()) {
            let mut pairs = vec![
                ("pool_name".to_owned(), name.clone()),
                ("policies.password_policy.minimum_length".to_owned(), length.to_string()),
            ];
            if symbols {
                pairs.push(("policies.password_policy.require_symbols".to_owned(), "true".to_owned()));
            }
            let read = input(&tests_schema(), &pairs).unwrap();
            prop_assert_eq!(&read["pool_name"], &serde_json::json!(name));
            prop_assert_eq!(&read["policies"]["password_policy"]["minimum_length"], &serde_json::json!(length));
            prop_assert_eq!(read["policies"]["password_policy"].get("require_symbols").is_some(), symbols);
        }
    }

    fn tests_schema() -> Value {
        serde_json::json!({"type": "object", "properties": {
            "pool_name": {"type": "string"},
            "policies": {"type": "object", "properties": {"password_policy": {"type": "object", "properties": {
                "minimum_length": {"type": "integer"}, "require_symbols": {"type": "boolean"}}}}},
            "user_attributes": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "value": {"type": "string"}}}}
        }})
    }
}
