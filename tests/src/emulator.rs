//! Third-party Cognito emulators (moto, ministack), pinned in
//! `tests/emulators/requirements.lock`, run on a free loopback port for one
//! test and stopped when dropped.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use connector_host::Credentials;

/// Which emulator to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// moto's server; does not check signatures.
    Moto,
    /// ministack with Cognito only; `auth` makes it check SigV4 against IAM
    /// keys created in it.
    Ministack { auth: bool },
}

/// Root credentials ministack accepts with `auth`, for creating IAM users.
pub const MINISTACK_ROOT: (&str, &str) = ("test", "test");

/// Identities made by [`Emulator::create_tenant_identities`]: access key
/// ids and secrets of users `a` and `b`, and the role's ARN.
pub struct TenantIdentities {
    pub a: (String, String),
    pub b: (String, String),
    pub role_arn: String,
}

/// A running emulator. Dropping it stops the process.
pub struct Emulator {
    child: Child,
    addr: SocketAddr,
    pub kind: Kind,
    /// The emulator's output; removed when it stops, kept if a test failed.
    log: PathBuf,
}

impl Emulator {
    /// Starts `kind` on a free loopback port and waits until it answers.
    pub fn start(kind: Kind) -> Emulator {
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            match Self::try_start(kind, port) {
                Ok(emulator) => return emulator,
                Err(e) => last_error = e,
            }
        }
        panic!("could not start {kind:?}: {last_error}");
    }

    fn try_start(kind: Kind, port: u16) -> Result<Emulator, String> {
        let venv = venv();
        let mut command = match kind {
            Kind::Moto => {
                let mut c = Command::new(venv.join("bin/moto_server"));
                c.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                c
            }
            Kind::Ministack { auth } => {
                let mut c = Command::new(venv.join("bin/ministack"));
                c.env("GATEWAY_PORT", port.to_string())
                    .env("BIND_HOST", "127.0.0.1")
                    .env("SERVICES", if auth { "cognito-idp,iam,sts" } else { "cognito-idp" })
                    .env("AUTH", if auth { "true" } else { "false" })
                    .env("AWS_ACCESS_KEY_ID", MINISTACK_ROOT.0)
                    .env("AWS_SECRET_ACCESS_KEY", MINISTACK_ROOT.1);
                c
            }
        };
        let log =
            std::env::temp_dir().join(format!("connector-tests-{kind:?}-{port}.log").replace([' ', '{', '}', ':'], ""));
        let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        command.stdin(Stdio::null()).stdout(log_file.try_clone().map_err(|e| e.to_string())?).stderr(log_file);
        let child = command.spawn().map_err(|e| format!("could not run {command:?}: {e}"))?;
        let mut emulator = Emulator { child, addr: SocketAddr::from(([127, 0, 0, 1], port)), kind, log: log.clone() };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = emulator.child.try_wait() {
                return Err(format!("it exited with {status}:\n{}", std::fs::read_to_string(&log).unwrap_or_default()));
            }
            if emulator.ready() {
                return Ok(emulator);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("it did not answer within 30 s:\n{}", std::fs::read_to_string(&log).unwrap_or_default()))
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs the Python `script` with boto3 against the emulator, `args` as
    /// `sys.argv[1:]`, and returns the JSON it prints. The script has
    /// `client(name)`, a boto3 client of the emulator.
    pub fn boto3(&self, script: &str, args: &[&str]) -> serde_json::Value {
        let prelude = "import base64, io, json, sys, zipfile\nimport boto3\n\
            ENDPOINT = sys.argv.pop(1)\n\
            def client(name):\n    return boto3.client(name, endpoint_url=ENDPOINT, region_name='us-east-1', \
            aws_access_key_id='a', aws_secret_access_key='b')\n";
        let output = Command::new(venv().join("bin/python"))
            .args(["-c", &format!("{prelude}{script}"), &self.endpoint()])
            .args(args)
            .output()
            .expect("the venv's python runs");
        assert!(output.status.success(), "boto3: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).expect("the script prints JSON")
    }

    /// How many user pools whose names start with `prefix` the emulator
    /// holds, and how many users they hold in all, as boto3 reads them.
    pub fn census(&self, prefix: &str) -> (usize, usize) {
        let script = r#"
import boto3, json, sys
client = boto3.client("cognito-idp", endpoint_url=sys.argv[1], region_name="us-east-1",
                      aws_access_key_id="census", aws_secret_access_key="census")
pools, users, token = 0, 0, None
while True:
    page = client.list_user_pools(MaxResults=60, **({"NextToken": token} if token else {}))
    for pool in page["UserPools"]:
        if pool["Name"].startswith(sys.argv[2]):
            pools += 1
            for listed in client.get_paginator("list_users").paginate(UserPoolId=pool["Id"]):
                users += len(listed["Users"])
    token = page.get("NextToken")
    if not token:
        break
print(json.dumps([pools, users]))
"#;
        let output = Command::new(venv().join("bin/python"))
            .args(["-c", script, &self.endpoint(), prefix])
            .output()
            .expect("the venv's python runs");
        assert!(output.status.success(), "the census failed: {}", String::from_utf8_lossy(&output.stderr));
        let counts: (usize, usize) = serde_json::from_slice(&output.stdout).expect("the script prints JSON");
        counts
    }

    /// Creates an IAM user allowed `cognito-idp:*` in a ministack started
    /// with `auth`, and returns its access key, and temporary credentials
    /// for it from STS (with a session token).
    pub fn create_cognito_identity(&self) -> (Credentials, Credentials) {
        assert_eq!(self.kind, Kind::Ministack { auth: true }, "IAM identities need ministack with auth");
        let script = r#"
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1")
iam = boto3.client("iam", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], **kw)
iam.create_user(UserName="connector")
iam.put_user_policy(UserName="connector", PolicyName="cognito", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cognito-idp:*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="connector")["AccessKey"]
sts = boto3.client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], **kw)
session = sts.get_session_token()["Credentials"]
print(json.dumps([key["AccessKeyId"], key["SecretAccessKey"],
                  session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"]]))
"#;
        let output = Command::new(venv().join("bin/python"))
            .args(["-c", script, &self.endpoint(), MINISTACK_ROOT.0, MINISTACK_ROOT.1])
            .output()
            .expect("the venv's python runs");
        assert!(
            output.status.success(),
            "creating the IAM identity failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let v: Vec<String> = serde_json::from_slice(&output.stdout).expect("the script prints JSON");
        (
            Credentials::new(&v[0], &v[1], None, None, "ministack-iam"),
            Credentials::new(&v[2], &v[3], Some(v[4].clone()), None, "ministack-sts"),
        )
    }

    /// Creates, in a ministack started with `auth`: user `a` allowed
    /// `cognito-idp:*`, user `b` allowed only `sts:AssumeRole`, and role
    /// `r` allowed `cognito-idp:*`, which `b` may assume.
    pub fn create_tenant_identities(&self) -> TenantIdentities {
        assert_eq!(self.kind, Kind::Ministack { auth: true }, "IAM identities need ministack with auth");
        let script = r#"
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1")
iam = boto3.client("iam", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], **kw)
def allow(action):
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})
keys = {}
for name, action in [("tenant-a", "cognito-idp:*"), ("tenant-b", "sts:AssumeRole")]:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=allow(action))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    keys[name] = [key["AccessKeyId"], key["SecretAccessKey"]]
b_arn = iam.get_user(UserName="tenant-b")["User"]["Arn"]
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": b_arn}, "Action": "sts:AssumeRole"}]}
role = iam.create_role(RoleName="tenant-r", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
iam.put_role_policy(RoleName="tenant-r", PolicyName="cognito", PolicyDocument=allow("cognito-idp:*"))
print(json.dumps({"a": keys["tenant-a"], "b": keys["tenant-b"], "role": role["Arn"]}))
"#;
        let output = Command::new(venv().join("bin/python"))
            .args(["-c", script, &self.endpoint(), MINISTACK_ROOT.0, MINISTACK_ROOT.1])
            .output()
            .expect("the venv's python runs");
        assert!(output.status.success(), "creating IAM identities failed: {}", String::from_utf8_lossy(&output.stderr));
        let v: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");
        let key = |k: &str, i: usize| v[k][i].as_str().unwrap().to_owned();
        TenantIdentities {
            a: (key("a", 0), key("a", 1)),
            b: (key("b", 0), key("b", 1)),
            role_arn: v["role"].as_str().unwrap().to_owned(),
        }
    }

    /// What the emulator has written to its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the emulator's log says `text` within `timeout`: it writes
    /// what it logs of a request shortly after answering it.
    pub fn logs_within(&self, text: &str, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.log().contains(text) {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    fn ready(&self) -> bool {
        let path = match self.kind {
            Kind::Moto => "/moto-api/data.json",
            Kind::Ministack { .. } => "/_ministack/health",
        };
        http_get(self.addr, path).is_some_and(|status| status == 200)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("{:?} log kept at {}", self.kind, self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// The venv with the pinned emulators, made once per test process.
pub fn venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| ensure_venv("emulators/requirements.lock")).clone()
}

/// The venv with the pinned third-party clients (the MCP SDK, an OpenAPI
/// validator), made once per test process.
pub fn clients_venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| ensure_venv("clients/requirements.lock")).clone()
}

/// The venv with the pinned botocore models and boto3 of the same version
/// (the generator's), made once per test process.
pub fn models_venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| ensure_venv("../connector-sdk/codegen/requirements.lock")).clone()
}

/// Runs `emulators/ensure-venv` for `lock` (relative to the tests crate).
pub(crate) fn ensure_venv(lock: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("emulators/ensure-venv");
    let output = Command::new(&script)
        .arg(root.join(lock))
        .stderr(Stdio::inherit())
        .output()
        .expect("could not run ensure-venv");
    assert!(output.status.success(), "{} {lock} failed", script.display());
    PathBuf::from(String::from_utf8(output.stdout).expect("utf-8 path").trim())
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port()
}

/// Status of a plain HTTP GET, or None when nothing answers.
pub(crate) fn http_get(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
