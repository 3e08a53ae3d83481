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
//! What a hostile workflow could still do with it is bounded here:
//!
//! - the text is at most [`MAX_EXPRESSION_BYTES`], with at most
//!   [`MAX_NESTING`] levels of brackets and [`MAX_OPERATORS`] operator
//!   characters and `in`s, counted everywhere, string literals included
//!   (no quoting trick hides one), so the parsed expression is shallow
//!   enough for the stack its thread has;
//! - a list macro (`all`, `exists`, `exists_one`, `map`, `filter`) may not
//!   run inside another's body, nor use `+` or `in` on anything but its
//!   own variables there, so no condition costs a product of lists;
//! - the data it reads is at most [`MAX_DATA_BYTES`] of JSON;
//! - it is evaluated on a thread of its own, off the runtime's, within
//!   [`DEADLINE`] (a condition past it fails), at most [`MAX_RUNNING`] at
//!   once across the process, and a panic inside the interpreter is the
//!   condition's error.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::bail;
use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::{Context, Value as Cel};
use serde_json::Value;

/// Longest condition, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 2048;

/// Deepest nesting of a condition's brackets, and of its expressions as
/// the parser counts them.
pub const MAX_NESTING: u16 = 32;

/// Most operator characters (`!&|=<>+-*/%?.,:` and brackets) and `in`s,
/// wherever they are: each may add a level to the parsed expression,
/// which parsing and evaluating walk recursively.
pub const MAX_OPERATORS: usize = 128;

/// Most bytes of JSON a condition reads (the run's inputs and the steps it
/// names).
pub const MAX_DATA_BYTES: usize = 1 << 20;

/// Longest a condition may take to evaluate.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// Conditions evaluated at once across the process: one past its
/// deadline keeps its thread (and its permit) until it ends.
pub const MAX_RUNNING: usize = 4;

/// The stack of the thread that parses and evaluates a condition: four
/// times what the deepest expression the bounds above let through takes in
/// a debug build (a chain of 127 `+`, the worst found, needs 4 to 8 MiB).
/// Only the pages touched are ever committed.
const STACK_BYTES: usize = 32 << 20;

/// A checked, compiled condition.
pub(crate) struct Condition {
    /// The parsed expression, list macros expanded.
    expression: Arc<IdedExpr>,
    /// The steps it reads by name, sorted.
    steps: Vec<String>,
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
        // Once, with the depth bound: the interpreter evaluates the
        // expression tree as it is.
        let parsed = on_large_stack(|| cel::parser::Parser::new().max_recursion_depth(MAX_NESTING).parse(text));
        let expression = match parsed {
            Some(Ok(expression)) => expression,
            Some(Err(errors)) => bail!("the condition does not parse: {}", one_line(&errors.to_string())),
            None => bail!("the condition could not be checked (its parser failed)"),
        };
        if nested_list_macro(&expression, false) {
            bail!(
                "the condition runs a list macro (all, exists, exists_one, map, filter) inside another's body, \
                 which could take as long as the product of the lists: use one at a time"
            );
        }
        if costly_in_body(&expression, None) {
            bail!(
                "the condition uses `+` or `in` inside a list macro's body on something other than the macro's \
                 own variables, which could take as long as the product of the lists: compute it outside the macro"
            );
        }
        let mut steps = Vec::new();
        collect_steps(&expression, &mut steps);
        steps.sort();
        steps.dedup();
        Ok(Condition { expression: Arc::new(expression), steps })
    }

    /// Evaluates the condition with `variables` bound (`inputs`, `steps`,
    /// ...): true or false, or why it is neither (the interpreter's words,
    /// which may quote the data: hide secrets in it before showing it).
    pub(crate) async fn evaluate(&self, variables: Vec<(&'static str, Value)>) -> Result<bool, String> {
        let bytes: usize = variables.iter().map(|(_, value)| json_size(value)).sum();
        if bytes > MAX_DATA_BYTES {
            return Err(format!(
                "the condition reads {bytes} bytes of data, over the limit of {MAX_DATA_BYTES}: name fewer or smaller steps"
            ));
        }
        let Ok(permit) = running().clone().acquire_owned().await else {
            return Err("the condition could not be evaluated".into());
        };
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let expression = self.expression.clone();
        let spawned = std::thread::Builder::new().name("condition".into()).stack_size(STACK_BYTES).spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut context = Context::default();
                for (name, value) in &variables {
                    context.add_variable_from_value(*name, to_cel(value));
                }
                // What it says, as text: CEL's values do not leave its thread.
                match Cel::resolve(&expression, &context) {
                    Ok(Cel::Bool(value)) => Ok(value),
                    Ok(other) => Err(format!("the condition must be true or false, and is {}", describe(&other))),
                    Err(error) => Err(format!("the condition could not be evaluated: {error}")),
                }
            }));
            drop(permit);
            let _ = sender.send(result.unwrap_or_else(|_| Err("the condition could not be evaluated".into())));
        });
        if spawned.is_err() {
            return Err("the condition could not be evaluated: no thread to be had".into());
        }
        match tokio::time::timeout(DEADLINE, receiver).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the condition could not be evaluated".into()),
            Err(_) => Err(format!("the condition took longer than {} s to evaluate", DEADLINE.as_secs())),
        }
    }
}

