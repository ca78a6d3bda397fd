//! The DNS server beside the API: real queries over UDP and TCP for the host names EKS load
//! balancers got, built and read byte by byte as RFC 1035 lays them out.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream, UdpSocket};
use std::time::Duration;

use serde_json::{Value, json};

use crate::kube::FakeKube;
use crate::kube::dns::respond;

const A: u16 = 1;
const AAAA: u16 = 28;
/// QR, RD and RA set, opcode QUERY.
const ANSWER: u16 = 0x8180;
const NXDOMAIN: u16 = 3;

/// A standard query with RD set and one question.
fn query(id: u16, name: &str, kind: u16) -> Vec<u8> {
    let mut message = [id, 0x0100, 1, 0, 0, 0].iter().flat_map(|f: &u16| f.to_be_bytes()).collect::<Vec<u8>>();
    for label in name.split('.') {
        message.push(label.len() as u8);
        message.extend_from_slice(label.as_bytes());
    }
    message.push(0);
    message.extend_from_slice(&kind.to_be_bytes());
    message.extend_from_slice(&1u16.to_be_bytes());
    message
}

fn udp(server: &str, query: &[u8]) -> Vec<u8> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    socket.send_to(query, server).unwrap();
    let mut buffer = [0u8; 512];
    let length = socket.recv(&mut buffer).expect("an answer within 5 s");
    buffer[..length].to_vec()
}

fn tcp(server: &str, query: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(server).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(&(query.len() as u16).to_be_bytes()).unwrap();
    stream.write_all(query).unwrap();
    let mut length = [0u8; 2];
    stream.read_exact(&mut length).unwrap();
    let mut reply = vec![0; usize::from(u16::from_be_bytes(length))];
    stream.read_exact(&mut reply).unwrap();
    reply
}

fn field(message: &[u8], index: usize) -> u16 {
    u16::from_be_bytes([message[2 * index], message[2 * index + 1]])
}

/// The reply's flags and the addresses of its A records, after checking that it answers
/// `query`: same id, the question echoed byte for byte, no authority or additional records.
#[track_caller]
fn read(reply: &[u8], query: &[u8]) -> (u16, Vec<Ipv4Addr>) {
    assert_eq!(field(reply, 0), field(query, 0), "the id is echoed");
    assert_eq!((field(reply, 2), field(reply, 4), field(reply, 5)), (1, 0, 0));
    assert_eq!(reply[12..query.len()], query[12..], "the question is echoed as sent");
    let mut at = query.len();
    let mut addresses = Vec::new();
    for _ in 0..field(reply, 3) {
        let record = &reply[at..at + 16];
        // A pointer to the question's name, type A, class IN, TTL 60, four bytes of address.
        assert_eq!(record[..12], [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        addresses.push(Ipv4Addr::new(record[12], record[13], record[14], record[15]));
        at += 16;
    }
    assert_eq!(at, reply.len(), "nothing after the answers");
    (field(reply, 1), addresses)
}

fn internal_service(name: &str) -> Value {
    json!({ "apiVersion": "v1", "kind": "Service",
        "metadata": { "name": name, "namespace": "kube-system",
                      "annotations": { "service.beta.kubernetes.io/aws-load-balancer-internal": "true" } },
        "spec": { "type": "LoadBalancer", "selector": { "k8s-app": "kube-dns" }, "ports": [{ "port": 53, "protocol": "UDP" }] } })
}

fn hostname(kube: &FakeKube, name: &str) -> String {
    let service = kube.get("eks", ("v1", "Service", Some("kube-system"), name)).expect("the Service");
    service["status"]["loadBalancer"]["ingress"][0]["hostname"].as_str().expect("a hostname").to_owned()
}

fn ips(text: &[&str]) -> Vec<Ipv4Addr> {
    text.iter().map(|t| t.parse().unwrap()).collect()
}

#[test]
fn eks_load_balancers_resolve_over_udp_and_tcp_to_one_address_per_zone_until_their_service_goes() {
    let kube = FakeKube::start_for_test();
    let server = kube.dns_server();
    kube.put("eks", internal_service("dns-lb")).unwrap();
    kube.put("eks", internal_service("dns-lb-2")).unwrap();
    let (first, second) = (hostname(&kube, "dns-lb"), hostname(&kube, "dns-lb-2"));
    let first_ips = ips(&["10.100.0.4", "10.100.64.4", "10.100.128.4"]);
    assert_eq!(kube.resolve(&first), Some(first_ips.clone()));
    assert_eq!(kube.resolve(&second), Some(ips(&["10.100.0.5", "10.100.64.5", "10.100.128.5"])));

    // Names are matched without case (RFC 4343), and echoed as asked.
    let asked = query(0xbeef, &first.to_uppercase(), A);
    assert_eq!(read(&udp(&server, &asked), &asked), (ANSWER, first_ips.clone()));
    assert_eq!(read(&tcp(&server, &asked), &asked), (ANSWER, first_ips.clone()));

    let unknown = query(7, "internal-nobody-1.us-east-1.elb.amazonaws.com", A);
    assert_eq!(read(&udp(&server, &unknown), &unknown), (ANSWER | NXDOMAIN, Vec::new()));
    let ipv6 = query(8, &first, AAAA);
    assert_eq!(read(&udp(&server, &ipv6), &ipv6), (ANSWER, Vec::new()), "a known name has no AAAA");

    // AWS moves a load balancer: other addresses in the same subnets, and the name follows.
    let moved = kube.move_load_balancer(&first).expect("a load balancer of that name");
    assert_eq!(moved, ips(&["10.100.0.6", "10.100.64.6", "10.100.128.6"]));
    assert_eq!(read(&udp(&server, &asked), &asked), (ANSWER, moved));
    assert_eq!(kube.move_load_balancer("nobody.elb.amazonaws.com"), None);

    assert!(kube.delete("eks", ("v1", "Service", Some("kube-system"), "dns-lb")));
    assert_eq!(read(&udp(&server, &asked), &asked), (ANSWER | NXDOMAIN, Vec::new()), "gone with its Service");
}

#[test]
fn what_is_not_one_plain_question_is_refused_the_way_rfc_1035_says() {
    let nobody = |_: &str| -> Option<Vec<Ipv4Addr>> { panic!("nothing is looked up") };
    let mut two_questions = query(1, "a.example", A);
    two_questions[5] = 2;
    let formerr = respond(&two_questions, nobody).unwrap();
    assert_eq!((field(&formerr, 1), field(&formerr, 2), formerr.len()), (ANSWER | 1, 0, 12));

    let mut compressed = query(2, "a.example", A);
    compressed[12] = 0xc0;
    assert_eq!(field(&respond(&compressed, nobody).unwrap(), 1), ANSWER | 1);

    // An inverse query (opcode 1) is not implemented; the opcode is echoed.
    let mut inverse = query(3, "a.example", A);
    inverse[2] |= 1 << 3;
    assert_eq!(field(&respond(&inverse, nobody).unwrap(), 1), ANSWER | (1 << 11) | 4);

    let mut a_response = query(4, "a.example", A);
    a_response[2] |= 0x80;
    assert_eq!(respond(&a_response, nobody), None, "a response is not answered");
    assert_eq!(respond(&[0; 11], nobody), None, "nor a message shorter than a header");
}
