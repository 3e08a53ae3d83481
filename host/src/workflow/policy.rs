//! What a step does when it fails (`"on_error"`): stop the run (the
//! default), continue with the next step (which can read the error as
//! `{{steps.<id>.error.code}}`), or first try again, with back-off, when
//! the error is of a kind worth retrying.

use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A step's error policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value", untagged)]
pub enum OnError {
    /// `"stop"` (the default) or `"continue"`.
    Then(Then),
    /// `{"retry": {...}, "then": "stop" | "continue"}`: retried as `retry`
    /// says, then as `then` says (stop by default).
    Retry { retry: Retry, then: Then },
}

impl Default for OnError {
    fn default() -> Self {
        OnError::Then(Then::Stop)
    }
}

/// `on_error` as written, with deserialize's errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetryPolicy {
    retry: Retry,
    #[serde(default)]
    then: Then,
}

impl TryFrom<Value> for OnError {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, String> {
        let usage = r#"on_error must be "stop", "continue" or {"retry": {"max_attempts": N, ...}, "then": "stop" | "continue"}"#;
        match value {
            Value::String(text) => match text.as_str() {
                "stop" => Ok(OnError::Then(Then::Stop)),
                "continue" => Ok(OnError::Then(Then::Continue)),
                _ => Err(usage.to_owned()),
            },
            Value::Object(_) => match serde_json::from_value::<RetryPolicy>(value) {
                Ok(policy) => Ok(OnError::Retry { retry: policy.retry, then: policy.then }),
                Err(e) => Err(format!("on_error: {e}")),
            },
            _ => Err(usage.to_owned()),
        }
    }
}

/// What the run does after a step's last failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Then {
    /// The run ends, failed.
    #[default]
    Stop,
    /// The error is recorded and the run goes on.
    Continue,
}

/// How a failed step is tried again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Tries in all, the first included (2 to [`Retry::MAX_ATTEMPTS`]).
    pub max_attempts: u32,
    #[serde(default)]
    pub backoff: Backoff,
    /// Which errors are retried (default: those that may pass on their
    /// own: `retryable`, `transport`, `timeout`, `busy`).
    #[serde(default = "Retry::default_on")]
    pub on: Vec<String>,
}

/// The waits between tries: `initial_ms`, then each `multiplier` times the
/// one before, at most `max_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    #[serde(default = "Backoff::default_initial_ms")]
    pub initial_ms: u64,
    #[serde(default = "Backoff::default_max_ms")]
    pub max_ms: u64,
    #[serde(default = "Backoff::default_multiplier")]
    pub multiplier: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial_ms: Backoff::default_initial_ms(),
            max_ms: Backoff::default_max_ms(),
            multiplier: Backoff::default_multiplier(),
        }
    }
}

impl Backoff {
    /// Longest wait between two tries.
    pub const MAX_WAIT_MS: u64 = 300_000;

    fn default_initial_ms() -> u64 {
        500
    }

    fn default_max_ms() -> u64 {
        30_000
    }

    fn default_multiplier() -> f64 {
        2.0
    }

    /// The wait before try `next` (2 for the first retry).
    pub fn wait_before(&self, next: u32) -> Duration {
        let exponent = next.saturating_sub(2).min(64) as i32;
        let ms = self.initial_ms as f64 * self.multiplier.powi(exponent);
        Duration::from_millis(if ms.is_finite() { (ms as u64).min(self.max_ms) } else { self.max_ms })
    }
}

/// The error classes `on` may name, beside `service:<Code>`.
const CLASSES: &[(&str, &str)] = &[
    ("retryable", "a service error the service marks retryable (5xx, 429, throttling codes)"),
    ("throttling", "a service error saying the caller goes too fast"),
    ("transport", "the request did not reach the service or its answer did not come back"),
    ("timeout", "the operation ran past its time limit"),
    ("busy", "every instance slot of the host was taken"),
    ("any", "any error"),
];

impl Retry {
    /// Most tries a step may have.
    pub const MAX_ATTEMPTS: u32 = 10;

    fn default_on() -> Vec<String> {
        ["retryable", "transport", "timeout", "busy"].map(str::to_owned).to_vec()
    }

    /// Whether `error` (a step's error as JSON) is one this policy retries.
    pub fn covers(&self, error: &Value) -> bool {
        self.on.iter().any(|class| matches(class, error))
    }
}

/// Whether `error` is of class `class`.
fn matches(class: &str, error: &Value) -> bool {
    let kind = error.get("kind").and_then(Value::as_str).unwrap_or("");
    let code = error.get("code").and_then(Value::as_str).unwrap_or("");
    match class {
        "any" => true,
        "retryable" => kind == "service" && error.get("retryable") == Some(&Value::Bool(true)),
        "throttling" => {
            kind == "service"
                && (error.get("status").and_then(Value::as_u64) == Some(429)
                    || [
                        "Throttl",
                        "TooManyRequests",
                        "RequestLimitExceeded",
                        "SlowDown",
                        "ProvisionedThroughputExceeded",
                    ]
                    .iter()
                    .any(|word| code.contains(word)))
        }
        "transport" => kind == "capability" && error.get("reason").and_then(Value::as_str) == Some("transport"),
        "timeout" | "busy" => kind == class,
        _ => class.strip_prefix("service:").is_some_and(|wanted| kind == "service" && code == wanted),
    }
}

impl OnError {
    /// The retry policy, if there is one.
    pub fn retry(&self) -> Option<&Retry> {
        match self {
            OnError::Retry { retry, .. } => Some(retry),
            _ => None,
        }
    }