impl Condition {
    /// The steps the condition reads by name (`steps.pool`,
    /// `steps['create-pool']`), sorted: to check they run before it, and
    /// to hand it those alone.
    pub(crate) fn named_steps(&self) -> &[String] {
        &self.steps
    }
}

fn collect_steps(expression: &IdedExpr, names: &mut Vec<String>) {
    let is_steps = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(name) if name == "steps");
    match &expression.expr {
        Expr::Select(select) if is_steps(&select.operand) => names.push(select.field.clone()),
        Expr::Call(call)
            if call.func_name == cel::common::ast::operators::INDEX && call.args.first().is_some_and(is_steps) =>
        {
            if let Some(Expr::Literal(cel::common::ast::LiteralValue::String(name))) = call.args.get(1).map(|a| &a.expr)
            {
                names.push(name.inner().to_owned());
            }
        }
        _ => {}
    }
    let mut visit = |e: &IdedExpr| collect_steps(e, names);
    match &expression.expr {
        Expr::Comprehension(c) => {
            [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result].into_iter().for_each(&mut visit)
        }
        Expr::Call(call) => call.target.iter().map(|t| t.as_ref()).chain(call.args.iter()).for_each(&mut visit),
        Expr::List(list) => list.elements.iter().for_each(&mut visit),
        Expr::Map(map) => map.entries.iter().for_each(|entry| match &entry.expr {
            EntryExpr::MapEntry(e) => {
                visit(&e.key);
                visit(&e.value);
            }
            EntryExpr::StructField(f) => visit(&f.value),
        }),
        Expr::Struct(structure) => structure.entries.iter().for_each(|entry| match &entry.expr {
            EntryExpr::MapEntry(e) => {
                visit(&e.key);
                visit(&e.value);
            }
            EntryExpr::StructField(f) => visit(&f.value),
        }),
        Expr::Select(select) => visit(&select.operand),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

/// The process's permits to evaluate a condition.
fn running() -> &'static Arc<tokio::sync::Semaphore> {
    static RUNNING: std::sync::OnceLock<Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    RUNNING.get_or_init(|| Arc::new(tokio::sync::Semaphore::new(MAX_RUNNING)))
}

/// Bytes of `value` as JSON, counted without writing it out.
fn json_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|v| json_size(v) + 1).sum::<usize>(),
        Value::Object(fields) => 2 + fields.iter().map(|(k, v)| k.len() + 4 + json_size(v)).sum::<usize>(),
    }
}

