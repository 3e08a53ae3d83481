//! The operation table: each operation's name, title, description, input
//! schema and handler. Typed handlers take an input type whose JSON Schema
//! is derived with schemars; the input is checked against that schema
//! (errors name the field) and parsed into the type before the handler
//! runs. Schemas are built when asked for (`describe`, or the one
//! operation invoked), not up front: an instance runs one invocation.
//! For the same reason an invocation builds only the entry it runs (see
//! [`only_operation`]): a table of a hundred operations is built on every
//! call, since every call gets a fresh instance.

use std::cell::RefCell;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;
use crate::bindings::connector::api::types::Operation;

/// What a connector is.
#[derive(Debug, Clone)]
pub struct Info {
    pub name: String,
    pub title: String,
    pub version: String,
    /// AWS service signing names it calls (`iam`, `sts`).
    pub services: Vec<String>,
}

impl Info {
    pub fn new(name: &str, title: &str, version: &str, services: &[&str]) -> Self {
        Info {
            name: name.to_owned(),
            title: title.to_owned(),
            version: version.to_owned(),
            services: services.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

thread_local! {
    /// While an invocation builds its table, the one operation it runs.
    /// Per thread: a native test runs many tables at once.
    static ONLY: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Builds a table with `build` keeping only `operation`'s entry: the
/// others are skipped before anything is allocated for them.
pub(crate) fn only_operation(operation: &str, build: impl FnOnce() -> Operations) -> Operations {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            ONLY.with(|only| *only.borrow_mut() = None);
        }
    }
    ONLY.with(|only| *only.borrow_mut() = Some(operation.to_owned()));
    let _reset = Reset;
    build()
}

/// Whether an invocation building its table skips `name`.
fn skipped(name: &str) -> bool {
    ONLY.with(|only| only.borrow().as_deref().is_some_and(|only| only != name))
}

type Handler = Box<dyn Fn(Value) -> Result<Value, Error>>;
type SchemaFn = Box<dyn Fn() -> Value>;
type UnknownFn = Box<dyn Fn(&str) -> String>;

struct Entry {
    name: String,
    title: String,
    description: String,
    schema: SchemaFn,
    handler: Handler,
}

/// A connector's operations.
#[derive(Default)]
pub struct Operations {
    entries: Vec<Entry>,
    unknown: Option<UnknownFn>,
}

impl Operations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an operation whose input is `I`: its schema is `I`'s, the input
    /// is checked against it and parsed into `I`, and `handler`'s output is
    /// returned as JSON.
    pub fn add<I, O, F>(mut self, name: &str, title: &str, description: &str, handler: F) -> Self
    where
        I: DeserializeOwned + JsonSchema + 'static,
        O: Serialize,
        F: Fn(I) -> Result<O, Error> + 'static,
    {
        if skipped(name) {
            return self;
        }
        let schema = || input_schema::<I>();
        let run = move |input: Value| {
            crate::schema::check(&input_schema::<I>(), &input).map_err(Error::InvalidInput)?;
            let input: I = serde_json::from_value(input).map_err(|e| Error::InvalidInput(e.to_string()))?;
            let output = handler(input)?;
            serde_json::to_value(output).map_err(|e| Error::Internal(format!("the output does not serialize: {e}")))
        };
        self.entries.push(Entry {
            name: name.to_owned(),
            title: title.to_owned(),
            description: description.to_owned(),
            schema: Box::new(schema),
            handler: Box::new(run),
        });
        self
    }

    /// Adds an operation with a schema of its own and a handler that takes
    /// the input as JSON and checks it itself (a table generated from an
    /// API model, say).
    pub fn add_raw(
        mut self,
        name: &str,
        title: &str,
        description: &str,
        schema: impl Fn() -> Value + 'static,
        handler: impl Fn(Value) -> Result<Value, Error> + 'static,
    ) -> Self {
        if skipped(name) {
            return self;
        }
        self.entries.push(Entry {
            name: name.to_owned(),
            title: title.to_owned(),
            description: description.to_owned(),
            schema: Box::new(schema),
            handler: Box::new(handler),
        });
        self
    }

    /// Says what to answer for an operation name that is not in the table
    /// (a suggestion, say).
    pub fn on_unknown(mut self, message: impl Fn(&str) -> String + 'static) -> Self {
        self.unknown = Some(Box::new(message));
        self
    }

    /// The operations as the manifest lists them.
    pub fn manifest(&self) -> Vec<Operation> {
        self.entries
            .iter()
            .map(|entry| Operation {
                name: entry.name.clone(),
                title: entry.title.clone(),
                description: entry.description.clone(),
                input_schema: (entry.schema)().to_string(),
            })
            .collect()
    }

    /// Runs `operation` with `input` (JSON text; empty means `{}`).
    pub fn invoke(&self, operation: &str, input: &str) -> Result<Value, Error> {
        let Some(entry) = self.entries.iter().find(|e| e.name == operation) else {
            return Err(Error::UnknownOperation(match &self.unknown {
                Some(message) => message(operation),
                None => format!("no operation `{operation}` (the manifest lists them all)"),
            }));
        };
        let input: Value = if input.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str(input).map_err(|e| Error::InvalidInput(format!("input is not valid JSON: {e}")))?
        };
        (entry.handler)(input)
    }
}

