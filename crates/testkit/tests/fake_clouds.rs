//! The `fake-clouds` binary: started on an example, it prints the environment that points
//! ringform at the stand-ins that example needs, and they answer there with its clusters.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

/// A running `fake-clouds`, leading a process group of its own (moto is its child), stopped
/// with all of it when dropped, as `scripts/try` stops it.
struct Clouds(Child);

impl Drop for Clouds {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

/// `fake-clouds` started on `example`, and the `NAME=value` lines it printed, read up to the
/// empty line that says all are up.
fn start(example: &str) -> (Clouds, Vec<(String, String)>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-clouds"))
        .arg(format!("{path}{example}"))
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut environment = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once('=').unwrap_or_else(|| panic!("not NAME=value: {line}"));
        environment.push((name.to_owned(), value.to_owned()));
    }
    (Clouds(child), environment)
}

/// `GET url`, with the fake Kubernetes API's `token` when given.
fn get(url: &str, token: Option<&str>) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let authorization = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n{authorization}\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn value<'e>(environment: &'e [(String, String)], name: &str) -> Option<&'e str> {
    environment.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[test]
fn an_azure_example_gets_the_fake_arm_and_its_clusters_as_aks_in_the_fake_kubernetes_api() {
    let (_clouds, environment) = start("separate-address-plans.toml");
    assert!(value(&environment, "AWS_ENDPOINT_URL").is_none(), "no AWS in this example: {environment:?}");
    assert!(value(&environment, "RINGFORM_ARM_ENDPOINT").is_some_and(|e| e.starts_with("http://127.0.0.1:")));
    assert!(value(&environment, "RINGFORM_KUBE_DNS_SERVER").is_some_and(|e| e.starts_with("127.0.0.1:")));
    let kube = value(&environment, "RINGFORM_KUBE_ENDPOINT").expect("the fake Kubernetes API");
    let objects = get(&format!("{kube}/__objects"), value(&environment, "RINGFORM_KUBE_TOKEN"));
    for cluster in ["east", "west"] {
        assert!(objects.contains(&format!(r#""cluster":"{cluster}""#)), "{cluster} is served");
    }
    // AKS's CoreDNS imports coredns-custom; EKS has none.
    assert_eq!(objects.matches(r#""name":"coredns-custom""#).count(), 2, "both clusters are AKS-like");
}

#[test]
fn an_aws_example_gets_moto_and_its_clusters_as_eks_in_the_fake_kubernetes_api() {
    let (_clouds, environment) = start("minimal.toml");
    assert!(value(&environment, "RINGFORM_ARM_ENDPOINT").is_none(), "no Azure in this example: {environment:?}");
    let moto = value(&environment, "AWS_ENDPOINT_URL").expect("moto");
    assert!(get(&format!("{moto}/moto-api/data.json"), None).contains(" 200 OK"), "moto answers");
    let kube = value(&environment, "RINGFORM_KUBE_ENDPOINT").expect("the fake Kubernetes API");
    let objects = get(&format!("{kube}/__objects"), value(&environment, "RINGFORM_KUBE_TOKEN"));
    assert!(objects.contains(r#""name":"aws-node""#), "cluster main is EKS-like, with the VPC CNI");
}