/// Whether, inside a list macro's body (`bound`: its variables), `+` has
/// an operand or `in` a container that reads anything but those
/// variables: work as large as the data, done once per item.
fn costly_in_body(expression: &IdedExpr, bound: Option<&[&str]>) -> bool {
    match &expression.expr {
        Expr::Comprehension(c) => {
            let vars: Vec<&str> = [Some(c.iter_var.as_str()), c.iter_var2.as_deref(), Some(c.accu_var.as_str())]
                .into_iter()
                .flatten()
                .collect();
            costly_in_body(&c.iter_range, bound)
                || costly_in_body(&c.accu_init, bound)
                || [&c.loop_cond, &c.loop_step, &c.result].iter().any(|e| costly_in_body(e, Some(&vars)))
        }
        Expr::Call(call) => {
            if let Some(vars) = bound {
                let free = |e: &IdedExpr| reads_beyond(e, vars);
                if call.func_name == cel::common::ast::operators::ADD && call.args.iter().any(free) {
                    return true;
                }
                if call.func_name == cel::common::ast::operators::IN && call.args.get(1).is_some_and(free) {
                    return true;
                }
            }
            call.target.iter().any(|t| costly_in_body(t, bound)) || call.args.iter().any(|a| costly_in_body(a, bound))
        }
        Expr::List(list) => list.elements.iter().any(|e| costly_in_body(e, bound)),
        Expr::Map(map) => map.entries.iter().any(|entry| match &entry.expr {
            EntryExpr::MapEntry(e) => costly_in_body(&e.key, bound) || costly_in_body(&e.value, bound),
            EntryExpr::StructField(f) => costly_in_body(&f.value, bound),
        }),
        Expr::Struct(structure) => structure.entries.iter().any(|entry| match &entry.expr {
            EntryExpr::MapEntry(e) => costly_in_body(&e.key, bound) || costly_in_body(&e.value, bound),
            EntryExpr::StructField(f) => costly_in_body(&f.value, bound),
        }),
        Expr::Select(select) => costly_in_body(&select.operand, bound),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => false,
    }
}

/// Whether `expression` reads a variable other than `vars`.
fn reads_beyond(expression: &IdedExpr, vars: &[&str]) -> bool {
    match &expression.expr {
        Expr::Ident(name) => !vars.contains(&name.as_str()),
        Expr::Comprehension(c) => {
            [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result].iter().any(|e| reads_beyond(e, vars))
        }
        Expr::Call(call) => {
            call.target.iter().any(|t| reads_beyond(t, vars)) || call.args.iter().any(|a| reads_beyond(a, vars))
        }
        Expr::List(list) => list.elements.iter().any(|e| reads_beyond(e, vars)),
        Expr::Map(map) => map.entries.iter().any(|entry| match &entry.expr {
            EntryExpr::MapEntry(e) => reads_beyond(&e.key, vars) || reads_beyond(&e.value, vars),
            EntryExpr::StructField(f) => reads_beyond(&f.value, vars),
        }),
        Expr::Struct(structure) => structure.entries.iter().any(|entry| match &entry.expr {
            EntryExpr::MapEntry(e) => reads_beyond(&e.key, vars) || reads_beyond(&e.value, vars),
            EntryExpr::StructField(f) => reads_beyond(&f.value, vars),
        }),
        Expr::Select(select) => reads_beyond(&select.operand, vars),
        Expr::Literal(_) | Expr::Unspecified => false,
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

/// How deep `text`'s brackets nest and how many operator characters and
/// `in` words it has, string literals included: a quote cannot hide any.
fn shape(text: &str) -> (usize, usize) {
    let (mut depth, mut deepest, mut operators) = (0usize, 0usize, 0usize);
    for c in text.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
                operators += 1;
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            '!' | '&' | '|' | '=' | '<' | '>' | '+' | '-' | '*' | '/' | '%' | '?' | '.' | ',' | ':' => operators += 1,
            _ => {}
        }
    }
    let words = text.split(|c: char| !(c.is_alphanumeric() || c == '_'));
    operators += words.filter(|word| *word == "in").count();
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
        Cel::String(_) => "a string".into(),
        Cel::List(_) => "a list".into(),
        Cel::Map(_) => "a map".into(),
        _ => "not a boolean".into(),
    }
}

