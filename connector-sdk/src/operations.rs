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
use crate::bindings::exports::connector::api::details::{Api, CredentialKind, Effect, OperationDetails};

/// What a connector is.
#[derive(Debug, Clone)]
pub struct Info {
    pub name: String,
    pub title: String,
    pub version: String,
    /// AWS service signing names it calls (`iam`, `sts`).
    pub services: Vec<String>,
    /// HTTP APIs it calls (contract 0.1.2), see [`Info::api`].
    pub apis: Vec<Api>,
}

impl Info {
    pub fn new(name: &str, title: &str, version: &str, services: &[&str]) -> Self {
        Info {
            name: name.to_owned(),
            title: title.to_owned(),
            version: version.to_owned(),
            services: services.iter().map(|s| (*s).to_owned()).collect(),
            apis: Vec::new(),
        }
    }

    /// Declares an HTTP API the connector calls with [`crate::http`]: its
    /// name (what requests use), title, where it usually is, and the
    /// credential kinds it accepts (none listed: any). The operator
    /// configures where it is and the credential; the connector never
    /// sees the credential.
    ///
    /// ```
    /// use connector_sdk::{CredentialKind, Info};
    /// let info = Info::new("github", "GitHub", "1.0.0", &[])
    ///     .api("github", "GitHub REST API", "https://api.github.com", &[CredentialKind::Bearer, CredentialKind::Oauth2]);
    /// assert_eq!(info.apis[0].name, "github");
    /// ```
    pub fn api(mut self, name: &str, title: &str, default_base_url: &str, credentials: &[CredentialKind]) -> Self {
        self.apis.push(Api {
            name: name.to_owned(),
            title: title.to_owned(),
            default_base_url: default_base_url.to_owned(),
            credentials: credentials.to_vec(),
        });
        self
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
    output_schema: Option<SchemaFn>,
    effect: Option<Effect>,
    idempotent: bool,
}

/// A connector's operations.
#[derive(Default)]
pub struct Operations {
    entries: Vec<Entry>,
    unknown: Option<UnknownFn>,
    /// Whether the last `add` kept its entry (an invocation builds only the
    /// one it runs), so what follows it describes that entry.
    last_kept: bool,
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
            self.last_kept = false;
            return self;
        }
        let schema = || input_schema::<I>();
        let run = move |input: Value| {
            crate::schema::check(&input_schema::<I>(), &input).map_err(Error::InvalidInput)?;
            let input: I = serde_json::from_value(input).map_err(|e| Error::InvalidInput(e.to_string()))?;
            let output = handler(input)?;
            serde_json::to_value(output).map_err(|e| Error::Internal(format!("the output does not serialize: {e}")))
        };
        self.push(Entry {
            name: name.to_owned(),
            title: title.to_owned(),
            description: description.to_owned(),
            schema: Box::new(schema),
            handler: Box::new(run),
            output_schema: None,
            effect: None,
            idempotent: false,
        })
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
            self.last_kept = false;
            return self;
        }
        self.push(Entry {
            name: name.to_owned(),
            title: title.to_owned(),
            description: description.to_owned(),
            schema: Box::new(schema),
            handler: Box::new(handler),
            output_schema: None,
            effect: None,
            idempotent: false,
        })
    }

    fn push(mut self, entry: Entry) -> Self {
        self.entries.push(entry);
        self.last_kept = true;
        self
    }

    /// The operation added last, unless an invocation skipped it.
    fn last(&mut self) -> Option<&mut Entry> {
        if self.last_kept { self.entries.last_mut() } else { None }
    }

    /// Declares the output of the operation added last as `O`'s JSON
    /// Schema. Members it marks `writeOnly` (`#[schemars(extend("writeOnly" =
    /// true))]`) are secrets the host hides where it records runs.
    pub fn output<O: JsonSchema + 'static>(self) -> Self {
        self.output_schema(output_schema::<O>)
    }

    /// Declares the JSON Schema of the output of the operation added last.
    pub fn output_schema(mut self, schema: impl Fn() -> Value + 'static) -> Self {
        if let Some(entry) = self.last() {
            entry.output_schema = Some(Box::new(schema));
        }
        self
    }

    /// Declares that the operation added last does nothing twice when a
    /// step runs it again (the invocation's `attempt` above 1, the same
    /// `run-id` and `step-id`): it passes [`repeat::token`](crate::repeat::token)
    /// to a service that takes one, or finds what an earlier attempt made
    /// (see [`crate::repeat`]). Hosts record a
    /// step of an operation that does not say so, run again after a stop
    /// mid-step, as possibly done twice.
    pub fn idempotent(mut self) -> Self {
        if let Some(entry) = self.last() {
            entry.idempotent = true;
        }
        self
    }

    /// Declares what the operation added last may do, when its name does
    /// not say it (an operation that can call any other is
    /// [`Effect::Destructive`]). Hosts never show it as safer than its
    /// name suggests.
    pub fn effect(mut self, effect: Effect) -> Self {
        if let Some(entry) = self.last() {
            entry.effect = Some(effect);
        }
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

    /// The operations that declare an output schema, an effect or that
    /// they are idempotent, as the contract's `details` lists them.
    pub fn details(&self) -> Vec<OperationDetails> {
        self.entries
            .iter()
            .filter(|entry| entry.output_schema.is_some() || entry.effect.is_some() || entry.idempotent)
            .map(|entry| OperationDetails {
                name: entry.name.clone(),
                output_schema: entry.output_schema.as_ref().map(|schema| schema().to_string()),
                effect: entry.effect,
                idempotent: entry.idempotent,
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

/// `T`'s JSON Schema (draft 2020-12) as a value serde serializes, as
/// schemars derives it.
pub fn output_schema<T: JsonSchema>() -> Value {
    let schema =
        schemars::generate::SchemaSettings::draft2020_12().for_serialize().into_generator().into_root_schema_for::<T>();
    serde_json::to_value(schema).unwrap_or(Value::Object(Default::default()))
}

/// `T`'s JSON Schema (draft 2020-12), as schemars derives it.
pub fn input_schema<T: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Object(Default::default()))
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

    #[derive(serde::Serialize, JsonSchema)]
    struct Token {
        #[schemars(extend("writeOnly" = true))]
        access_token: String,
    }

    #[test]
    fn details_follow_the_operation_they_are_added_after() {
        let build = || {
            table()
                .output::<Token>()
                .add_raw("any", "Any", "Calls anything.", || json!({"type": "object"}), |_| Ok(json!({})))
                .effect(Effect::Destructive)
                .add_raw("plain", "Plain", "Says nothing more.", || json!({"type": "object"}), |_| Ok(json!({})))
        };
        let details = build().details();
        assert_eq!(details.len(), 2);
        assert_eq!(details[0].name, "greet");
        let output: Value = serde_json::from_str(details[0].output_schema.as_deref().unwrap()).unwrap();
        assert_eq!(output["properties"]["access_token"]["writeOnly"], json!(true));
        assert_eq!((details[1].name.as_str(), details[1].effect), ("any", Some(Effect::Destructive)));
        // An invocation of `plain` skips the others: what follows them
        // does not land on `plain`.
        let only = only_operation("plain", build);
        assert!(only.details().is_empty());
    }
}
