//! `{{reference}}`s in step inputs: finding them (to check a workflow
//! before it runs) and replacing them with the run's inputs and earlier
//! steps' values.

use anyhow::{Context, bail};
use serde_json::Value;

use crate::workflow::{StepOutcome, StepReport};

/// The `{{...}}` references in every string of `value`.
pub(super) fn references(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_strings(value, &mut |s| {
        out.extend(pieces(s).into_iter().filter_map(|piece| match piece {
            Piece::Reference(reference) => Some(reference.to_owned()),
            Piece::Text(_) => None,
        }))
    });
    out
}

/// A part of a string: literal text, or the inside of a `{{...}}`.
enum Piece<'a> {
    Text(&'a str),
    Reference(&'a str),
}

/// Splits `s` at its `{{...}}` references; an unclosed `{{` is text.
fn pieces(s: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else { break };
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        out.push(Piece::Reference(rest[start + 2..start + 2 + len].trim()));
        rest = &rest[start + 2 + len + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

fn walk_strings(value: &Value, f: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| walk_strings(v, f)),
        Value::Object(fields) => fields.values().for_each(|v| walk_strings(v, f)),
        _ => {}
    }
}

/// `value` with its references replaced from the earlier steps' reports.
///
/// Guards against a small input that references a large output many times
/// over: the copies are counted as they are made, and resolution stops
/// once they pass `limit` bytes (as JSON) instead of growing without bound.
pub(super) fn resolve(value: &Value, earlier: &Earlier<'_>, limit: usize) -> anyhow::Result<Value> {
    resolve_within(value, earlier, &mut Budget { left: limit, limit })
}

/// The run's inputs, and the steps that ran before: their reports, and
/// their real (unmasked) inputs and outputs, in the same order (an output
/// is `Null` for a step that failed or was skipped).
pub(super) struct Earlier<'a> {
    pub(super) run_inputs: &'a Value,
    /// In a loop's iteration, its item and index.
    pub(super) item: Option<(&'a Value, &'a Value)>,
    pub(super) reports: &'a [StepReport],
    pub(super) inputs: &'a [Value],
    pub(super) outputs: &'a [Value],
}

/// Bytes of JSON a resolved input may still grow by.
struct Budget {
    left: usize,
    limit: usize,
}

impl Budget {
    fn spend(&mut self, bytes: usize) -> anyhow::Result<()> {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => bail!("the resolved input would be over the {} byte limit of an input", self.limit),
        }
    }

    /// Spends the JSON size of `value`, measured without copying it.
    fn spend_on(&mut self, value: &Value) -> anyhow::Result<()> {
        struct Count(usize);
        impl std::io::Write for Count {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut count = Count(0);
        serde_json::to_writer(&mut count, value).context("could not measure a referenced value")?;
        self.spend(count.0)
    }
}

fn resolve_within(value: &Value, earlier: &Earlier<'_>, budget: &mut Budget) -> anyhow::Result<Value> {
    Ok(match value {
        Value::String(s) => resolve_string(s, earlier, budget)?,
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| resolve_within(v, earlier, budget)).collect::<Result<_, _>>()?)
        }
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), resolve_within(v, earlier, budget)?)))
                .collect::<anyhow::Result<_>>()?,
        ),
        other => other.clone(),
    })
}

fn resolve_string(s: &str, earlier: &Earlier<'_>, budget: &mut Budget) -> anyhow::Result<Value> {
    let trimmed = pieces(s.trim());
    // A string that is one reference takes the referenced value's type.
    if let [Piece::Reference(reference)] = trimmed.as_slice() {
        let value = lookup(reference, earlier)?;
        budget.spend_on(value)?;
        return Ok(value.clone());
    }
    let mut out = String::new();
    for piece in pieces(s) {
        match piece {
            Piece::Text(text) => {
                budget.spend(text.len())?;
                out.push_str(text)
            }
            Piece::Reference(reference) => match lookup(reference, earlier)? {
                Value::String(text) => {
                    budget.spend(text.len())?;
                    out.push_str(text)
                }
                Value::Array(_) | Value::Object(_) => {
                    bail!("`{{{{{reference}}}}}` is not a single value, so it cannot be part of a longer string")
                }
                scalar => {
                    budget.spend_on(scalar)?;
                    out.push_str(&scalar.to_string())
                }
            },
        }
    }
    Ok(Value::String(out))
}