/// A parser's or interpreter's message on one line, bounded.
pub(crate) fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn check(text: &str, inputs: Value, steps: Value) -> Result<bool, String> {
        Condition::parse(text).map_err(|e| format!("{e:#}"))?.evaluate(vec![("inputs", inputs), ("steps", steps)]).await
    }

    #[tokio::test]
    async fn conditions_compare_test_membership_and_strings() {
        let inputs = json!({"count": 5, "name": "Marketing Department", "teams": ["a", "b"], "ratio": 0.5,
                            "people": [{"name": "ann"}, {"name": "bob"}]});
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
            ("inputs.people.exists(p, p.name == inputs.name)", false),
            ("size(inputs.teams) == 2", true),
        ] {
            assert_eq!(check(text, inputs.clone(), steps.clone()).await.unwrap(), expected, "{text}");
        }
    }

    #[tokio::test]
    async fn bad_conditions_are_refused_with_the_reason() {
        let inputs = json!({"n": 1, "l": [1, 2]});
        for (text, problem) in [
            ("inputs.n +", "does not parse"),
            ("inputs.n", "must be true or false, and is the number 1"),
            ("inputs.nope == 1", "could not be evaluated"),
            ("  ", "empty"),
            ("[1,2].all(x, [1,2].exists(y, x == y))", "inside another's body"),
            // Work once per item that is as large as the data.
            ("inputs.l.exists(x, x in inputs.l)", "`+` or `in` inside a list macro"),
            ("inputs.l.map(x, inputs.l + inputs.l).size() > 0", "`+` or `in`"),
        ] {
            let error = check(text, inputs.clone(), json!({})).await.unwrap_err();
            assert!(error.contains(problem), "{text}: {error}");
        }
        let long = "x".repeat(MAX_EXPRESSION_BYTES + 1);
        assert!(format!("{:#}", Condition::parse(&long).unwrap_err()).contains("over the limit of 2048"));
        // One after the other is linear, and fine; so is `in` on a literal.
        assert!(check("[1,2].map(x, x * 2).exists(y, y == 4)", json!({}), json!({})).await.unwrap());
        assert!(check("[1,2].exists(x, x in [2, 3])", json!({}), json!({})).await.unwrap());
        let big = json!({"blob": "x".repeat(MAX_DATA_BYTES)});
        assert!(check("true", big, json!({})).await.unwrap_err().contains("over the limit of 1048576"));
    }

    #[test]
    fn the_steps_a_condition_names_are_found() {
        let condition = Condition::parse(
            "steps.pool.status == 'failed' && has(steps['create-user'].output) || [1].exists(x, steps.b.n == x)",
        )
        .unwrap();
        assert_eq!(condition.named_steps(), ["b", "create-user", "pool"]);
    }

    #[test]
    fn deep_and_long_conditions_are_refused_before_they_parse() {
        let refused = |text: &str| format!("{:#}", Condition::parse(text).unwrap_err());
        let deep = format!("{}true{}", "(".repeat(1000), ")".repeat(1000));
        assert!(refused(&deep).contains("nests brackets 1000 deep"));
        assert!(refused(&"!".repeat(300)).contains("300 operators"));
        // Quotes hide nothing: not raw strings, not triple quotes.
        assert!(refused(&format!("size(r'\\')+{}1 == 0", "1+".repeat(200))).contains("operators"));
        assert!(refused(&format!("'''a''' + {}1 == 0", "1+".repeat(200))).contains("operators"));
        assert!(refused(&format!("'{}' == ''", "(".repeat(100))).contains("nests brackets"));
        assert!(refused(&format!("1 {} [1]", vec!["in"; 200].join(" 1 "))).contains("operators"));
    }

    #[tokio::test]
    async fn the_worst_each_bound_lets_through_runs_on_the_conditions_thread() {
        let data = json!({"a": {"a": {"a": 1}}});
        for text in [
            format!("{}true", "!".repeat(MAX_OPERATORS - 2)),
            format!("{} == 128", vec!["1"; MAX_OPERATORS - 2].join("+")),
            format!("inputs{} == 1", ".a".repeat(MAX_OPERATORS - 4)),
            format!("{}true{}", "(".repeat(MAX_NESTING as usize), ")".repeat(MAX_NESTING as usize)),
            format!("{}1{} == 1", "[".repeat(MAX_NESTING as usize), "]".repeat(MAX_NESTING as usize)),
            format!("{} || true", vec!["inputs.a.a.a == 1"; 30].join(" && ")),
        ] {
            if let Ok(condition) = Condition::parse(&text) {
                let _ = condition.evaluate(vec![("inputs", data.clone())]).await;
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
                let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
                let variables = vec![("inputs", inputs), ("n", json!(9_223_372_036_854_775_807i64))];
                let _ = runtime.block_on(condition.evaluate(variables));
            }
        }
    }
}
