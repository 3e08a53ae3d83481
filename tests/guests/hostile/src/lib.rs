//! A hostile connector: each operation misbehaves in one way, so the tests
//! can check that the host stops or refuses it with the right error while
//! other invocations go on.

use std::hint::black_box;

use connector::api::signed_http::{self, Request};
use connector::api::types::{Error, Manifest, Operation, ServiceError};
use exports::connector::api::connector::Guest;
use exports::connector::api::details::{self, Api, CredentialKind, Effect, OperationDetails};

wit_bindgen::generate!({
    path: "../../../wit",
    world: "described-plugin",
});

/// Every operation, with what it does.
const OPERATIONS: &[(&str, &str)] = &[
    ("loop_forever", "Spins without end."),
    ("allocate_forever", "Allocates memory without end."),
    ("recurse_forever", "Recurses until the stack overflows."),
    ("panic", "Panics with a message."),
    ("huge_output", "Returns an output of `bytes` bytes."),
    ("invalid_json", "Returns output that is not JSON."),
    ("call_service", "Sends a request for `service` and reports what came back."),
    ("set_header", "Sends a request setting header `name`."),
    ("use_path", "Sends a request with `path`."),
    ("call_many", "Calls the capability `times` times."),
    ("read_environment", "Reports the environment, arguments and files it can see."),
    ("open_socket", "Tries to open a TCP connection."),
    ("echo", "Returns its input."),
    ("many_headers", "Sends one request with `count` headers, signed unless `unsigned` is 1."),
    ("aliased_headers", "Sends `count` headers that all point at one string of `bytes` bytes."),
    ("print_escapes", "Writes terminal escape sequences and a forged log line to stdout and stderr."),
    ("forge_host_error", "Claims the host failed a request it never sent."),
    ("escape_error", "Fails with an internal error holding terminal escape sequences."),
    ("invocation", "Reports the run id, step id and attempt the host gives this invocation; fails retryably while the attempt is below `fail_until`."),
    ("leave_traces", "Grows its memory, counts a marker across all of it, then paints it over its stack, the grown pages and its data, and counts again."),
    ("scan_after_api", "Sends `GET path` to API `echo`, then reads all of its memory for `prefix` followed by 32 hexadecimal digits, and reports what it found."),
];

/// Selects what `describe` returns. Tests copy the component and overwrite
/// the mode in its bytes (same length), so each variant is the same code in
/// different bytes: `normal`, `long-name`, `escape-title`, `script-title`
/// (markup in titles, descriptions and the schema), `many-ops`,
/// `schema-to-root` (members that refer back to the root), `schema-bomb`
/// (references that double at every level: `doubling_defs`), `details-unknown` and
/// `output-bomb` (see `details`),
/// `as-cognito` (names itself `aws-cognito`), `bad-name`, or `v<N>`
/// (normal, versioned N).
#[used]
#[unsafe(no_mangle)]
static MANIFEST_MODE: [u8; 40] = *b"HOSTILE_MANIFEST_MODE=normal____________";

fn manifest_mode() -> String {
    // SAFETY: reading an initialized static; volatile so that the compiler
    // cannot fold the bytes the tests patch.
    let bytes = unsafe { std::ptr::read_volatile(&raw const MANIFEST_MODE) };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    text.split_once('=').map(|(_, mode)| mode.trim_end_matches('_').to_owned()).unwrap_or_default()
}

struct Hostile;

