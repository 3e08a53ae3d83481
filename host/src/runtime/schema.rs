//! A connector's JSON Schemas, made safe to use once, when it loads.
//!
//! Guards against: a sandboxed connector exhausting the host through what
//! it says of itself. Everything downstream (the console's forms, MCP's
//! `tools/list`, the OpenAPI document, masking secrets in run records)
//! walks schemas; a schema whose members each refer back to the root
//! expands exponentially when walked. So every local `$ref` is resolved
//! here, once: replaced by a copy of what it points to, while a budget of
//! values, bytes, depth and breadth per schema and per connector bounds
//! the copies, and a schema past it is refused with a named load error.
//! Only a reference back into a schema it is part of (recursion) stays a
//! `$ref`: consumers show it as free JSON (forms) or follow it only as far
//! as the value they walk (masking). References must be local JSON
//! pointers (`#`, `#/$defs/user`) that resolve: a remote one would have
//! every client fetch it, and `$dynamicRef` is not resolved by anyone here.

use serde_json::{Map, Value};

/// Bounds on one schema after its references are resolved, and on all of
/// a connector's schemas together.
pub(crate) mod schema_limits {
    /// JSON values (objects, arrays, strings, numbers, ...) in one schema.
    pub const VALUES: usize = 50_000;
    /// Bytes of text (keys and strings) in one schema.
    pub const BYTES: usize = 1 << 20;
    /// Values in all of a connector's schemas.
    pub const CONNECTOR_VALUES: usize = 500_000;
    /// Bytes of text in all of a connector's schemas.
    pub const CONNECTOR_BYTES: usize = 16 << 20;
    /// Nesting of JSON levels in one schema: documents that embed schemas
    /// (MCP, OpenAPI) stay well within what JSON readers accept (128).
    pub const DEPTH: usize = 64;
    /// Members of one object or items of one array.
    pub const BREADTH: usize = 10_000;
}

/// What is left of a connector's budget while its schemas are resolved.
#[derive(Debug)]
pub(crate) struct SchemaBudget {
    values: usize,
    bytes: usize,
}

impl Default for SchemaBudget {
    fn default() -> Self {
        SchemaBudget { values: schema_limits::CONNECTOR_VALUES, bytes: schema_limits::CONNECTOR_BYTES }
    }
}

/// Keywords whose value is one schema.
const SCHEMA_KEYWORDS: &[&str] = &[
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "propertyNames",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "contentSchema",
    "additionalItems",
];
/// Keywords whose value maps names to schemas.
const SCHEMA_MAP_KEYWORDS: &[&str] = &["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];
/// Keywords whose value is a list of schemas.
const SCHEMA_LIST_KEYWORDS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords that only describe: beside a `$ref`, they can be laid over
/// what it points to without changing what validates.
const ANNOTATIONS: &[&str] =
    &["title", "description", "$comment", "default", "examples", "readOnly", "writeOnly", "deprecated"];

/// `schema` with its local `$ref`s resolved (see the module's notes),
/// drawing on `budget`; the error says which bound it went past, or which
/// reference is wrong.
///
/// A `$ref` is replaced by what it points to; when it has keywords beside
/// it that constrain (not only annotate), the result is
/// `{"allOf": [target], ...siblings}`. `$defs` are dropped when no `$ref`
/// is left to use them.
pub(crate) fn resolve_references(schema: &Value, budget: &mut SchemaBudget) -> Result<Value, String> {
    let mut resolver =
        Resolver { root: schema, budget, values: 0, bytes: 0, frames: vec![Frame::at(Vec::new())], kept: false };
    let mut resolved = resolver.schema(schema, 0)?;
    if !resolver.kept
        && let Value::Object(root) = &mut resolved
    {
        root.remove("$defs");
        root.remove("definitions");
    }
    Ok(resolved)
}

/// One reference being expanded: where its target is in the raw schema,
/// and where in that target the walk is now.
struct Frame {
    base: usize,
    path: Vec<String>,
}

impl Frame {
    fn at(path: Vec<String>) -> Frame {
        Frame { base: path.len(), path }
    }
}

struct Resolver<'a> {
    root: &'a Value,
    budget: &'a mut SchemaBudget,
    values: usize,
    bytes: usize,
    /// The references being expanded, outermost first; the first frame is
    /// the schema itself.
    frames: Vec<Frame>,
    /// Whether a recursive reference was kept.
    kept: bool,
}

