//! The outputs the fake returns: `id`, the inputs a real API echoes back (names and the ids
//! of what an object joins), and the kind-specific outputs the resource graph references (the
//! graph test in `fake.rs` keeps this list honest). Like a real cloud, it does not return every
//! input, so states built on it are the size real ones are.

use rand::Rng;
use rand::distr::Alphanumeric;
use ringform_core::{Attributes, Kind, Value};
use ringform_schema::{aws, azure, kubernetes, local};

pub(crate) fn compute(
    kind: Kind,
    provider_id: &str,
    inputs: &Attributes,
    previous: Option<&Attributes>,
    rng: &mut impl Rng,
) -> Attributes {
    const ECHOED: &[&str] = &[
        "name",
        "cluster_name",
        "context_name",
        "peering_id",
        "attachment_id",
        "transit_gateway_id",
        "vpn_gateway_id",
    ];
    let mut outputs: Attributes =
        inputs.iter().filter(|(k, _)| ECHOED.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    outputs.insert("id".to_owned(), provider_id.into());
    let serial = serial(provider_id);
    let text = |name: &str| inputs.get(name).and_then(Value::as_str).unwrap_or(provider_id).to_owned();
    // Outputs that echo an input: keep the echo, or make one up when the input is missing.
    let mut echo = |name: &str, fallback: String| {
        outputs.entry(name.to_owned()).or_insert_with(|| fallback.into());
    };
    let mut computed: Vec<(&str, Value)> = Vec::new();
    match kind {
        aws::IAM_ROLE => {
            computed.push(("arn", format!("arn:aws:iam::000000000000:role/{}", text("role_name")).into()));
        }
        aws::EKS_CLUSTER => {
            echo("cluster_name", text("name"));
            computed.push(("endpoint", format!("https://{provider_id}.eks.fake").into()));
            computed.push(("certificate_authority", "ZmFrZS1jZXJ0aWZpY2F0ZS1hdXRob3JpdHk=".into()));
            computed.push(("cluster_security_group_id", format!("sg-cluster-{serial}").into()));
        }
        aws::LAUNCH_TEMPLATE => computed.push(("version", "1".into())),
        aws::EKS_NODE_GROUP => echo("node_group_name", text("node_group_name")),
        azure::AKS_CLUSTER | kubernetes::SERVICE_ACCOUNT => {
            computed.push(("kubeconfig", Value::secret(kubeconfig(provider_id).into())));
            if kind == azure::AKS_CLUSTER {
                // The identity's principal, which role assignments name.
                computed.push(("principal_id", format!("00000000-0000-4000-8000-{serial:012x}").into()));
            }
        }
        local::GENERATED_SECRET => computed.push(("value", secret_value(inputs, previous, rng))),
        aws::VPC_PEERING_ACCEPTER => echo("peering_id", format!("pcx-{serial}")),
        aws::TRANSIT_GATEWAY_PEERING_ACCEPTER => echo("attachment_id", format!("tgw-attach-{serial}")),
        aws::TRANSIT_GATEWAY_ATTACHMENT => echo("transit_gateway_id", format!("tgw-{serial}")),
        aws::VPN_CONNECTION => {
            echo("vpn_gateway_id", format!("vgw-{serial}"));
            computed.push(("tunnel1_address", ip("198.18", serial, 0).into()));
        }
        azure::PUBLIC_IP => computed.push(("ip_address", ip("198.19", serial, 0).into())),
        kubernetes::DNS_ENDPOINT => computed.push(("ips", Value::from(vec![ip("10.240", serial, 0)]))),
        azure::VIRTUAL_NETWORK => {
            computed.push(("node_subnet_id", format!("{provider_id}/subnets/nodes").into()));
            computed.push(("pod_subnet_id", format!("{provider_id}/subnets/pods").into()));
        }
        kubernetes::CLIENT_CONFIG => echo("context_name", text("name")),
        kubernetes::CASSANDRA_DATACENTER => {
            // Like cass-operator: up to three seed pods per datacenter.
            let seeds = inputs.get("size").and_then(Value::as_int).unwrap_or(3).clamp(1, 3);
            let ips = (0..seeds as u64).map(|k| Value::from(ip("10.244", serial, k))).collect();
            computed.push(("seed_ips", Value::List(ips)));
        }
        _ => {}
    }
    outputs.extend(computed.into_iter().map(|(name, value)| (name.to_owned(), value)));
    outputs
}

/// The counter at the end of a `<kind>-<serial>` id; 0 for ids made some other way.
fn serial(provider_id: &str) -> u64 {
    provider_id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// A distinct address per (object, index) inside `prefix`.0.0/16.
fn ip(prefix: &str, serial: u64, index: u64) -> String {
    let n = serial.wrapping_mul(4).wrapping_add(index);
    format!("{prefix}.{}.{}", (n >> 8) & 255, n & 255)
}

fn kubeconfig(provider_id: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {provider_id}\n  cluster:\n    server: https://{provider_id}.k8s.fake\n\
         contexts:\n- name: {provider_id}\n  context:\n    cluster: {provider_id}\n    user: ringform\n\
         current-context: {provider_id}\nusers:\n- name: ringform\n  user:\n    token: fake-token-{provider_id}\n"
    )
}

/// A random string of the `length` input; an update keeps the old one if the length still fits.
fn secret_value(inputs: &Attributes, previous: Option<&Attributes>, rng: &mut impl Rng) -> Value {
    let length = inputs.get("length").and_then(Value::as_int).unwrap_or(32).clamp(1, 1024) as usize;
    if let Some(old @ Value::Secret(inner)) = previous.and_then(|p| p.get("value"))
        && inner.as_str().is_some_and(|s| s.len() == length)
    {
        return old.clone();
    }
    let text: String = rng.sample_iter(Alphanumeric).take(length).map(char::from).collect();
    Value::secret(text.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn secrets_have_the_requested_length_and_survive_updates() {
        let mut rng = StdRng::seed_from_u64(1);
        let inputs = Attributes::from([("length".to_owned(), Value::Int(24))]);
        let first = compute(local::GENERATED_SECRET, "generated_secret-1", &inputs, None, &mut rng);
        let Some(Value::Secret(value)) = first.get("value") else { panic!("value must be secret: {first:?}") };
        assert_eq!(value.as_str().map(str::len), Some(24));
        let again = compute(local::GENERATED_SECRET, "generated_secret-1", &inputs, Some(&first), &mut rng);
        assert_eq!(again.get("value"), first.get("value"));
    }

    #[test]
    fn bad_inputs_do_not_panic() {
        let mut rng = StdRng::seed_from_u64(1);
        let inputs = Attributes::from([
            ("length".to_owned(), Value::Int(i64::MIN)),
            ("size".to_owned(), Value::Int(-5)),
            ("name".to_owned(), Value::Int(3)),
        ]);
        for kind in ringform_schema::all().kinds().map(|s| s.kind) {
            let outputs = compute(kind, "weird id", &inputs, None, &mut rng);
            assert_eq!(outputs.get("id"), Some(&Value::from("weird id")));
        }
    }
}