impl Guest for Hostile {
    fn describe() -> Manifest {
        let mode = manifest_mode();
        let mut manifest = Manifest {
            name: "hostile".into(),
            title: "Hostile test connector".into(),
            version: "0.1.0".into(),
            services: vec!["cognito-idp".into()],
            operations: OPERATIONS
                .iter()
                .map(|(name, description)| Operation {
                    name: (*name).into(),
                    title: (*name).into(),
                    description: (*description).into(),
                    input_schema: r#"{"type":"object"}"#.into(),
                })
                .collect(),
        };
        match mode.as_str() {
            "long-name" => manifest.operations[0].name = "x".repeat(100_000),
            "escape-title" => {
                manifest.title = "\x1b[2J\x1b]0;pwned\x07Cleared\rforged".into();
                manifest.operations[0].title = "\x1b[31mred\x1b[0m\nWARN forged line".into();
            }
            "many-ops" => {
                // 20,000 operations whose names all alias one 65,000-byte
                // string: 1.3 GB once copied out of the guest.
                let shared = std::mem::ManuallyDrop::new("y".repeat(65_000));
                manifest.operations = (0..20_000)
                    .map(|_| Operation {
                        // SAFETY: only read; this manifest is never dropped
                        // by the guest (the host refuses to copy it out).
                        name: unsafe {
                            String::from_raw_parts(shared.as_ptr() as *mut u8, shared.len(), shared.capacity())
                        },
                        title: String::new(),
                        description: String::new(),
                        input_schema: "{}".into(),
                    })
                    .collect();
            }
            "script-title" => {
                // Markup where a web page shows text: titles, descriptions,
                // schema member names, descriptions and enum values.
                manifest.title = "<script>alert('title')</script>".into();
                let first = &mut manifest.operations[0];
                first.title = "<img src=x onerror=alert('op')>".into();
                first.description = "</td><script>alert('description')</script>".into();
                first.input_schema = r#"{"type":"object","properties":{"\"><script>alert('member')</script>":{"type":"string","description":"\"><script>alert('hint')</script>","enum":["</option><script>alert('enum')</script>"]}}}"#.into();
            }
            "schema-to-root" => {
                // Twenty members that each are the whole schema again: a
                // form that follows them opens 20^depth fields.
                let members: Vec<String> = (0..20).map(|i| format!(r##""m{i}":{{"$ref":"#"}}"##)).collect();
                manifest.operations[0].input_schema =
                    format!(r#"{{"type":"object","properties":{{{}}}}}"#, members.join(","));
            }
            "schema-bomb" => {
                manifest.operations[1].input_schema =
                    format!(r##"{{"type":"object","properties":{{"root":{{"$ref":"#/$defs/d0"}}}},{}}}"##, doubling_defs());
            }
            "as-cognito" => manifest.name = "aws-cognito".into(),
            "bad-name" => manifest.name = "evil\nWARN forged".into(),
            version if version.starts_with('v') => manifest.version = format!("{}.0.0", &version[1..]),
            _ => {}
        }
        manifest
    }

    fn invoke(operation: String, input: String) -> Result<String, Error> {
        let arg = |key: &str| field(&input, key);
        match operation.as_str() {
            "loop_forever" => {
                let mut n: u64 = 0;
                loop {
                    n = black_box(n.wrapping_add(1));
                }
            }
            "allocate_forever" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![1u8; 1 << 20]));
                }
            }
            "recurse_forever" => Ok(recurse(black_box(1)).to_string()),
            "panic" => panic!("the hostile connector panics on purpose"),
            "huge_output" => {
                let bytes: usize = arg("bytes").parse().unwrap_or(1 << 20);
                Ok(format!("\"{}\"", "x".repeat(bytes)))
            }
            "invalid_json" => Ok("this is not JSON {".into()),
            "call_service" => Ok(report(send(&arg("service"), "/", vec![]))),
            "set_header" => Ok(report(send("cognito-idp", "/", vec![(arg("name"), "attacker-value".into())]))),
            "use_path" => Ok(report(send("cognito-idp", &arg("path"), vec![]))),
            "call_many" => {
                let times: u32 = arg("times").parse().unwrap_or(10_000);
                for i in 0..times {
                    if let Err(e) = signed_http::send(&request("cognito-idp", "/", vec![])) {
                        return Err(Error::Host(format!("call {}: {e:?}", i + 1)));
                    }
                }
                Ok(format!("{times}"))
            }
            "read_environment" => {
                let env: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
                let args: Vec<String> = std::env::args().collect();
                let files: Vec<String> = ["/", ".", "/etc/passwd", "/proc/self/environ"]
                    .iter()
                    .map(|p| match std::fs::read(p) {
                        Ok(bytes) => format!("{p}: read {} bytes", bytes.len()),
                        Err(e) => format!("{p}: {e}"),
                    })
                    .collect();
                let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
                Ok(format!(
                    "{{\"env\": {}, \"args\": {}, \"files\": {}, \"cwd\": {}}}",
                    json_list(&env),
                    json_list(&args),
                    json_list(&files),
                    json_string(&cwd)
                ))
            }
            "open_socket" => Ok(match std::net::TcpStream::connect("127.0.0.1:22") {
                Ok(_) => "\"connected\"".into(),
                Err(e) => json_string(&format!("refused: {e}")),
            }),
            "echo" => Ok(input),
            "many_headers" => {
                let count: usize = arg("count").parse().unwrap_or(30_000);
                let headers = (0..count).map(|i| (format!("x-h-{i}"), "v".to_owned())).collect();
                let mut request = request("cognito-idp", "/", headers);
                request.sign = arg("unsigned") != "1";
                Ok(report(signed_http::send(&request).map_err(|e| format!("{e:?}"))))
            }
            "aliased_headers" => {
                let count: usize = arg("count").parse().unwrap_or(1000);
                let bytes: usize = arg("bytes").parse().unwrap_or(1 << 20);
                let shared = std::mem::ManuallyDrop::new("h".repeat(bytes));
                // Every header names the same bytes: a list that is small in
                // the guest's memory and huge once copied out of it.
                // SAFETY: the aliases are only read, and the request holding
                // them is forgotten, never dropped, so nothing is freed twice.
                let alias = || unsafe { String::from_raw_parts(shared.as_ptr() as *mut u8, shared.len(), shared.capacity()) };
                let headers = (0..count).map(|_| (alias(), alias())).collect();
                let request = request("cognito-idp", "/", headers);
                let result = signed_http::send(&request);
                std::mem::forget(request);
                Ok(report(result.map_err(|e| format!("{e:?}"))))
            }
            "print_escapes" => {
                let hostile = "\r\x1b[2J\x1b]0;pwned\x07forged\nWARN forged line\n";
                print!("{hostile}");
                eprint!("{hostile}");
                Ok("null".into())
            }
            "invocation" => {
                let context = connector::api::invocation::current();
                if context.attempt < arg("fail_until").parse().unwrap_or(0) {
                    return Err(Error::Service(ServiceError {
                        code: "ThrottlingException".into(),
                        message: format!("attempt {} fails on purpose", context.attempt),
                        status: 400,
                        retryable: true,
                    }));
                }
                let text = |value: Option<String>| value.map_or_else(|| "null".to_owned(), |v| json_string(&v));
                Ok(format!(
                    "{{\"run_id\": {}, \"step_id\": {}, \"attempt\": {}}}",
                    text(context.run_id),
                    text(context.step_id),
                    context.attempt
                ))
            }
            "leave_traces" => {
                // Grown first, as an attacker would, so that the count also
                // reads the pages an earlier call grew and painted.
                let grown = core::arch::wasm32::memory_grow(0, GROWN_PAGES);
                if grown == usize::MAX {
                    return Err(Error::Internal("could not grow memory".into()));
                }
                let before = count_traces();
                let painted = paint_traces(grown * WASM_PAGE);
                let after = count_traces();
                Ok(format!("{{\"before\": {before}, \"painted\": {painted}, \"after\": {after}}}"))
            }
            "scan_after_api" => {
                let request = connector::api::http_api::Request {
                    api: "echo".into(),
                    method: "GET".into(),
                    path: arg("path"),
                    headers: Vec::new(),
                    body: Vec::new(),
                };
                let status = match connector::api::http_api::send(&request) {
                    Ok(response) => response.status.to_string(),
                    Err(error) => json_string(&format!("{error:?}")),
                };
                let found = scan_memory(arg("prefix").as_bytes());
                Ok(format!("{{\"status\": {status}, \"found\": {}}}", json_list(&found)))
            }
            "forge_host_error" => Err(Error::Host("denied: the host says so (forged)".into())),
            "escape_error" => Err(Error::Internal("\x1b[2J\x1b]0;pwned\x07boom".into())),
            other => Err(Error::UnknownOperation(other.into())),
        }
    }
}