impl Resolver<'_> {
    /// Counts one value of `text_bytes` bytes of text against both budgets.
    fn charge(&mut self, text_bytes: usize) -> Result<(), String> {
        self.values += 1;
        self.bytes += text_bytes;
        if self.values > schema_limits::VALUES {
            return Err(format!(
                "expands to more than {} values (are its `$ref`s repeating a large schema?)",
                schema_limits::VALUES
            ));
        }
        if self.bytes > schema_limits::BYTES {
            return Err(format!("expands to more than {} bytes of text", schema_limits::BYTES));
        }
        self.budget.values = self.budget.values.checked_sub(1).ok_or_else(|| {
            format!("takes the connector's schemas past {} values in all", schema_limits::CONNECTOR_VALUES)
        })?;
        self.budget.bytes = self.budget.bytes.checked_sub(text_bytes).ok_or_else(|| {
            format!("takes the connector's schemas past {} bytes of text in all", schema_limits::CONNECTOR_BYTES)
        })?;
        Ok(())
    }

    fn enter(&mut self, key: String) {
        self.frames.last_mut().expect("a frame").path.push(key);
    }

    fn leave(&mut self) {
        self.frames.last_mut().expect("a frame").path.pop();
    }

    fn check_shape(&self, value: &Value, depth: usize) -> Result<(), String> {
        if depth > schema_limits::DEPTH {
            return Err(format!("nests more than {} levels deep", schema_limits::DEPTH));
        }
        let breadth = match value {
            Value::Object(map) => map.len(),
            Value::Array(items) => items.len(),
            _ => 0,
        };
        if breadth > schema_limits::BREADTH {
            return Err(format!(
                "has an object or array of {breadth} entries at {}, over the limit of {}",
                self.location(),
                schema_limits::BREADTH
            ));
        }
        Ok(())
    }

    /// Where the walk is, as a JSON pointer into the raw schema.
    fn location(&self) -> String {
        let path = &self.frames.last().expect("a frame").path;
        format!(
            "`#{}`",
            path.iter().map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1"))).collect::<String>()
        )
    }

    fn schema(&mut self, schema: &Value, depth: usize) -> Result<Value, String> {
        self.check_shape(schema, depth)?;
        let Value::Object(members) = schema else {
            // `true`, `false`, or not a schema at all (which the meta-schema
            // check reports): kept as data.
            return self.data(schema, depth);
        };
        for dynamic in ["$dynamicRef", "$recursiveRef"] {
            if members.contains_key(dynamic) {
                return Err(format!("uses `{dynamic}` at {}, which this host does not resolve", self.location()));
            }
        }
        if let Some(reference) = members.get("$ref") {
            let Value::String(reference) = reference else {
                return Err(format!("has a `$ref` that is not a string at {}", self.location()));
            };
            return self.reference(reference, members, depth);
        }
        self.charge(0)?;
        Ok(Value::Object(self.members(members.iter(), depth)?))
    }

    /// A schema's keywords, each resolved as what it holds.
    fn members<'v>(
        &mut self,
        members: impl Iterator<Item = (&'v String, &'v Value)>,
        depth: usize,
    ) -> Result<Map<String, Value>, String> {
        let mut out = Map::new();
        for (key, value) in members {
            self.charge(key.len())?;
            self.enter(key.clone());
            let resolved = match keyword(key, value) {
                Keyword::Schema => self.schema(value, depth + 1),
                Keyword::SchemaMap => self.schema_map(value, depth + 1),
                Keyword::SchemaList => self.schema_list(value, depth + 1),
                Keyword::Data => self.data(value, depth + 1),
            };
            self.leave();
            out.insert(key.clone(), resolved?);
        }
        Ok(out)
    }

    fn schema_map(&mut self, value: &Value, depth: usize) -> Result<Value, String> {
        self.check_shape(value, depth)?;
        let Value::Object(members) = value else { return self.data(value, depth) };
        self.charge(0)?;
        let mut out = Map::new();
        for (name, schema) in members {
            self.charge(name.len())?;
            self.enter(name.clone());
            let resolved = self.schema(schema, depth + 1);
            self.leave();
            out.insert(name.clone(), resolved?);
        }
        Ok(Value::Object(out))
    }

    fn schema_list(&mut self, value: &Value, depth: usize) -> Result<Value, String> {
        self.check_shape(value, depth)?;
        let Value::Array(items) = value else { return self.data(value, depth) };
        self.charge(0)?;
        let mut out = Vec::with_capacity(items.len());
        for (i, schema) in items.iter().enumerate() {
            self.enter(i.to_string());
            let resolved = self.schema(schema, depth + 1);
            self.leave();
            out.push(resolved?);
        }
        Ok(Value::Array(out))
    }

    /// A value that is not a schema (an `enum`'s values, a `default`):
    /// copied, never resolved, but counted.
    fn data(&mut self, value: &Value, depth: usize) -> Result<Value, String> {
        // Iterative: data may nest as deep as the JSON reader allowed.
        let mut pending = vec![(value, depth)];
        while let Some((value, depth)) = pending.pop() {
            self.check_shape(value, depth)?;
            match value {
                Value::String(text) => self.charge(text.len())?,
                Value::Object(map) => {
                    self.charge(0)?;
                    for (key, member) in map {
                        self.charge(key.len())?;
                        pending.push((member, depth + 1));
                    }
                }
                Value::Array(items) => {
                    self.charge(0)?;
                    pending.extend(items.iter().map(|item| (item, depth + 1)));
                }
                _ => self.charge(8)?,
            }
        }
        Ok(value.clone())
    }

    /// The schema `{"$ref": reference, ...siblings}` resolved.
    fn reference(&mut self, reference: &str, members: &Map<String, Value>, depth: usize) -> Result<Value, String> {
        let at = self.location();
        let pointer = parse_pointer(reference).ok_or_else(|| {
            format!("has `$ref` {} at {at}, which is not a local JSON pointer (`#/...`)", quoted(reference))
        })?;
        let target = lookup(self.root, &pointer)
            .ok_or_else(|| format!("has `$ref` {} at {at}, which points nowhere", quoted(reference)))?;
        // Every hop counts, against the budget and as a level: a chain of
        // references that only name the next one (`d0` is `d1`, ..., each
        // a few bytes) would otherwise cost nothing and recurse as deep as
        // it is long.
        self.charge(reference.len())?;
        if self.frames.len() > schema_limits::DEPTH {
            return Err(format!("has `$ref`s nested more than {} deep at {at}", schema_limits::DEPTH));
        }
        let siblings = self.members(members.iter().filter(|(key, _)| *key != "$ref"), depth)?;
        // A reference back into what is being expanded is recursion: it
        // stays a reference, unless nothing but references lead from its
        // target back to it (`a` is `b`, `b` is `a`), which means nothing.
        if self.frames.iter().any(|frame| frame.path.starts_with(&pointer)) {
            let only_references = self.frames.iter().enumerate().any(|(k, frame)| {
                frame.path == pointer && self.frames[k + 1..].iter().all(|later| later.path.len() == later.base)
            });
            if only_references {
                return Err(format!("has `$ref` {} at {at}, which only leads back to itself", quoted(reference)));
            }
            self.kept = true;
            let mut kept = siblings;
            kept.insert("$ref".to_owned(), Value::String(reference.to_owned()));
            return Ok(Value::Object(kept));
        }
        self.frames.push(Frame::at(pointer));
        let resolved = self.schema(target, depth + 1);
        self.frames.pop();
        let resolved = resolved?;
        if siblings.is_empty() {
            return Ok(resolved);
        }
        match resolved {
            Value::Object(mut target) if siblings.keys().all(|k| ANNOTATIONS.contains(&k.as_str())) => {
                target.extend(siblings);
                Ok(Value::Object(target))
            }
            resolved => {
                let mut combined = siblings;
                match combined.get_mut("allOf") {
                    Some(Value::Array(all)) => all.push(resolved),
                    _ => {
                        combined.insert("allOf".to_owned(), Value::Array(vec![resolved]));
                    }
                }
                Ok(Value::Object(combined))
            }
        }
    }
}

