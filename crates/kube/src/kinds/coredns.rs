//! Cross-cluster names: each cluster's DNS exposed on an internal load balancer
//! ([`DNS_ENDPOINT`]), and CoreDNS told to forward each remote datacenter's namespace there
//! (stub domains). CoreDNS's `forward` takes IP addresses only, several at once: an AWS load
//! balancer has one per zone.
//!
//! The stub domains live in configuration the cluster's vendor owns, so they are an edit, not
//! an object of ringform's: on EKS a block between ringform's markers in the `coredns`
//! ConfigMap's Corefile (EKS's own blocks are kept as they are, and CoreDNS's `reload` picks
//! the change up); on AKS a `ringform.server` key of the `coredns-custom` ConfigMap, which AKS
//! keeps for its users, after which CoreDNS must be restarted.

use std::collections::BTreeMap;

use ringform_core::provider::ProviderError;
use serde_json::{Value, json};

use super::{Ctx, Settle, Spec, attributes, text_at};
use crate::cluster::{Cluster, ObjectRef};
use crate::error::KubeResult;

pub const NAMESPACE: &str = "kube-system";
/// EKS: the ConfigMap and key holding the whole Corefile.
pub const EKS_CONFIG_MAP: &str = "coredns";
pub const EKS_KEY: &str = "Corefile";
/// AKS: the ConfigMap its CoreDNS imports `*.server` keys of, and ringform's key.
pub const AKS_CONFIG_MAP: &str = "coredns-custom";
pub const AKS_KEY: &str = "ringform.server";
const BEGIN: &str = "# ringform stub domains: begin (managed by ringform; edits here are undone)";
const END: &str = "# ringform stub domains: end";

pub static DNS_ENDPOINT: Spec = Spec {
    objects: |ctx| {
        let internal = ctx.inputs.opt_bool("internal")?.unwrap_or(true).to_string();
        let annotations = match ctx.inputs.map("kubernetes")?.str("provider")? {
            // Classic load balancers carry no UDP: a Network Load Balancer does.
            "aws" => json!({
                "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
                "service.beta.kubernetes.io/aws-load-balancer-internal": internal,
            }),
            _ => json!({"service.beta.kubernetes.io/azure-load-balancer-internal": internal}),
        };
        Ok(vec![json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "ringform-dns", "namespace": NAMESPACE, "annotations": annotations},
            "spec": {
                "type": ctx.inputs.str("service_type")?,
                "selector": {"k8s-app": "kube-dns"},
                "ports": [
                    {"name": "dns", "port": 53, "targetPort": 53, "protocol": "UDP"},
                    {"name": "dns-tcp", "port": 53, "targetPort": 53, "protocol": "TCP"},
                ],
            },
        })])
    },
    marker: ("v1", "Service"),
    observe: |object| Ok(attributes([("service_type", text_at(object, "/spec/type"))])),
    settle: Settle::LoadBalancer,
};

/// Edited in place by [`crate::provider`] (see the module docs): no object of its own. The
/// ConfigMap it edits carries ringform's labels, so refresh lists it like any other.
pub static STUB_DOMAINS: Spec = Spec {
    objects: |_| Ok(Vec::new()),
    marker: ("v1", "ConfigMap"),
    observe: |object| {
        let text = object["data"][EKS_KEY].as_str().or(object["data"][AKS_KEY].as_str()).unwrap_or_default();
        let stubs = stubs_in(text).into_iter().map(|(zone, ips)| (zone, ringform_core::Value::from(ips))).collect();
        Ok(attributes([("stub_domains", ringform_core::Value::Map(stubs))]))
    },
    settle: Settle::Stored,
};

/// The ConfigMap to apply so that CoreDNS forwards `stubs` (none: ringform's edit undone), and
/// whether CoreDNS must then be restarted to see it.
pub async fn edit(
    cluster: &Cluster,
    ctx: &Ctx<'_>,
    stubs: &BTreeMap<String, Vec<String>>,
) -> KubeResult<(Value, bool)> {
    let config_map = |name: &str, data: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NAMESPACE}, "data": data});
    if ctx.inputs.map("kubernetes")?.str("provider")? == "azure" {
        // Only the key ringform applies is ringform's: leaving it out of the apply removes it.
        let data = if stubs.is_empty() { json!({}) } else { json!({AKS_KEY: block(stubs)}) };
        return Ok((config_map(AKS_CONFIG_MAP, data), true));
    }
    let target = ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some(NAMESPACE.into()),
        name: EKS_CONFIG_MAP.into(),
    };
    let current = cluster.get(&target).await?;
    let corefile = current.as_ref().and_then(|c| c["data"][EKS_KEY].as_str()).ok_or_else(|| {
        ProviderError::retryable(format!("cluster {}: {target} has no {EKS_KEY} to add stub domains to", cluster.name))
            .with_hint("EKS makes it with the cluster's CoreDNS add-on; check that CoreDNS runs")
    })?;
    Ok((config_map(EKS_CONFIG_MAP, json!({EKS_KEY: with_block(corefile, stubs)})), false))
}