/// What `leave_traces` paints. It is only ever an immediate in code, so it
/// is in linear memory only where a call wrote it.
const TRACE: u64 = 0x7ace_0f_ca11_5eed;
/// Stack frames `leave_traces` paints, 32 KiB each: the shadow stack below
/// its top (1 MiB, at the bottom of memory) down to about 384 KiB, across
/// the host's resident reset window (the first 640 KiB) and past it.
const PAINTED_FRAMES: u32 = 20;
/// Pages `leave_traces` grows its memory by and paints (1 MiB, past the
/// memory an instance starts with). A fresh instance grows to the same
/// address every time.
const GROWN_PAGES: usize = 16;
const WASM_PAGE: usize = 65536;

/// A word of the data segment, initialised to something other than the
/// trace.
#[unsafe(no_mangle)]
static mut PAINTED_DATA: u64 = 1;

/// Counts the trace in every aligned word of linear memory, as an attacker
/// reading for what an earlier call left would.
fn count_traces() -> u64 {
    let end = core::arch::wasm32::memory_size(0) * 65536;
    // Address 0 is never painted (it is the null pointer to Rust).
    (8..end)
        .step_by(8)
        // SAFETY: every address below the memory's size can be read in
        // WebAssembly; volatile, because to Rust most of it belongs to
        // nothing.
        .filter(|&address| unsafe { std::ptr::read_volatile(address as *const u64) } == TRACE)
        .count() as u64
}