enum Keyword {
    Schema,
    SchemaMap,
    SchemaList,
    Data,
}

fn keyword(key: &str, value: &Value) -> Keyword {
    match key {
        // `items` is one schema in 2020-12, a list in older drafts.
        "items" if value.is_array() => Keyword::SchemaList,
        "items" => Keyword::Schema,
        _ if SCHEMA_KEYWORDS.contains(&key) => Keyword::Schema,
        _ if SCHEMA_MAP_KEYWORDS.contains(&key) => Keyword::SchemaMap,
        _ if SCHEMA_LIST_KEYWORDS.contains(&key) => Keyword::SchemaList,
        _ => Keyword::Data,
    }
}

/// A reference quoted for a message, cut to a readable length.
fn quoted(reference: &str) -> String {
    crate::escape::quote_untrusted(&crate::escape::truncate_chars(reference, 80)).to_string()
}

/// The segments of a local reference (`#/$defs/a%20b` is `["$defs", "a b"]`):
/// a URI fragment holding a JSON pointer, percent-decoded, then unescaped.
fn parse_pointer(reference: &str) -> Option<Vec<String>> {
    let fragment = reference.strip_prefix('#')?;
    let decoded = percent_decode(fragment)?;
    if decoded.is_empty() {
        return Some(Vec::new());
    }
    let rest = decoded.strip_prefix('/')?;
    rest.split('/')
        .map(|segment| {
            // `~1` is `/` and `~0` is `~`; any other `~` is malformed.
            let mut out = String::with_capacity(segment.len());
            let mut chars = segment.chars();
            while let Some(c) = chars.next() {
                match (c, c == '~') {
                    (_, false) => out.push(c),
                    (_, true) => match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => return None,
                    },
                }
            }
            Some(out)
        })
        .collect()
}

fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The value at `pointer` in `root`.
fn lookup<'a>(root: &'a Value, pointer: &[String]) -> Option<&'a Value> {
    pointer.iter().try_fold(root, |value, segment| match value {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => {
            // A JSON pointer index: digits, no leading zero.
            let valid = !segment.is_empty()
                && segment.bytes().all(|b| b.is_ascii_digit())
                && (segment == "0" || !segment.starts_with('0'));
            if valid { items.get(segment.parse::<usize>().ok()?) } else { None }
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolved(schema: Value) -> Result<Value, String> {
        resolve_references(&schema, &mut SchemaBudget::default())
    }

    /// The error of `result`, without printing an accepted schema (they
    /// are large here).
    fn refusal(result: Result<Value, String>) -> String {
        match result {
            Ok(_) => panic!("the schema was accepted"),
            Err(error) => error,
        }
    }

    #[test]
    fn references_are_replaced_by_what_they_point_to() {
        let schema = json!({
            "type": "object",
            "properties": {
                "user": {"$ref": "#/$defs/user", "description": "who"},
                "admin": {"$ref": "#/$defs/user", "required": ["name"]},
                "odd name": {"$ref": "#/$defs/a~1b%20c"},
                "enum": {"enum": [{"$ref": "#/nowhere"}]}
            },
            "$defs": {
                "user": {"type": "object", "properties": {"name": {"type": "string"}, "password": {"$ref": "#/$defs/secret"}}},
                "secret": {"type": "string", "writeOnly": true},
                "a/b c": {"type": "integer"}
            }
        });
        let user = json!({"type": "object", "properties": {"name": {"type": "string"}, "password": {"type": "string", "writeOnly": true}}});
        let mut described = user.clone();
        described["description"] = json!("who");
        assert_eq!(
            resolved(schema).unwrap(),
            json!({"type": "object", "properties": {
                "user": described,
                "admin": {"required": ["name"], "allOf": [user]},
                "odd name": {"type": "integer"},
                "enum": {"enum": [{"$ref": "#/nowhere"}]}
            }}),
            "`$defs` go once nothing refers to them; data is never resolved"
        );
    }

    #[test]
    fn recursion_stays_a_reference() {
        let schema = json!({
            "type": "object",
            "properties": {"tree": {"$ref": "#/$defs/node"}},
            "$defs": {"node": {"type": "object", "properties": {
                "label": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}}
        });
        let out = resolved(schema).unwrap();
        assert_eq!(out["properties"]["tree"]["properties"]["children"]["items"], json!({"$ref": "#/$defs/node"}));
        assert!(out.get("$defs").is_some(), "kept for the reference left");
        let to_root = json!({"type": "object", "properties": {"again": {"$ref": "#"}}});
        assert_eq!(resolved(to_root.clone()).unwrap(), to_root);
    }

    #[test]
    fn broken_and_endless_references_are_named() {
        for (schema, expected) in [
            (json!({"$ref": "#"}), "has `$ref` `#` at `#`, which only leads back to itself"),
            (
                json!({"properties": {"a": {"$ref": "#/$defs/b"}}, "$defs": {"b": {"$ref": "#/$defs/c"}, "c": {"$ref": "#/$defs/b"}}}),
                "only leads back to itself",
            ),
            (
                json!({"properties": {"a": {"$ref": "#/$defs/missing"}}}),
                "has `$ref` `#/$defs/missing` at `#/properties/a`, which points nowhere",
            ),
            (
                json!({"properties": {"a": {"$ref": "https://evil.example/s.json"}}}),
                "which is not a local JSON pointer",
            ),
            (json!({"properties": {"a": {"$ref": "#anchor"}}}), "which is not a local JSON pointer"),
            (json!({"properties": {"a": {"$ref": 7}}}), "has a `$ref` that is not a string at `#/properties/a`"),
            (json!({"$dynamicRef": "#meta"}), "uses `$dynamicRef`"),
        ] {
            let error = resolved(schema).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
    }

    /// Every member refers back to the root: walking it naively visits
    /// 20^depth schemas. Resolved once, it is a small schema.
    #[test]
    fn members_referring_back_to_the_root_stay_small() {
        let properties: Map<String, Value> = (0..20).map(|i| (format!("m{i}"), json!({"$ref": "#"}))).collect();
        let out = resolved(json!({"type": "object", "properties": properties})).unwrap();
        assert_eq!(out["properties"]["m7"], json!({"$ref": "#"}));
    }

    /// References that each repeat the next definition twice double the
    /// schema at every level: refused once past the budget, quickly.
    #[test]
    fn exponential_expansion_is_refused() {
        let mut defs = Map::new();
        for i in 0..18 {
            defs.insert(
                format!("d{i}"),
                json!({"type": "object", "properties": {"a": {"$ref": format!("#/$defs/d{}", i + 1)}, "b": {"$ref": format!("#/$defs/d{}", i + 1)}}}),
            );
        }
        defs.insert("d18".into(), json!({"type": "string"}));
        let started = std::time::Instant::now();
        let error = refusal(resolved(json!({"$ref": "#/$defs/d0", "$defs": defs})));
        assert!(error.contains("expands to more than 50000 values"), "{error}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    /// A chain of definitions that each only name the next: once free and
    /// as deep as it was long (20,000 hops overflowed the stack).
    #[test]
    fn a_long_chain_of_references_is_refused_quickly() {
        let mut defs = Map::new();
        for i in 0..20_000 {
            defs.insert(format!("d{i}"), json!({"$ref": format!("#/$defs/d{}", i + 1)}));
        }
        defs.insert("d20000".into(), json!({"type": "string"}));
        let started = std::time::Instant::now();
        let error =
            refusal(resolved(json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/d0"}}, "$defs": defs})));
        assert!(error.contains("more than 64"), "{error}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let short: Map<String, Value> =
            (0..10).map(|i| (format!("d{i}"), json!({"$ref": format!("#/$defs/d{}", i + 1)}))).collect();
        let mut short = short;
        short.insert("d10".into(), json!({"type": "string"}));
        let ok = resolved(json!({"properties": {"x": {"$ref": "#/$defs/d0"}}, "$defs": short})).unwrap();
        assert_eq!(ok["properties"]["x"], json!({"type": "string"}), "a short chain resolves");
    }

    #[test]
    fn depth_breadth_and_the_connector_budget_are_bounded() {
        let mut deep = json!({"type": "string"});
        for _ in 0..40 {
            deep = json!({"type": "object", "properties": {"x": deep}});
        }
        let refused = |schema: Value| refusal(resolved(schema));
        assert!(refused(deep).contains("nests more than 64 levels deep"));
        let wide: Vec<Value> = (0..10_001).map(Value::from).collect();
        let error = refused(json!({"enum": wide}));
        assert!(error.contains("has an object or array of 10001 entries at `#/enum`"), "{error}");
        let text = "x".repeat(600_000);
        let mut budget = SchemaBudget::default();
        for _ in 0..schema_limits::CONNECTOR_BYTES / text.len() {
            assert!(resolve_references(&json!({"description": text}), &mut budget).is_ok());
        }
        let error = refusal(resolve_references(&json!({"description": text}), &mut budget));
        assert!(error.contains("takes the connector's schemas past 16777216 bytes of text in all"), "{error}");
    }
}

/// Property tests (`PROPTEST_CASES=N` runs more): whatever a connector
/// declares, resolving it ends, never panics, and stays within its bounds.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::test_support::{SCHEMA_WORDS, json};
    use proptest::prelude::*;

    /// JSON nesting of a value.
    fn depth(value: &Value) -> usize {
        match value {
            Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    proptest! {
        #[test]
        fn any_schema_resolves_within_the_bounds_or_is_refused(schema in json(6, SCHEMA_WORDS)) {
            let mut budget = SchemaBudget::default();
            if let Ok(resolved) = resolve_references(&schema, &mut budget) {
                prop_assert!(depth(&resolved) <= schema_limits::DEPTH + 1);
                prop_assert!(resolved.to_string().len() <= 2 * schema_limits::BYTES + 16 * schema_limits::VALUES);
                // What is resolved resolves again (recursion left as a
                // `$ref` unrolls once more, within the bounds).
                let again = resolve_references(&resolved, &mut SchemaBudget::default());
                prop_assert!(again.is_ok(), "{:?}", again);
            }
        }

        #[test]
        fn pointers_never_panic(reference in "#?[/a-z~0-9%$]{0,20}") {
            let _ = parse_pointer(&reference);
        }
    }
}
