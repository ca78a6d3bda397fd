//! The Cassandra datacenters: a CassandraDatacenter per datacenter for cass-operator (seeded
//! with the seed addresses of the datacenters before it), or one K8ssandraCluster on the
//! control plane listing them all for k8ssandra-operator. Racks are pinned to zones with the
//! well-known zone label; the heap is set for both the initial and the maximum size.

use ringform_core::provider::ProviderError;
use ringform_core::{Inputs, Value};
use serde_json::json;

use super::{Ctx, Settle, Spec, attributes, int_at, text_at};
use crate::error::KubeResult;

const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

pub static DATACENTER: Spec = Spec {
    objects: |ctx| {
        let dc = &ctx.inputs;
        let mut seeds = Vec::new();
        for earlier in dc.list("additional_seeds")? {
            match earlier {
                Value::List(ips) => seeds.extend(ips.iter().filter_map(Value::as_str).map(str::to_owned)),
                Value::String(ip) => seeds.push(ip.clone()),
                _ => {}
            }
        }
        let mut spec = shared_spec(dc)?;
        spec["clusterName"] = dc.str("cluster_name")?.into();
        spec["serverType"] = "cassandra".into();
        spec["serverVersion"] = dc.str("server_version")?.into();
        spec["superuserSecretName"] = dc.str("superuser_secret")?.into();
        spec["additionalSeeds"] = seeds.into();
        spec["config"] = json!({"jvm-server-options": heap_options(dc)?});
        Ok(vec![json!({
            "apiVersion": "cassandra.datastax.com/v1beta1",
            "kind": "CassandraDatacenter",
            "metadata": {"name": dc.str("name")?, "namespace": dc.str("namespace")?},
            "spec": spec,
        })])
    },
    marker: ("cassandra.datastax.com/v1beta1", "CassandraDatacenter"),
    observe: |object| {
        Ok(attributes([
            ("name", text_at(object, "/metadata/name")),
            ("namespace", text_at(object, "/metadata/namespace")),
            ("cluster_name", text_at(object, "/spec/clusterName")),
            ("server_version", text_at(object, "/spec/serverVersion")),
            ("size", int_at(object, "/spec/size")),
            ("storage_class", text_at(object, "/spec/storageConfig/cassandraDataVolumeClaimSpec/storageClassName")),
            (
                "storage_size",
                text_at(object, "/spec/storageConfig/cassandraDataVolumeClaimSpec/resources/requests/storage"),
            ),
        ]))
    },
    settle: Settle::Seeds,
};

pub static K8SSANDRA_CLUSTER: Spec = Spec {
    objects: |ctx| {
        let mut datacenters = Vec::new();
        for dc in ctx.inputs.list("datacenters")? {
            let Value::Map(dc) = dc else { return Err(not_a_map(ctx)) };
            let dc = Inputs::new(ctx.address, dc);
            let mut spec = shared_spec(&dc)?;
            spec["metadata"] = json!({"name": dc.str("name")?, "namespace": dc.str("namespace")?});
            // The control plane's own cluster has the empty context.
            spec["k8sContext"] = dc.opt_str("k8s_context")?.unwrap_or_default().into();
            spec["config"] = json!({"jvmOptions": {"heapSize": dc.str("heap")?}});
            datacenters.push(spec);
        }
        Ok(vec![json!({
            "apiVersion": "k8ssandra.io/v1alpha1",
            "kind": "K8ssandraCluster",
            "metadata": {"name": ctx.inputs.str("name")?, "namespace": ctx.inputs.str("namespace")?},
            "spec": {"cassandra": {
                "serverVersion": ctx.inputs.str("server_version")?,
                "superuserSecretRef": {"name": ctx.inputs.str("superuser_secret")?},
                "datacenters": datacenters,
            }},
        })])
    },
    marker: ("k8ssandra.io/v1alpha1", "K8ssandraCluster"),
    observe: |object| {
        Ok(attributes([
            ("name", text_at(object, "/metadata/name")),
            ("namespace", text_at(object, "/metadata/namespace")),
            ("server_version", text_at(object, "/spec/cassandra/serverVersion")),
            ("superuser_secret", text_at(object, "/spec/cassandra/superuserSecretRef/name")),
        ]))
    },
    settle: Settle::Stored,
};

/// What a datacenter's spec holds for either operator: size, racks in zones, storage.
fn shared_spec(dc: &Inputs<'_>) -> KubeResult<serde_json::Value> {
    let mut racks = Vec::new();
    for rack in dc.list("racks")? {
        let Value::Map(rack) = rack else {
            return Err(ProviderError::fatal(format!("{}: a rack is not a map", dc.address)));
        };
        let rack = Inputs::new(dc.address, rack);
        racks.push(json!({"name": rack.str("name")?, "nodeAffinityLabels": {ZONE_LABEL: rack.str("zone")?}}));
    }
    Ok(json!({
        "size": dc.int("size")?,
        "racks": racks,
        "storageConfig": {"cassandraDataVolumeClaimSpec": {
            "storageClassName": dc.str("storage_class")?,
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": dc.str("storage_size")?}},
        }},
    }))
}

/// cass-operator takes the heap as jvm-server-options.
fn heap_options(dc: &Inputs<'_>) -> KubeResult<serde_json::Value> {
    let heap = dc.str("heap")?;
    Ok(json!({"initial_heap_size": heap, "max_heap_size": heap}))
}

fn not_a_map(ctx: &Ctx<'_>) -> ProviderError {
    ProviderError::fatal(format!("{}: a datacenter is not a map", ctx.address))
}