fn lookup<'a>(reference: &str, earlier: &Earlier<'a>) -> anyhow::Result<&'a Value> {
    let parsed = Reference::parse(reference)?;
    let (mut value, mut walked) = match &parsed.step {
        None if matches!(parsed.part, Part::Item | Part::Index) => {
            let (item, index) = earlier.item.with_context(|| format!("`{{{{{reference}}}}}`: not in a loop"))?;
            match parsed.part {
                Part::Item => (item, "item".to_owned()),
                _ => (index, "index".to_owned()),
            }
        }
        None => (earlier.run_inputs, "inputs".to_owned()),
        Some(step) => {
            let index = earlier
                .reports
                .iter()
                .position(|r| &r.id == step)
                .with_context(|| format!("`{{{{{reference}}}}}`: step `{step}` has not run"))?;
            let report = &earlier.reports[index];
            let value = match (&report.outcome, parsed.part) {
                (StepOutcome::Skipped(_), Part::Input) => bail!("`{{{{{reference}}}}}`: step `{step}` was skipped"),
                (_, Part::Input) => earlier.inputs.get(index).unwrap_or(&report.input),
                (StepOutcome::Output(output), Part::Output) => earlier.outputs.get(index).unwrap_or(output),
                (StepOutcome::Error(error), Part::Error) => error,
                (StepOutcome::Error(_), Part::Output) => bail!("`{{{{{reference}}}}}`: step `{step}` failed"),
                (StepOutcome::Skipped(_), Part::Output | Part::Error) => {
                    bail!("`{{{{{reference}}}}}`: step `{step}` was skipped")
                }
                (StepOutcome::Output(_), Part::Error) => bail!("`{{{{{reference}}}}}`: step `{step}` did not fail"),
                // Parsed only without a step.
                (_, Part::Item | Part::Index) => bail!("`{{{{{reference}}}}}` is not a valid reference"),
            };
            (value, format!("steps.{step}.{}", parsed.part.name()))
        }
    };
    for part in &parsed.path {
        let next = match part {
            PathPart::Key(key) => value.get(key.as_str()),
            PathPart::Index(i) => value.get(*i),
        };
        let Some(next) = next else {
            bail!("`{{{{{reference}}}}}`: {walked} has no {part}");
        };
        walked.push_str(&part.to_string());
        value = next;
    }
    Ok(value)
}

/// A parsed reference: `inputs<path>`, `item<path>`, `index`, or
/// `steps.<id>.(input|output|error)<path>`.
pub(super) struct Reference {
    /// The step it names; `None` for the run's inputs (`Part::Input`) or
    /// a loop's item or index.
    pub(super) step: Option<String>,
    pub(super) part: Part,
    path: Vec<PathPart>,
}

/// What of a step a reference reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Input,
    Output,
    Error,
    /// A loop iteration's item.
    Item,
    /// A loop iteration's index.
    Index,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Input => "input",
            Part::Output => "output",
            Part::Error => "error",
            Part::Item => "item",
            Part::Index => "index",
        }
    }
}

enum PathPart {
    Key(String),
    Index(usize),
}

impl std::fmt::Display for PathPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathPart::Key(k) => write!(f, ".{k}"),
            PathPart::Index(i) => write!(f, "[{i}]"),
        }
    }
}

