//! Step conditions (`"if"`): an expression in the Common Expression Language
//! (CEL) over the run's inputs and the earlier steps, deciding whether a
//! step runs.
//!
//! CEL (the `cel` crate) rather than a language of our own or JSONLogic:
//! it is a published, specified language (used by Kubernetes admission
//! policies, Envoy and Google Cloud IAM) that reads like the conditions
//! people write (`steps.pool.output.UserPool.Name.startsWith("Mark") &&
//! inputs.count > 3`), and it is not Turing-complete: no loops, no
//! recursion, no side effects, so every condition ends.
//!
//! What a hostile workflow could still do with it is bounded here: the
//! text is at most [`MAX_EXPRESSION_BYTES`], the parser refuses nesting
//! past [`MAX_NESTING`], and a list macro (`all`, `exists`, `exists_one`,
//! `map`, `filter`) may not run inside another one's body, so evaluating
//! takes time linear in the size of the data and the expression, never a
//! product of lists. A panic inside the interpreter is caught and becomes
//! the condition's error.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, bail};
use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::{Context, Program, Value as Cel};
use serde_json::Value;

/// Longest condition, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 2048;

/// Deepest nesting of a condition's brackets, and of its expressions as
/// the parser counts them.
pub const MAX_NESTING: u16 = 32;

/// Most operator characters (`!&|=<>+-*/%?.,:` and brackets) outside
/// string literals: each may add a level to the parsed expression, which
/// parsing and evaluating walk recursively.
pub const MAX_OPERATORS: usize = 128;

/// The stack of the thread that parses and evaluates a condition: four
/// times what the deepest expression the bounds above let through takes in
/// a debug build (a chain of 127 `+`, the worst found, needs 4 to 8 MiB).
/// Only the pages touched are ever committed.
const STACK_BYTES: usize = 32 << 20;

/// A checked, compiled condition.
pub(crate) struct Condition {
    program: Program,
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Condition")
    }
}

impl Condition {
    /// Parses and checks `text`, or says what is wrong with it.
    pub(crate) fn parse(text: &str) -> anyhow::Result<Condition> {
        if text.len() > MAX_EXPRESSION_BYTES {
            bail!("the condition has {} bytes, over the limit of {MAX_EXPRESSION_BYTES}", text.len());
        }
        if text.trim().is_empty() {
            bail!("the condition is empty");
        }
        let (depth, operators) = shape(text);
        if depth > MAX_NESTING as usize {
            bail!("the condition nests brackets {depth} deep, past the limit of {MAX_NESTING}");
        }
        if operators > MAX_OPERATORS {
            bail!("the condition has {operators} operators, past the limit of {MAX_OPERATORS}");
        }
        let parsed = on_large_stack(|| {
            cel::parser::Parser::new().max_recursion_depth(MAX_NESTING).parse(text).map(|_| ())?;
            Program::compile(text)
        });
        let program = match parsed {
            Some(Ok(program)) => program,
            Some(Err(errors)) => bail!("the condition does not parse: {}", one_line(&errors.to_string())),
            None => bail!("the condition does not parse"),
        };
        if nested_list_macro(program.expression(), false) {
            bail!(
                "the condition runs a list macro (all, exists, exists_one, map, filter) inside another's body, \
                 which could take as long as the product of the lists: use one at a time"
            );
        }
        Ok(Condition { program })
    }

    /// Evaluates the condition with `variables` bound (`inputs`, `steps`,
    /// ...): true or false, or why it is neither.
    pub(crate) fn evaluate(&self, variables: &[(&str, &Value)]) -> anyhow::Result<bool> {
        let result = on_large_stack(|| {
            let mut context = Context::default();
            for (name, value) in variables {
                context.add_variable_from_value(*name, to_cel(value));
            }
            // What it says, as text: CEL's values do not leave its thread.
            match self.program.execute(&context) {
                Ok(Cel::Bool(value)) => Ok(value),
                Ok(other) => Err(format!("the condition must be true or false, and is {}", describe(&other))),
                Err(error) => Err(format!("the condition could not be evaluated: {}", one_line(&error.to_string()))),
            }
        });
        match result {
            Some(Ok(value)) => Ok(value),
            Some(Err(message)) => Err(anyhow!(message)),
            None => Err(anyhow!("the condition could not be evaluated")),
        }
    }
}