/// `I`'s JSON Schema (draft 2020-12), as schemars derives it.
pub fn input_schema<I: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(I)).unwrap_or(Value::Object(Default::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Greet {
        name: String,
        #[schemars(range(min = 1, max = 3))]
        times: Option<u8>,
    }

    fn table() -> Operations {
        Operations::new().add("greet", "Greet", "Says hello.", |input: Greet| {
            Ok(json!({"greeting": format!("hello {}", input.name).repeat(input.times.unwrap_or(1) as usize)}))
        })
    }

    #[test]
    fn an_invocation_builds_only_the_entry_it_runs() {
        let two =
            || table().add_raw("other", "Other", "Another.", || json!({"type": "object"}), |_| Ok(json!("other ran")));
        let built = only_operation("other", two);
        assert_eq!(built.entries.len(), 1);
        assert_eq!(built.invoke("other", "{}").unwrap(), json!("other ran"));
        assert!(matches!(only_operation("nothing", two).invoke("greet", "{}"), Err(Error::UnknownOperation(_))));
        assert_eq!(two().entries.len(), 2, "outside an invocation the whole table is built");
    }

    #[test]
    fn typed_operations_check_and_parse_their_input() {
        let ops = table();
        assert_eq!(ops.invoke("greet", r#"{"name": "ann"}"#).unwrap(), json!({"greeting": "hello ann"}));
        let missing = ops.invoke("greet", "{}").unwrap_err();
        assert!(matches!(&missing, Error::InvalidInput(m) if m.contains("name: required")), "{missing:?}");
        let wrong = ops.invoke("greet", r#"{"name": 3}"#).unwrap_err();
        assert!(matches!(&wrong, Error::InvalidInput(m) if m.contains("name: expected a string")), "{wrong:?}");
        let out_of_range = ops.invoke("greet", r#"{"name": "a", "times": 9}"#).unwrap_err();
        assert!(
            matches!(&out_of_range, Error::InvalidInput(m) if m.contains("times: 9 is above the maximum of 3")),
            "{out_of_range:?}"
        );
        let extra = ops.invoke("greet", r#"{"name": "a", "nmae": 1}"#).unwrap_err();
        assert!(matches!(&extra, Error::InvalidInput(m) if m.contains("nmae: unknown field")), "{extra:?}");
        assert!(matches!(ops.invoke("nope", "{}"), Err(Error::UnknownOperation(_))));
        let manifest = ops.manifest();
        let schema: Value = serde_json::from_str(&manifest[0].input_schema).unwrap();
        assert_eq!(schema["required"], json!(["name"]));
    }
}
