//! `fake-clouds [--time-scale F] FILE`: the local stand-ins of every cloud the topology in FILE
//! uses, for running ringform with no cloud account (`scripts/try`): moto when a cluster is on
//! AWS, the fake ARM when one is on Azure, and the fake Kubernetes API server holding each
//! cluster as its cloud makes it (EKS- or AKS-like). Prints the environment that points
//! ringform at them, one `NAME=value` line each, then an empty line once all are up; serves
//! until killed. Simulated Kubernetes durations are real ones times F (default 0.01: a
//! Cassandra rack in about 1.5 s).

use std::io::Write;
use std::process::ExitCode;

use ringform_testkit::arm::{FakeArm, FakeArmOptions};
use ringform_testkit::kube::{FakeKube, FakeKubeOptions};
use ringform_testkit::moto::Moto;
use ringform_topology::Cloud;

const USAGE: &str = "usage: fake-clouds [--time-scale FACTOR] TOPOLOGY.toml";

/// What stays up while the process runs.
struct Clouds {
    _moto: Option<Moto>,
    _arm: Option<FakeArm>,
    _kube: FakeKube,
    environment: Vec<(&'static str, String)>,
}

fn main() -> ExitCode {
    let clouds = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [flag, scale, file] if flag == "--time-scale" => match scale.parse() {
            Ok(scale) => start(file, scale),
            Err(_) => Err(format!("--time-scale takes a number\n{USAGE}")),
        },
        [file] if !file.starts_with('-') => start(file, 0.01),
        _ => Err(USAGE.to_owned()),
    };
    let clouds = match clouds {
        Ok(clouds) => clouds,
        Err(message) => {
            eprintln!("fake-clouds: {message}");
            return ExitCode::from(2);
        }
    };
    let mut stdout = std::io::stdout();
    let lines: String = clouds.environment.iter().map(|(name, value)| format!("{name}={value}\n")).collect();
    // The empty line says all are up.
    if writeln!(stdout, "{lines}").and_then(|()| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    loop {
        std::thread::park();
    }
}

fn start(file: &str, time_scale: f64) -> Result<Clouds, String> {
    let source = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let topology = ringform_topology::parse(&source)
        .map_err(|_| format!("{file} is not a valid topology: `ringform validate {file}` says why"))?;
    let on = |cloud| topology.clusters.iter().any(|c| c.provider.value == cloud);
    let mut environment = Vec::new();
    let moto = if on(Cloud::Aws) {
        let moto = Moto::start()?;
        environment.extend([
            ("AWS_ENDPOINT_URL", moto.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("RINGFORM_AWS_POLL_MS", "50".to_owned()),
        ]);
        Some(moto)
    } else {
        None
    };
    let arm = if on(Cloud::Azure) {
        let arm = FakeArm::start(FakeArmOptions::default()).map_err(|e| e.to_string())?;
        environment.extend([
            ("RINGFORM_ARM_ENDPOINT", arm.endpoint()),
            ("RINGFORM_ARM_TOKEN", arm.token()),
            ("RINGFORM_ARM_POLL_MS", "50".to_owned()),
            ("AZURE_SUBSCRIPTION_ID", "00000000-0000-4000-8000-000000000001".to_owned()),
        ]);
        Some(arm)
    } else {
        None
    };
    let kube =
        FakeKube::start(FakeKubeOptions { time_scale, ..FakeKubeOptions::default() }).map_err(|e| e.to_string())?;
    kube.add_clusters_of(&topology).map_err(|e| e.to_string())?;
    environment.extend([
        ("RINGFORM_KUBE_ENDPOINT", kube.endpoint()),
        ("RINGFORM_KUBE_TOKEN", kube.token()),
        ("RINGFORM_KUBE_DNS_SERVER", kube.dns_server()),
    ]);
    Ok(Clouds { _moto: moto, _arm: arm, _kube: kube, environment })
}
