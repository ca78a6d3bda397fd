//! `fake-kube --port 0 [--token T] [--time-scale F] [--aks NAME...] [--kubeconfig FILE --cluster NAME...]`:
//! serves the fake Kubernetes API server ([`ringform_testkit::kube`]) on 127.0.0.1, prints its
//! base URL (`http://127.0.0.1:PORT`; HTTPS on the same port) as the first line of stdout and
//! `RINGFORM_KUBE_DNS_SERVER=127.0.0.1:PORT` (its DNS server, which resolves EKS load
//! balancers' host names; a line to export) as the second, then serves until killed. Clusters are paths under it: `<base>/<cluster>`, EKS-like unless named
//! by `--aks`. `--kubeconfig` writes a kubeconfig (HTTPS, the fake's CA, the token) with a
//! context per `--cluster`, for kubectl.

use std::io::Write;
use std::process::ExitCode;

use ringform_testkit::kube::{FakeKube, FakeKubeOptions, Flavor};

const USAGE: &str = "usage: fake-kube [--port PORT] [--token TOKEN] [--time-scale FACTOR] [--aks NAME...] [--kubeconfig FILE --cluster NAME...]";

struct Args {
    options: FakeKubeOptions,
    kubeconfig: Option<String>,
    clusters: Vec<String>,
    /// Clusters made AKS-like before serving.
    aks: Vec<String>,
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("fake-kube: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let kube = match FakeKube::start(args.options) {
        Ok(kube) => kube,
        Err(error) => {
            eprintln!("fake-kube: {error}");
            return ExitCode::FAILURE;
        }
    };
    for name in &args.aks {
        if let Err(error) = kube.add_cluster_of(name, Flavor::Aks) {
            eprintln!("fake-kube: {error}");
            return ExitCode::from(2);
        }
    }
    if let Some(path) = &args.kubeconfig {
        let clusters: Vec<&str> = args.clusters.iter().map(String::as_str).collect();
        if let Err(error) = std::fs::write(path, kube.kubeconfig(&clusters)) {
            eprintln!("fake-kube: cannot write {path}: {error}");
            return ExitCode::FAILURE;
        }
    }
    let mut stdout = std::io::stdout();
    let printed = writeln!(stdout, "{}\nRINGFORM_KUBE_DNS_SERVER={}", kube.endpoint(), kube.dns_server());
    if printed.and_then(|()| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    loop {
        std::thread::park();
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut options = FakeKubeOptions::default();
    let (mut kubeconfig, mut clusters, mut aks) = (None, Vec::new(), Vec::new());
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => options.port = value()?.parse().map_err(|_| "--port takes a number".to_string())?,
            "--token" => options.token = Some(value()?),
            "--time-scale" => {
                options.time_scale = value()?.parse().map_err(|_| "--time-scale takes a number".to_string())?;
            }
            "--kubeconfig" => kubeconfig = Some(value()?),
            "--cluster" => clusters.push(value()?),
            "--aks" => aks.push(value()?),
            "-h" | "--help" => return Err("help".into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if kubeconfig.is_some() && clusters.is_empty() {
        return Err("--kubeconfig needs at least one --cluster".into());
    }
    Ok(Args { options, kubeconfig, clusters, aks })
}
