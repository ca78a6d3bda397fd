//! `fake-kube --port 0 [--token T] [--time-scale F]`: serves the fake Kubernetes API server
//! ([`ringform_testkit::kube`]) on 127.0.0.1, prints its base URL as the first line of stdout,
//! then serves until killed. Clusters are paths under it: `<base>/<cluster>`.

use std::io::Write;
use std::process::ExitCode;

use ringform_testkit::kube::{FakeKube, FakeKubeOptions};

const USAGE: &str = "usage: fake-kube [--port PORT] [--token TOKEN] [--time-scale FACTOR]";

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("fake-kube: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let kube = match FakeKube::start(options) {
        Ok(kube) => kube,
        Err(error) => {
            eprintln!("fake-kube: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "{}", kube.endpoint()).and_then(|()| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    loop {
        std::thread::park();
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<FakeKubeOptions, String> {
    let mut options = FakeKubeOptions::default();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => options.port = value()?.parse().map_err(|_| "--port takes a number".to_string())?,
            "--token" => options.token = Some(value()?),
            "--time-scale" => {
                options.time_scale = value()?.parse().map_err(|_| "--time-scale takes a number".to_string())?;
            }
            "-h" | "--help" => return Err("help".into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}