    /// What the run does after the step's last failure.
    pub fn then(&self) -> Then {
        match self {
            OnError::Then(then) | OnError::Retry { then, .. } => *then,
        }
    }

    /// Says what is wrong with the policy, if anything.
    pub fn check(&self) -> anyhow::Result<()> {
        let Some(retry) = self.retry() else { return Ok(()) };
        if !(2..=Retry::MAX_ATTEMPTS).contains(&retry.max_attempts) {
            bail!("on_error.retry.max_attempts is {}; it must be 2 to {}", retry.max_attempts, Retry::MAX_ATTEMPTS);
        }
        let backoff = &retry.backoff;
        if backoff.max_ms > Backoff::MAX_WAIT_MS || backoff.initial_ms > backoff.max_ms {
            bail!(
                "on_error.retry.backoff: initial_ms ({}) must be at most max_ms ({}), and max_ms at most {}",
                backoff.initial_ms,
                backoff.max_ms,
                Backoff::MAX_WAIT_MS
            );
        }
        if !(1.0..=10.0).contains(&backoff.multiplier) {
            bail!("on_error.retry.backoff.multiplier is {}; it must be 1 to 10", backoff.multiplier);
        }
        if retry.on.is_empty() || retry.on.len() > 50 {
            bail!("on_error.retry.on names {} error classes; it must name 1 to 50", retry.on.len());
        }
        for class in &retry.on {
            let known = CLASSES.iter().any(|(name, _)| name == class);
            let service = class.strip_prefix("service:").is_some_and(|code| {
                (1..=128).contains(&code.len())
                    && code.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            });
            if !known && !service {
                let names: Vec<&str> = CLASSES.iter().map(|(name, _)| *name).collect();
                bail!(
                    "on_error.retry.on: `{}` is not an error class; the classes are {} and service:<ErrorCode>",
                    crate::escape::escape_untrusted(&class.chars().take(140).collect::<String>()),
                    names.join(", ")
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(value: Value) -> OnError {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn policies_read_as_written() {
        assert_eq!(policy(json!("continue")).then(), Then::Continue);
        assert_eq!(policy(json!("stop")).then(), Then::Stop);
        let retry = policy(json!({"retry": {"max_attempts": 3, "on": ["throttling"]}, "then": "continue"}));
        assert_eq!(retry.then(), Then::Continue);
        assert_eq!(retry.retry().unwrap().backoff, Backoff::default());
        let refused = |value: Value| serde_json::from_value::<OnError>(value).unwrap_err().to_string();
        assert!(refused(json!("sometimes")).starts_with("on_error must be \"stop\", \"continue\""));
        assert!(refused(json!({"retry": {"max_attempts": 3, "tries": 1}})).contains("unknown field `tries`"));
        assert!(refused(json!({"retry": {"max_attempts": 3}, "then": "later"})).contains("unknown variant `later`"));
    }

    #[test]
    fn bad_policies_are_refused_naming_the_member() {
        let err = |value: Value| format!("{:#}", policy(value).check().unwrap_err());
        assert!(err(json!({"retry": {"max_attempts": 1}})).contains("max_attempts is 1; it must be 2 to 10"));
        assert!(err(json!({"retry": {"max_attempts": 11}})).contains("it must be 2 to 10"));
        assert!(
            err(json!({"retry": {"max_attempts": 2, "backoff": {"initial_ms": 10, "max_ms": 400_000}}}))
                .contains("max_ms at most 300000")
        );
        assert!(err(json!({"retry": {"max_attempts": 2, "backoff": {"multiplier": 0.5}}})).contains("multiplier"));
        assert!(err(json!({"retry": {"max_attempts": 2, "on": ["flaky"]}})).contains("`flaky` is not an error class"));
        assert!(err(json!({"retry": {"max_attempts": 2, "on": []}})).contains("1 to 50"));
        assert!(
            policy(json!({"retry": {"max_attempts": 2, "on": ["service:ResourceInUseException"]}})).check().is_ok()
        );
    }

    #[test]
    fn classes_match_errors_by_kind_code_and_flags() {
        let throttled = json!({"kind": "service", "code": "ThrottlingException", "status": 400, "retryable": true});
        let missing =
            json!({"kind": "service", "code": "ResourceNotFoundException", "status": 400, "retryable": false});
        let transport = json!({"kind": "capability", "reason": "transport"});
        let denied = json!({"kind": "capability", "reason": "denied"});
        for (class, error, expected) in [
            ("throttling", &throttled, true),
            ("retryable", &throttled, true),
            ("throttling", &missing, false),
            ("retryable", &missing, false),
            ("service:ResourceNotFoundException", &missing, true),
            ("service:ResourceNotFound", &missing, false),
            ("transport", &transport, true),
            ("transport", &denied, false),
            ("any", &denied, true),
            ("timeout", &json!({"kind": "timeout"}), true),
        ] {
            assert_eq!(matches(class, error), expected, "{class} on {error}");
        }
    }

    #[test]
    fn waits_grow_to_their_cap() {
        let backoff = Backoff { initial_ms: 100, max_ms: 1000, multiplier: 3.0 };
        let waits: Vec<u64> = (2..=6).map(|n| backoff.wait_before(n).as_millis() as u64).collect();
        assert_eq!(waits, [100, 300, 900, 1000, 1000]);
        let huge = Backoff { initial_ms: 300_000, max_ms: 300_000, multiplier: 10.0 };
        assert_eq!(huge.wait_before(u32::MAX), Duration::from_millis(300_000));
    }
}