/// Every `prefix` followed by 32 lower-case hexadecimal digits anywhere in
/// linear memory, as an attacker looking for a secret of a known shape
/// would read it.
fn scan_memory(prefix: &[u8]) -> Vec<String> {
    let end = core::arch::wasm32::memory_size(0) * 65536;
    let mut found = Vec::new();
    if prefix.is_empty() {
        return found;
    }
    let mut address = 8;
    while address + prefix.len() + 32 <= end {
        // SAFETY: every address below the memory's size can be read in
        // WebAssembly; volatile, because to Rust most of it belongs to
        // nothing.
        let byte = |at: usize| unsafe { std::ptr::read_volatile(at as *const u8) };
        if (0..prefix.len()).all(|i| byte(address + i) == prefix[i]) {
            let tail: Vec<u8> = (0..32).map(|i| byte(address + prefix.len() + i)).collect();
            if tail.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)) {
                found.push(format!("{}{}", String::from_utf8_lossy(prefix), String::from_utf8_lossy(&tail)));
            }
        }
        address += 1;
    }
    found
}

/// Paints the trace over stack frames, the pages grown at `grown` and a
/// static; returns the words painted.
fn paint_traces(grown: usize) -> u64 {
    let stack = paint_stack(PAINTED_FRAMES);
    let words = GROWN_PAGES * WASM_PAGE / 8;
    for word in 0..words {
        // SAFETY: these pages were just grown by this call and nothing
        // else (the allocator included) uses them.
        unsafe { std::ptr::write_volatile((grown + word * 8) as *mut u64, TRACE) };
    }
    // SAFETY: the guest is single-threaded and nothing else uses the static.
    unsafe { std::ptr::write_volatile(&raw mut PAINTED_DATA, TRACE) };
    stack + words as u64 + 1
}

#[inline(never)]
fn paint_stack(frames: u32) -> u64 {
    let mut frame = [0u64; 4096];
    frame.fill(TRACE);
    black_box(&mut frame);
    let below = if frames > 1 { paint_stack(frames - 1) } else { 0 };
    black_box(&frame);
    below + frame.len() as u64
}

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 4]);
    recurse(black_box(frame[0] + 1)) + frame[3]
}