/// Runs `work` on a thread of its own with a [`STACK_BYTES`] stack (the
/// caller's may be a runtime worker's 2 MiB), catching a panic: `None`.
fn on_large_stack<T: Send>(work: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|scope| {
        let builder = std::thread::Builder::new().name("condition".into()).stack_size(STACK_BYTES);
        builder.spawn_scoped(scope, work).ok()?.join().ok()
    })
}

/// How deep `text`'s brackets nest and how many operator characters it
/// has, outside string literals.
fn shape(text: &str) -> (usize, usize) {
    let (mut depth, mut deepest, mut operators) = (0usize, 0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(_) if c == '\\' => {
                chars.next();
            }
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' | '[' | '{' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                    operators += 1;
                }
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                '!' | '&' | '|' | '=' | '<' | '>' | '+' | '-' | '*' | '/' | '%' | '?' | '.' | ',' | ':' => {
                    operators += 1
                }
                _ => {}
            },
        }
    }
    (deepest, operators)
}

/// Whether a list macro (a comprehension, as CEL expands them) runs inside
/// another's body.
fn nested_list_macro(expression: &IdedExpr, in_body: bool) -> bool {
    // Each child, and whether it is in a list macro's body.
    fn entry<'a>(entry: &'a EntryExpr, in_body: bool, children: &mut Vec<(&'a IdedExpr, bool)>) {
        match entry {
            EntryExpr::MapEntry(entry) => children.extend([(&entry.key, in_body), (&entry.value, in_body)]),
            EntryExpr::StructField(field) => children.push((&field.value, in_body)),
        }
    }
    let mut children: Vec<(&IdedExpr, bool)> = Vec::new();
    match &expression.expr {
        Expr::Comprehension(comprehension) => {
            if in_body {
                return true;
            }
            children.extend([(&comprehension.iter_range, false), (&comprehension.accu_init, false)]);
            children.extend([
                (&comprehension.loop_cond, true),
                (&comprehension.loop_step, true),
                (&comprehension.result, true),
            ]);
        }
        Expr::Call(call) => {
            children.extend(call.target.iter().map(|target| (target.as_ref(), in_body)));
            children.extend(call.args.iter().map(|arg| (arg, in_body)));
        }
        Expr::List(list) => children.extend(list.elements.iter().map(|element| (element, in_body))),
        Expr::Map(map) => map.entries.iter().for_each(|e| entry(&e.expr, in_body, &mut children)),
        Expr::Struct(structure) => structure.entries.iter().for_each(|e| entry(&e.expr, in_body, &mut children)),
        Expr::Select(select) => children.push((&select.operand, in_body)),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
    children.into_iter().any(|(child, in_body)| nested_list_macro(child, in_body))
}

/// A JSON value as CEL's: integers as `int` (as `uint` only past `int`'s
/// range), other numbers as `double`, objects as maps with string keys.
fn to_cel(value: &Value) -> Cel {
    match value {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Cel::Int(i),
            (None, Some(u)) => Cel::UInt(u),
            _ => Cel::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Array(items) => Cel::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(fields) => {
            let map: HashMap<String, Cel> = fields.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            Cel::from(map)
        }
    }
}

/// What a non-boolean result was, for the error.
fn describe(value: &Cel) -> String {
    match value {
        Cel::Null => "null".into(),
        Cel::Int(i) => format!("the number {i}"),
        Cel::UInt(u) => format!("the number {u}"),
        Cel::Float(f) => format!("the number {f}"),
        Cel::String(s) if s.chars().count() <= 40 => format!("the string {}", Value::String(s.to_string())),
        Cel::String(_) => "a string".into(),
        Cel::List(_) => "a list".into(),
        Cel::Map(_) => "a map".into(),
        _ => "not a boolean".into(),
    }
}

/// A parser's or interpreter's message on one line, bounded.
fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(text: &str, inputs: Value, steps: Value) -> anyhow::Result<bool> {
        Condition::parse(text)?.evaluate(&[("inputs", &inputs), ("steps", &steps)])
    }

    #[test]
    fn conditions_compare_test_membership_and_strings() {
        let inputs = json!({"count": 5, "name": "Marketing Department", "teams": ["a", "b"], "ratio": 0.5});
        let steps = json!({"pool": {"status": "failed", "output": null,
                           "error": {"kind": "service", "code": "ResourceNotFoundException"}}});
        for (text, expected) in [
            ("inputs.count > 3 && inputs.count <= 5", true),
            ("inputs.count == 5.0", true),
            ("inputs.ratio < 1", true),
            ("!(inputs.count > 3)", false),
            ("inputs.name.startsWith('Marketing') || false", true),
            ("inputs.name.contains('Depart')", true),
            ("'b' in inputs.teams", true),
            ("has(inputs.missing)", false),
            ("has(steps.pool.error) && steps.pool.error.code == 'ResourceNotFoundException'", true),
            ("steps.pool.status == 'failed'", true),
            ("inputs.teams.exists(t, t == 'a')", true),
            ("size(inputs.teams) == 2", true),
        ] {
            assert_eq!(check(text, inputs.clone(), steps.clone()).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn bad_conditions_are_refused_with_the_reason() {
        let err = |text: &str| format!("{:#}", check(text, json!({"n": 1}), json!({})).unwrap_err());
        assert!(err("inputs.n +").contains("does not parse"));
        assert!(err("inputs.n").contains("must be true or false, and is the number 1"));
        assert!(err("inputs.nope == 1").contains("could not be evaluated"));
        assert!(err(&"x".repeat(MAX_EXPRESSION_BYTES + 1)).contains("over the limit of 2048"));
        assert!(err("  ").contains("empty"));
        assert!(err("[1,2].all(x, [1,2].exists(y, x == y))").contains("inside another's body"));
        // One after the other is linear, and fine.
        assert!(check("[1,2].map(x, x * 2).exists(y, y == 4)", json!({}), json!({})).unwrap());
    }

    #[test]
    fn deep_and_long_conditions_are_refused_or_run_not_a_stack_overflow() {
        let refused = |text: &str| format!("{:#}", Condition::parse(text).unwrap_err());
        let deep = format!("{}true{}", "(".repeat(1000), ")".repeat(1000));
        assert!(refused(&deep).contains("nests brackets 1000 deep"));
        assert!(refused(&"!".repeat(300)).contains("300 operators"));
        // "(((" in a string is text, not nesting.
        assert!(Condition::parse(&format!("'{}' == ''", "(".repeat(100))).is_ok());
        // The worst each bound lets through parses and evaluates (or fails
        // cleanly) on the condition's own thread.
        let data = json!({"a": {"a": {"a": 1}}});
        for text in [
            format!("{}true", "!".repeat(MAX_OPERATORS - 2)),
            format!("{} == 256", vec!["1"; MAX_OPERATORS - 2].join("+")),
            format!("inputs{} == 1", ".a".repeat(MAX_OPERATORS - 4)),
            format!("{}true{}", "(".repeat(MAX_NESTING as usize), ")".repeat(MAX_NESTING as usize)),
            format!("{}1{} == 1", "[".repeat(MAX_NESTING as usize), "]".repeat(MAX_NESTING as usize)),
            format!("{} || true", vec!["inputs.a.a.a == 1"; 60].join(" && ")),
        ] {
            if let Ok(condition) = Condition::parse(&text) {
                let _ = condition.evaluate(&[("inputs", &data)]);
            }
        }
    }
}

/// Property tests (`PROPTEST_CASES=N` runs more): any text parses or is
/// refused, and what parses evaluates or fails, without a panic.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        #[test]
        fn any_condition_parses_and_evaluates_or_is_refused(
            text in proptest::collection::vec(
                prop_oneof![
                    Just("inputs".to_owned()), Just(".".to_owned()), Just("n".to_owned()), Just("(".to_owned()),
                    Just(")".to_owned()), Just("[".to_owned()), Just("]".to_owned()), Just("&&".to_owned()),
                    Just("||".to_owned()), Just("!".to_owned()), Just("==".to_owned()), Just("<".to_owned()),
                    Just("+".to_owned()), Just("/".to_owned()), Just("%".to_owned()), Just("in".to_owned()),
                    Just("exists(x,".to_owned()), Just("map(x,".to_owned()), Just("size(".to_owned()),
                    Just("'s'".to_owned()), Just("0".to_owned()), Just("9223372036854775807".to_owned()),
                    Just("-".to_owned()), Just(",".to_owned()), Just("x".to_owned()), Just("has(".to_owned()),
                    "[a-z0-9 .()'\"\\[\\]{}:,?-]{0,4}",
                ],
                0..20,
            ).prop_map(|pieces| pieces.concat())
        ) {
            if let Ok(condition) = Condition::parse(&text) {
                let inputs = json!({"n": 3, "s": "text", "l": [1, 2, 3], "m": {"k": -1}});
                let _ = condition.evaluate(&[("inputs", &inputs), ("n", &json!(9_223_372_036_854_775_807i64))]);
            }
        }
    }
}