impl Reference {
    pub(super) fn parse(text: &str) -> anyhow::Result<Self> {
        let usage = "a reference is inputs, item, index, steps.<id>.output, steps.<id>.input or steps.<id>.error, \
                     then .Member and [index] parts";
        let mut parts = split_path(text)
            .with_context(|| format!("`{{{{{text}}}}}` is not a valid reference: {usage}"))?
            .into_iter();
        let bad = || anyhow::anyhow!("`{{{{{text}}}}}` is not a valid reference: {usage}");
        match parts.next() {
            Some(PathPart::Key(k)) if k == "steps" => {}
            Some(PathPart::Key(k)) if k == "inputs" => {
                return Ok(Reference { step: None, part: Part::Input, path: parts.collect() });
            }
            Some(PathPart::Key(k)) if k == "item" => {
                return Ok(Reference { step: None, part: Part::Item, path: parts.collect() });
            }
            Some(PathPart::Key(k)) if k == "index" && parts.len() == 0 => {
                return Ok(Reference { step: None, part: Part::Index, path: Vec::new() });
            }
            _ => return Err(bad()),
        }
        let Some(PathPart::Key(step)) = parts.next() else {
            return Err(bad());
        };
        let part = match parts.next() {
            Some(PathPart::Key(k)) if k == "output" => Part::Output,
            Some(PathPart::Key(k)) if k == "input" => Part::Input,
            Some(PathPart::Key(k)) if k == "error" => Part::Error,
            _ => return Err(bad()),
        };
        Ok(Reference { step: Some(step), part, path: parts.collect() })
    }

    /// The first member of its path (`name` in `inputs.name.first`).
    pub(super) fn first_key(&self) -> Option<&str> {
        match self.path.first() {
            Some(PathPart::Key(key)) => Some(key),
            _ => None,
        }
    }
}

