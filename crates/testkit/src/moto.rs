//! Starts moto (PyPI `moto[server]`, the AWS emulator) for a test: one moto server process per
//! [`Moto`] on a free 127.0.0.1 port, killed on drop, with its request recorder writing to a
//! file of its own so tests can count the API calls ringform makes. The server is moto's own,
//! taught the EKS add-on API it lacks by `moto/moto_server.py` beside this crate. `scripts/test`
//! installs moto into `target/moto-venv` of the workspace, where plain `cargo test` finds it
//! afterwards; `RINGFORM_MOTO_PYTHON` points at another Python that has it. A test never skips
//! for want of moto: [`Moto::start_for_test`] fails it with the command that installs moto.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::aws::{AmazonS3, AmazonS3Builder};

/// A running moto server.
pub struct Moto {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

/// One request moto saw, as the recorder logged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedCall {
    /// The signing name: `ec2`, `eks`, `iam`, `sts`…
    pub service: String,
    pub region: String,
    /// The query-protocol `Action` (EC2, IAM), else `METHOD /path` (REST services like EKS).
    pub action: String,
}

impl Moto {
    /// Starts moto; the error says why it could not, and how to fix that.
    pub fn start() -> Result<Moto, String> {
        let program = moto_python()?;
        let mut last_error = String::new();
        // A freed port can be taken again before moto binds it; a second port almost never is.
        for _ in 0..3 {
            match Moto::spawn(&program) {
                Ok(moto) => return Ok(moto),
                Err(error) => last_error = error,
            }
        }
        Err(format!("moto did not start ({}): {last_error}", program.display()))
    }

    /// Starts moto, or fails the test with the reason and the fix.
    pub fn start_for_test() -> Moto {
        Moto::start().unwrap_or_else(|error| panic!("{error}"))
    }

    fn spawn(program: &Path) -> Result<Moto, String> {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let child = Command::new(program)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/moto/moto_server.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording"))
            // EKS roles attach AWS managed policies, which moto only knows when asked to load them.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut moto = Moto { child, port, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = moto.child.try_wait() {
                return Err(format!("moto's server exited with {status}"));
            }
            if moto.request("GET", "/moto-api/data.json").is_ok_and(|(status, _)| status == 200) {
                return Ok(moto);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("moto's server did not answer within 60 s".to_owned())
    }

    /// The URL to give the AWS SDK (`AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates an S3 bucket in `region`.
    pub fn create_bucket(&self, name: &str, region: &str) {
        // moto checks no signature; the credential scope routes the request to S3.
        let auth = format!(
            "Authorization: AWS4-HMAC-SHA256 Credential=testing/20261121/{region}/s3/aws4_request, \
             SignedHeaders=host, Signature=0\r\n"
        );
        // us-east-1 is the one region S3 takes no location constraint for.
        let body = if region == "us-east-1" {
            String::new()
        } else {
            format!(
                "<CreateBucketConfiguration><LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
            )
        };
        match self.send("PUT", &format!("/{name}"), &auth, &body) {
            Ok((200, _)) => {}
            other => panic!("moto: create bucket {name}: {other:?}"),
        }
    }

    /// An object_store client for `bucket`, built as for S3 with a custom endpoint. moto serves
    /// the buckets of every region at this one endpoint, so any region's client reaches them.
    pub fn s3_store(&self, bucket: &str) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .with_region("us-east-1")
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .with_bucket_name(bucket)
            .build()
            .expect("an object_store client for moto")
    }

    /// The key and full bytes of every object in `bucket`, for tests that look for what must
    /// not be stored.
    pub fn every_object(&self, bucket: &str) -> Vec<(String, Vec<u8>)> {
        crate::stores::every_object(&self.s3_store(bucket))
    }

    /// Forgets every object, in every region and service.
    pub fn reset(&self) {
        self.post("/moto-api/reset");
    }

    /// Clears the recording and records every request from now on.
    pub fn start_recording(&self) {
        self.post("/moto-api/recorder/reset-recording");
        self.post("/moto-api/recorder/start-recording");
    }

    pub fn stop_recording(&self) {
        self.post("/moto-api/recorder/stop-recording");
    }

    /// The requests recorded since [`Moto::start_recording`].
    pub fn recorded_calls(&self) -> Vec<RecordedCall> {
        let (_, body) = self.request("GET", "/moto-api/recorder/download-recording").expect("moto is running");
        body.lines().filter_map(|line| serde_json::from_str(line).ok()).map(|entry| recorded_call(&entry)).collect()
    }

    fn post(&self, path: &str) {
        match self.request("POST", path) {
            Ok((200, _)) => {}
            other => panic!("moto {path}: {other:?}"),
        }
    }

    fn request(&self, method: &str, path: &str) -> Result<(u16, String), String> {
        self.send(method, path, "", "")
    }

    /// One HTTP/1.1 exchange; `headers` are extra `Name: value\r\n` lines.
    fn send(&self, method: &str, path: &str, headers: &str, body: &str) -> Result<(u16, String), String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
        let length = body.len();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: {length}\r\nConnection: close\r\n\r\n{body}"
        );
        stream.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).map_err(|e| e.to_string())?;
        let response = String::from_utf8_lossy(&response);
        let (head, body) = response.split_once("\r\n\r\n").ok_or("malformed response")?;
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or("malformed status line")?;
        let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
        Ok((status, if chunked { dechunk(body) } else { body.to_owned() }))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `RINGFORM_MOTO_PYTHON`, else the Python of the venv `scripts/test` makes in the workspace's