fn request(service: &str, path: &str, headers: Vec<(String, String)>) -> Request {
    Request {
        service: service.into(),
        method: "POST".into(),
        path: path.into(),
        headers,
        body: b"{}".to_vec(),
        sign: true,
    }
}

fn send(service: &str, path: &str, headers: Vec<(String, String)>) -> Result<signed_http::Response, String> {
    signed_http::send(&request(service, path, headers)).map_err(|e| format!("{e:?}"))
}

/// What the capability answered, as JSON the host passes back.
fn report(result: Result<signed_http::Response, String>) -> String {
    match result {
        Ok(response) => format!(
            "{{\"status\": {}, \"headers\": {}, \"body\": {}}}",
            response.status,
            json_list(&response.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>()),
            json_string(&String::from_utf8_lossy(&response.body))
        ),
        Err(error) => format!("{{\"error\": {}}}", json_string(&error)),
    }
}

/// A top-level string or number field of a flat JSON object, crudely: the
/// guest stays free of dependencies besides wit-bindgen.
fn field(input: &str, key: &str) -> String {
    let needle = format!("\"{key}\"");
    let Some(start) = input.find(&needle) else { return String::new() };
    let rest = input[start + needle.len()..].trim_start().trim_start_matches(':').trim_start();
    if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find('"').unwrap_or(quoted.len());
        quoted[..end].replace("\\r", "\r").replace("\\n", "\n")
    } else {
        rest.chars().take_while(|c| c.is_ascii_digit()).collect()
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out + "\""
}

fn json_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| json_string(s)).collect::<Vec<_>>().join(", "))
}

/// `"$defs": {...}` where each definition holds the next one twice:
/// 2^15 schemas once the references are followed, in 1 KB of text, and
/// shallow enough that the count, not the depth, is what runs out.
fn doubling_defs() -> String {
    let defs: Vec<String> = (0..15)
        .map(|i| {
            let next = format!(r##"{{"$ref":"#/$defs/d{}"}}"##, i + 1);
            format!(r#""d{i}":{{"type":"object","properties":{{"a":{next},"b":{next}}}}}"#)
        })
        .collect();
    format!(r#""$defs":{{{},"d15":{{"type":"string"}}}}"#, defs.join(","))
}

/// Details: `echo`'s output marks `token` a secret (and it is idempotent),
/// and `forge_host_error` declares itself destructive. Modes `details-unknown`
/// (details for an operation not in the manifest) and `output-bomb` (an
/// output schema whose references double at every level) break the rules.
impl details::Guest for Hostile {
    fn operations() -> Vec<OperationDetails> {
        let echo = OperationDetails {
            name: "echo".into(),
            output_schema: Some(
                r#"{"type":"object","properties":{"token":{"type":"string","writeOnly":true},"note":{"type":"string"}}}"#
                    .into(),
            ),
            effect: None,
            idempotent: true,
        };
        let destructive =
            OperationDetails { name: "forge_host_error".into(), output_schema: None, effect: Some(Effect::Destructive), idempotent: false };
        let mut details = vec![echo, destructive];
        match manifest_mode().as_str() {
            "details-unknown" => {
                details.push(OperationDetails { name: "nope".into(), output_schema: None, effect: None, idempotent: false })
            }
            "output-bomb" => details[0].output_schema = Some(format!(r##"{{"$ref":"#/$defs/d0",{}}}"##, doubling_defs())),
            _ => {}
        }
        details
    }

    /// One API, `echo`; modes `api-bad-name` (a name that is a URL),
    /// `api-twice` and `many-apis` (100) break the rules.
    fn apis() -> Vec<Api> {
        let api = |name: &str| Api {
            name: name.into(),
            title: "Echo".into(),
            default_base_url: "https://echo.example.com".into(),
            credentials: vec![CredentialKind::Bearer],
        };
        match manifest_mode().as_str() {
            "api-bad-name" => vec![api("evil.com/x")],
            "api-twice" => vec![api("echo"), api("echo")],
            "many-apis" => (0..100).map(|i| api(&format!("api{i}"))).collect(),
            _ => vec![api("echo")],
        }
    }
}

export!(Hostile);