fn split_path(text: &str) -> anyhow::Result<Vec<PathPart>> {
    let mut parts = Vec::new();
    for segment in text.split('.') {
        let (key, mut indices) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        if key.is_empty() {
            bail!("empty member name");
        }
        parts.push(PathPart::Key(key.to_owned()));
        while !indices.is_empty() {
            let close = indices.find(']').context("unclosed `[`")?;
            let index = indices[1..close].parse().context("an index must be a number")?;
            parts.push(PathPart::Index(index));
            indices = &indices[close + 1..];
            if !indices.is_empty() && !indices.starts_with('[') {
                bail!("unexpected text after `]`");
            }
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(id: &str, output: Value) -> StepReport {
        StepReport::example(id, json!({"pool_name": "***"}), output)
    }

    /// `value` resolved against `reports`, whose real inputs name the pool
    /// and whose real outputs are as recorded.
    fn resolve(value: &Value, reports: &[StepReport], limit: usize) -> anyhow::Result<Value> {
        let inputs: Vec<Value> = reports.iter().map(|_| json!({"pool_name": "Marketing Department"})).collect();
        let outputs: Vec<Value> = reports.iter().map(|r| r.outcome.output_or_null()).collect();
        let run_inputs = json!({"team": "marketing", "count": 3});
        let earlier = Earlier { run_inputs: &run_inputs, item: None, reports, inputs: &inputs, outputs: &outputs };
        super::resolve(value, &earlier, limit)
    }

    #[test]
    fn whole_string_references_keep_their_type() {
        let reports =
            [report("pool", json!({"UserPool": {"Id": "us-east-1_abc", "Schema": [{"Name": "email"}], "Count": 3}}))];
        let input = json!({
            "user_pool_id": "{{steps.pool.output.UserPool.Id}}",
            "count": "{{ steps.pool.output.UserPool.Count }}",
            "first": "{{steps.pool.output.UserPool.Schema[0].Name}}",
            "note": "pool {{steps.pool.input.pool_name}} has {{steps.pool.output.UserPool.Count}} users",
        });
        assert_eq!(
            resolve(&input, &reports, 1 << 20).unwrap(),
            json!({"user_pool_id": "us-east-1_abc", "count": 3, "first": "email",
                   "note": "pool Marketing Department has 3 users"})
        );
    }

    #[test]
    fn copies_of_references_are_bounded() {
        let big = "x".repeat(10_000);
        let reports = [report("big", json!({"Blob": big}))];
        let many: Vec<Value> = (0..1000).map(|_| json!("{{steps.big.output.Blob}}")).collect();
        let err = resolve(&Value::Array(many), &reports, 1 << 20).unwrap_err().to_string();
        assert_eq!(err, "the resolved input would be over the 1048576 byte limit of an input");
        let err =
            resolve(&json!("{{steps.big.output.Blob}} and {{steps.big.output.Blob}}"), &reports, 15_000).unwrap_err();
        assert!(err.to_string().contains("over the 15000 byte limit"), "{err}");
        assert!(resolve(&json!(["{{steps.big.output.Blob}}"]), &reports, 10_002).is_ok(), "a quoted copy fits");
    }

    #[test]
    fn bad_references_are_named() {
        let reports = [report("pool", json!({"UserPool": {"Id": "x"}}))];
        let err = resolve(&json!({"a": "{{steps.pool.output.UserPool.Name}}"}), &reports, 1 << 20).unwrap_err();
        assert_eq!(err.to_string(), "`{{steps.pool.output.UserPool.Name}}`: steps.pool.output.UserPool has no .Name");
        assert!(
            resolve(&json!("{{steps.nope.output}}"), &reports, 1 << 20)
                .unwrap_err()
                .to_string()
                .contains("has not run")
        );
        assert!(Reference::parse("pool.output.Id").is_err());
    }

    #[test]
    fn inputs_and_errors_are_read() {
        let mut failed = report("pool", json!(null));
        failed.outcome = StepOutcome::Error(json!({"kind": "service", "code": "ResourceNotFoundException"}));
        let reports = [failed];
        let input = json!({"team": "{{inputs.team}}", "n": "{{inputs.count}}", "code": "{{steps.pool.error.code}}"});
        assert_eq!(
            resolve(&input, &reports, 1 << 20).unwrap(),
            json!({"team": "marketing", "n": 3, "code": "ResourceNotFoundException"})
        );
        let err = resolve(&json!("{{steps.pool.output.Id}}"), &reports, 1 << 20).unwrap_err();
        assert!(err.to_string().contains("step `pool` failed"), "{err}");
        let err = resolve(&json!("{{inputs.nope}}"), &reports, 1 << 20).unwrap_err();
        assert_eq!(err.to_string(), "`{{inputs.nope}}`: inputs has no .nope");
        let mut skipped = report("pool", json!(null));
        skipped.outcome = StepOutcome::Skipped(json!({"condition": "false", "value": false}));
        let err = resolve(&json!("{{steps.pool.error}}"), &[skipped], 1 << 20).unwrap_err();
        assert!(err.to_string().contains("was skipped"), "{err}");
    }
}

/// Property tests (`PROPTEST_CASES=N` runs more): references in any text
/// parse or are refused, and resolving never panics or grows past its
/// limit.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Text with references in it, well-formed or not.
    fn templated() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                "[a-z ]{0,6}",
                Just("{{".to_owned()),
                Just("}}".to_owned()),
                "\\{\\{ ?steps\\.[a-z]{1,3}\\.(input|output)(\\.[A-Za-z]{1,4}|\\[[0-9]{1,3}\\]){0,4} ?\\}\\}",
            ],
            0..8,
        )
        .prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn references_parse_or_are_refused(text in any::<String>()) {
            let _ = Reference::parse(&text);
        }

        #[test]
        fn resolving_any_template_stays_within_its_limit(text in templated(), limit in 0usize..2000) {
            let report = StepReport::example(
                "a",
                json!({}),
                json!({"B": [1, {"C": "x".repeat(100)}], "Id": "us-east-1_abc"}),
            );
            let reports = [report];
            let inputs = [json!({"name": "n"})];
            let outputs = [json!({"B": [1, {"C": "x".repeat(100)}], "Id": "us-east-1_abc"})];
            let run_inputs = json!({"n": 1});
            let earlier =
                Earlier { run_inputs: &run_inputs, item: None, reports: &reports, inputs: &inputs, outputs: &outputs };
            let value = json!({"x": text.clone(), "list": [text]});
            let _ = references(&value);
            if let Ok(resolved) = resolve(&value, &earlier, limit) {
                prop_assert!(resolved.to_string().len() <= value.to_string().len() + limit + 64);
            }
        }
    }
}
