//! Starts Azurite (npm `azurite`, the Azure Storage emulator) for a test: its blob service only,
//! one process per [`Azurite`] on a free 127.0.0.1 port with its data in a directory of its own,
//! killed on drop. `scripts/test` installs Azurite (pinned with its whole dependency tree by
//! `scripts/azurite.package-lock.json`) into `target/azurite` of the workspace, where plain
//! `cargo test` finds it afterwards; `RINGFORM_AZURITE` names another `azurite-blob`. A test
//! never skips for want of Azurite: [`Azurite::start_for_test`] fails it with the command that
//! installs it.
//!
//! Azurite serves the well-known account [`ACCOUNT`] with key [`ACCOUNT_KEY`] under path-style
//! URLs (`http://127.0.0.1:PORT/devstoreaccount1/CONTAINER/BLOB`), so a client reaches it as an
//! account with a custom endpoint, [`Azurite::blob_endpoint`], and Shared Key auth: the same
//! way it reaches real Azure, with no emulator mode.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::azure::{AzureAccessKey, AzureAuthorizer, AzureCredential, MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::client::{ClientOptions, HttpConnector, HttpRequestBody, ReqwestConnector};

/// The storage account every Azurite serves.
pub const ACCOUNT: &str = "devstoreaccount1";
/// Its key, published by Microsoft for Azurite and the storage emulator before it.
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A running Azurite blob service.
pub struct Azurite {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Azurite {
    /// Starts Azurite; the error says why it could not, and how to fix that.
    pub fn start() -> Result<Azurite, String> {
        let program = azurite_blob()?;
        let mut last_error = String::new();
        // A freed port can be taken again before Azurite binds it; a second port almost never is.
        for _ in 0..3 {
            match Azurite::spawn(&program) {
                Ok(azurite) => return Ok(azurite),
                Err(error) => last_error = error,
            }
        }
        Err(format!("Azurite did not start ({}): {last_error}", program.display()))
    }

    /// Starts Azurite, or fails the test with the reason and the fix.
    pub fn start_for_test() -> Azurite {
        Azurite::start().unwrap_or_else(|error| panic!("{error}"))
    }

    fn spawn(program: &Path) -> Result<Azurite, String> {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        // No --loose or --skipApiVersionCheck: object_store's x-ms-version (2023-11-03) is one
        // Azurite knows, and a header it does not support should fail a test, not be ignored.
        let child = Command::new(program)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(dir.path())
            .args(["--silent", "--disableTelemetry"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut azurite = Azurite { child, port, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = azurite.child.try_wait() {
                return Err(format!("azurite-blob exited with {status}"));
            }
            if azurite.answers() {
                return Ok(azurite);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("azurite-blob did not answer within 60 s".to_owned())
    }

    /// Whether an HTTP request gets an HTTP answer (403 here: it is not signed).
    fn answers(&self) -> bool {
        let exchange = || -> std::io::Result<Vec<u8>> {
            let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            stream.write_all(
                b"GET /devstoreaccount1?comp=list HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            )?;
            let mut response = Vec::new();
            stream.read_to_end(&mut response)?;
            Ok(response)
        };
        exchange().is_ok_and(|response| response.starts_with(b"HTTP/1.1 "))
    }

    /// The account's blob endpoint, `http://127.0.0.1:PORT/devstoreaccount1`.
    pub fn blob_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    /// An object_store client for `container`, built as for real Azure with a custom endpoint.
    pub fn store(&self, container: &str) -> MicrosoftAzure {
        MicrosoftAzureBuilder::new()
            .with_account(ACCOUNT)
            .with_access_key(ACCOUNT_KEY)
            .with_endpoint(self.blob_endpoint())
            .with_allow_http(true)
            .with_container_name(container)
            .build()
            .expect("an object_store client for Azurite")
    }

    /// Creates a container (object_store has no call for that): a Create Container request
    /// signed with object_store's Shared Key authorizer.
    pub fn create_container(&self, name: &str) {
        let url = format!("{}/{name}?restype=container", self.blob_endpoint());
        let mut request = hyper::Request::put(url).body(HttpRequestBody::empty()).expect("a request");
        let credential = AzureCredential::AccessKey(AzureAccessKey::try_new(ACCOUNT_KEY).expect("the key"));
        AzureAuthorizer::new(&credential, ACCOUNT).try_authorize(&mut request).expect("signed");
        let status = crate::stores::block_on(async move {
            let options = ClientOptions::new().with_allow_http(true);
            let client = ReqwestConnector::default().connect(&options).expect("an HTTP client");
            client.execute(request).await.map(|response| response.status().as_u16())
        });
        match status {
            Ok(201) => {}
            other => panic!("Azurite: create container {name}: {other:?}"),
        }
    }

    /// The name and full bytes of every blob in `container`, for tests that look for what must
    /// not be stored.
    pub fn every_blob(&self, container: &str) -> Vec<(String, Vec<u8>)> {
        crate::stores::every_object(&self.store(container))
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `RINGFORM_AZURITE`, else the azurite-blob `scripts/azurite` installs in the workspace's
/// `target/`. Never one found on the PATH: another release may emulate Azure differently.
fn azurite_blob() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("RINGFORM_AZURITE") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("RINGFORM_AZURITE={} is not a file: point it at an azurite-blob", path.display()))
        };
    }
    let installed =
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/azurite/node_modules/.bin/azurite-blob"));
    if installed.is_file() {
        Ok(installed.to_owned())
    } else {
        Err("Azurite not found: run scripts/azurite (scripts/test does), which installs it into target/azurite \
             (or set RINGFORM_AZURITE)"
            .to_owned())
    }
}