/// What makes CoreDNS read its configuration again (AKS's does not watch `coredns-custom`):
/// a new annotation on its pod template, as `kubectl rollout restart` does.
pub fn restart(now: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": NAMESPACE},
        "spec": {"template": {"metadata": {"annotations": {"ringform.io/restarted-at": now}}}},
    })
}

/// `zone → forward-to addresses` as CoreDNS server blocks between ringform's markers.
pub fn block(stubs: &BTreeMap<String, Vec<String>>) -> String {
    let mut text = format!("{BEGIN}\n");
    for (zone, ips) in stubs {
        let ips = ips.join(" ");
        text.push_str(&format!("{zone}:53 {{\n    errors\n    cache 30\n    forward . {ips}\n}}\n"));
    }
    text + END + "\n"
}

/// `corefile` without ringform's block, everything else exactly as it was.
pub fn without_block(corefile: &str) -> String {
    let Some(start) = corefile.find(BEGIN) else { return corefile.to_owned() };
    let end = corefile[start..].find(END).map_or(corefile.len(), |i| start + i + END.len());
    let end = if corefile[end..].starts_with('\n') { end + 1 } else { end };
    let before = &corefile[..start];
    // The newline ringform put before its block goes with it.
    let before = before.strip_suffix('\n').filter(|b| b.ends_with('\n')).unwrap_or(before);
    format!("{before}{}", &corefile[end..])
}

/// `corefile` with ringform's block for `stubs` (replacing any earlier one) at its end.
pub fn with_block(corefile: &str, stubs: &BTreeMap<String, Vec<String>>) -> String {
    let kept = without_block(corefile);
    let separator = if kept.ends_with('\n') { "\n" } else { "\n\n" };
    if stubs.is_empty() { kept } else { format!("{kept}{separator}{}", block(stubs)) }
}

/// The stub domains ringform's block in `text` forwards: `zone → addresses`.
pub fn stubs_in(text: &str) -> BTreeMap<String, Vec<String>> {
    let Some(start) = text.find(BEGIN) else { return BTreeMap::new() };
    let body = &text[start..text[start..].find(END).map_or(text.len(), |i| start + i)];
    let mut stubs = BTreeMap::new();
    let mut zone = None;
    for line in body.lines().map(str::trim) {
        if let Some(name) = line.strip_suffix(":53 {") {
            zone = Some(name.to_owned());
        } else if let (Some(z), Some(to)) = (&zone, line.strip_prefix("forward . ")) {
            stubs.insert(z.clone(), to.split_whitespace().map(str::to_owned).collect());
        }
    }
    stubs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stubs(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs.iter().map(|(z, ips)| ((*z).to_owned(), ips.iter().map(|ip| (*ip).to_owned()).collect())).collect()
    }

    #[test]
    fn the_block_is_added_replaced_and_removed_keeping_eks_defaults_exactly() {
        let eks = ringform_testkit::kube::EKS_COREFILE;
        let one = with_block(eks, &stubs(&[("azure-1.svc.cluster.local", &["10.2.0.10"])]));
        assert!(one.starts_with(eks), "EKS's Corefile is kept as it was:\n{one}");
        assert!(one.contains("azure-1.svc.cluster.local:53 {\n    errors\n    cache 30\n    forward . 10.2.0.10\n}"));
        assert_eq!(stubs_in(&one), stubs(&[("azure-1.svc.cluster.local", &["10.2.0.10"])]));

        // An AWS load balancer answers at one address per zone: CoreDNS forwards to them all.
        let aws = &["10.1.0.5", "10.1.64.7", "10.1.128.9"][..];
        let two = with_block(&one, &stubs(&[("a.svc.cluster.local", aws), ("b.svc.cluster.local", &["10.4.0.10"])]));
        assert_eq!(two.matches(BEGIN).count(), 1, "replaced, not appended:\n{two}");
        assert!(!two.contains("10.2.0.10"));
        assert!(two.contains("forward . 10.1.0.5 10.1.64.7 10.1.128.9\n"), "{two}");
        assert_eq!(stubs_in(&two), stubs(&[("a.svc.cluster.local", aws), ("b.svc.cluster.local", &["10.4.0.10"])]));

        assert_eq!(without_block(&two), eks, "removing gives back EKS's Corefile byte for byte");
        assert_eq!(without_block(eks), eks);
        assert_eq!(with_block(&two, &BTreeMap::new()), eks);
    }

    #[test]
    fn edits_by_others_around_the_block_are_kept() {
        let mut text = with_block("a {\n}\n", &stubs(&[("x.svc.cluster.local", &["10.0.0.1"])]));
        text.push_str("b {\n}\n");
        let updated = with_block(&text, &stubs(&[("x.svc.cluster.local", &["10.0.0.2"])]));
        assert!(updated.starts_with("a {\n}\n") && updated.contains("b {\n}\n") && updated.contains("10.0.0.2"));
        assert_eq!(without_block(&updated), "a {\n}\nb {\n}\n");
    }
}