/// `target/`. Never a moto found on the PATH: that may be another moto release than the one
/// scripts/test pins, and what moto emulates (and the add-on extension relies on) changes
/// between releases.
fn moto_python() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("RINGFORM_MOTO_PYTHON") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "RINGFORM_MOTO_PYTHON={} is not a file: point it at a Python with moto[server] installed",
                path.display()
            ))
        };
    }
    let venv = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/moto-venv/bin"));
    if venv.join("moto_server").is_file() {
        Ok(venv.join("python"))
    } else {
        Err("moto not found: run scripts/test, which installs moto into target/moto-venv \
             (or set RINGFORM_MOTO_PYTHON)"
            .to_owned())
    }
}

/// Service and region come from the SigV4 credential scope (`…/<date>/<region>/<service>/aws4_request`),
/// the action from the form body or the REST method and path.
fn recorded_call(entry: &serde_json::Value) -> RecordedCall {
    let header = |name: &str| {
        let headers = entry["headers"].as_object();
        headers.and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))).and_then(|(_, v)| v.as_str())
    };
    let scope: Vec<&str> = header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .map(|c| c.split(',').next().unwrap_or_default().split('/').collect())
        .unwrap_or_default();
    let part = |i: usize| scope.get(i).copied().unwrap_or_default().to_owned();
    let body = entry["body"].as_str().unwrap_or_default();
    let body = if entry["body_encoded"].as_bool() == Some(true) {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD.decode(body).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        body.to_owned()
    };
    let action = body.split('&').find_map(|pair| pair.strip_prefix("Action=")).map(str::to_owned);
    let action = action.or_else(|| header("x-amz-target").map(str::to_owned)).unwrap_or_else(|| {
        let url = entry["url"].as_str().unwrap_or_default();
        let path = url.split("://").nth(1).and_then(|rest| rest.find('/').map(|i| &rest[i..])).unwrap_or(url);
        format!("{} {}", entry["method"].as_str().unwrap_or_default(), path.split('?').next().unwrap_or_default())
    });
    RecordedCall { service: part(3), region: part(2), action }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || tail.len() < size {
            break;
        }
        out.push_str(&tail[..size]);
        rest = tail[size..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_calls_name_service_region_and_action() {
        let entry = serde_json::json!({
            "headers": {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261121/eu-west-1/ec2/aws4_request, SignedHeaders=host"},
            "method": "POST", "url": "http://127.0.0.1:5000/", "body": "QWN0aW9uPURlc2NyaWJlVnBjcw==", "body_encoded": true,
        });
        let call = recorded_call(&entry);
        assert_eq!(
            (call.service.as_str(), call.region.as_str(), call.action.as_str()),
            ("ec2", "eu-west-1", "DescribeVpcs")
        );
        let rest = serde_json::json!({
            "headers": {"authorization": "AWS4-HMAC-SHA256 Credential=t/20261121/eu-central-1/eks/aws4_request"},
            "method": "GET", "url": "http://127.0.0.1:5000/clusters/a?x=1", "body": "", "body_encoded": false,
        });
        assert_eq!(recorded_call(&rest).action, "GET /clusters/a");
    }

    #[test]
    fn moto_starts_resets_and_records() {
        let moto = Moto::start_for_test();
        moto.start_recording();
        let signed = "Authorization: AWS4-HMAC-SHA256 Credential=testing/20261121/eu-west-1/ec2/aws4_request, \
                      SignedHeaders=host, Signature=0\r\nContent-Type: application/x-www-form-urlencoded\r\n";
        let (status, _) = moto.send("POST", "/", signed, "Action=DescribeVpcs&Version=2016-11-15").unwrap();
        assert_eq!(status, 200);
        moto.stop_recording();
        let calls = moto.recorded_calls();
        let call = RecordedCall { service: "ec2".into(), region: "eu-west-1".into(), action: "DescribeVpcs".into() };
        assert_eq!(calls, vec![call]);
        moto.reset();
    }
}
