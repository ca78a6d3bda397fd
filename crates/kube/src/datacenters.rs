//! Datacenters joining and leaving a live ring, in the order Cassandra needs.
//!
//! - cass-operator (seeded datacenters): one leaving is first taken out of every keyspace's
//!   replication but Cassandra's own, refusing when a keyspace would be left with no replica,
//!   then deleted with `decommission-on-delete`, so cass-operator decommissions its nodes.
//!   Joining is the graph's work: the keyspace resources, then a `cassandra_rebuild`.
//! - k8ssandra-operator: it adds a datacenter itself (system keyspaces, the user keyspaces the
//!   `k8ssandra.io/dc-replication` annotation names, then a rebuild) and removes one itself
//!   (decommission, then the system keyspaces), but refuses while a user keyspace still
//!   replicates to it. So before an update that adds a datacenter ringform writes that
//!   annotation, naming every user keyspace as the operator requires; before one that removes a
//!   datacenter it takes it out of the user keyspaces; after either it waits until the operator
//!   has finished.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ringform_core::{Address, Inputs, Value};
use serde_json::json;

use crate::KubeProvider;
use crate::cluster::{Cluster, ObjectRef};
use crate::error::KubeResult;
use crate::keyspaces;
use crate::kinds::{Ctx, spec};
use crate::management::Node;
use crate::wait;

/// Deleting a CassandraDatacenter so annotated makes cass-operator decommission its nodes first.
const DECOMMISSION_ON_DELETE: &str = "cassandra.datastax.com/decommission-on-delete";
/// `{datacenter: {keyspace: factor}}`: what k8ssandra-operator gives the user keyspaces in a
/// datacenter it adds; it must name every user keyspace.
const DC_REPLICATION: &str = "k8ssandra.io/dc-replication";
/// On a K8ssandraCluster while the operator adds (and rebuilds) the datacenter it names.
const REBUILD_DC: &str = "k8ssandra.io/rebuild-dc";
/// How long the operator may take to add or remove a datacenter: rebuilds stream terabytes.
const CHANGE_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// Every keyspace's replication, `{keyspace: {datacenter: factor}}`, as a node of the
/// datacenter `target` stands for sees it.
pub async fn keyspaces_seen(cluster: &Cluster, target: &ObjectRef) -> KubeResult<Value> {
    let node = Node::of(cluster, target.namespace.as_deref().unwrap_or_default(), &target.name).await?;
    as_value(&node).await
}

async fn as_value(node: &Node<'_>) -> KubeResult<Value> {
    let keyspaces = node.keyspaces().await?;
    Ok(Value::from_iter(keyspaces.iter().map(|(k, r)| (k.clone(), keyspaces::as_value(r)))))
}

/// Before a seeded datacenter goes while others stay. The last datacenter of a ring simply
/// goes; so does one with no node to ask (it never came up, or is down: nothing is left to
/// hand over).
pub async fn leave_ring(cluster: &Cluster, ctx: &Ctx<'_>) -> KubeResult<()> {
    let (namespace, name) = (ctx.inputs.str("namespace")?, ctx.inputs.str("name")?);
    let Ok(node) = Node::of(cluster, namespace, name).await else { return Ok(()) };
    if node.datacenters().await?.iter().all(|dc| dc == name) {
        return Ok(());
    }
    node.release(name).await?;
    let target = ObjectRef::of(&(spec(ctx.address.kind())?.objects)(ctx)?[0])?;
    cluster.annotate(&target, DECOMMISSION_ON_DELETE, "true").await
}

/// What an update of a K8ssandraCluster changes in its ring, to wait for afterwards.
#[derive(Default)]
pub struct RingChange {
    added: Vec<String>,
    removed: Vec<String>,
}

impl KubeProvider {
    /// Readies the ring for the K8ssandraCluster `object` is about to become (see the module
    /// docs), annotating `object` for the datacenters it adds.
    pub(crate) async fn prepare_ring_change(
        &self,
        cluster: &Cluster,
        ctx: &Ctx<'_>,
        object: &mut serde_json::Value,
    ) -> KubeResult<RingChange> {
        let Some(live) = cluster.get(&ObjectRef::of(object)?).await? else { return Ok(RingChange::default()) };
        let names = |o: &serde_json::Value| -> BTreeSet<String> {
            let datacenters = o["spec"]["cassandra"]["datacenters"].as_array().into_iter().flatten();
            datacenters.filter_map(|dc| dc["metadata"]["name"].as_str()).map(str::to_owned).collect()
        };
        let (now, wanted) = (names(&live), names(object));
        let change = RingChange {
            added: wanted.difference(&now).cloned().collect(),
            removed: now.difference(&wanted).cloned().collect(),
        };
        if change.added.is_empty() && change.removed.is_empty() {
            return Ok(change);
        }
        let ring = self.ring_node_cluster(ctx.address, &ctx.inputs).await?;
        let at = ring_inputs(ctx.address, &ctx.inputs)?;
        let node = Node::of(&ring, at.str("namespace")?, at.str("datacenter")?).await?;
        for datacenter in &change.removed {
            node.release(datacenter).await?;
        }
        if !change.added.is_empty() {
            let replication = added_replication(&ctx.inputs, &node, &change.added).await?;
            object["metadata"]["annotations"][DC_REPLICATION] = replication.to_string().into();
        }
        Ok(change)
    }

    /// Waits until the operator has added and removed what `change` says.
    pub(crate) async fn settle_ring_change(
        &self,
        cluster: &Cluster,
        target: &ObjectRef,
        change: &RingChange,
    ) -> KubeResult<()> {
        if change.added.is_empty() && change.removed.is_empty() {
            return Ok(());
        }
        let removed = change.removed.clone();
        let done = move |o: &serde_json::Value| {
            let statuses = &o["status"]["datacenters"];
            o["metadata"]["annotations"][REBUILD_DC].is_null() && removed.iter().all(|dc| statuses[dc].is_null())
        };
        let what = format!(
            "finish {}",
            [("adding", &change.added), ("removing", &change.removed)]
                .iter()
                .filter(|(_, dcs)| !dcs.is_empty())
                .map(|(verb, dcs)| format!("{verb} {}", dcs.join(", ")))
                .collect::<Vec<_>>()
                .join(" and ")
        );
        wait::until(cluster, target, &what, done, self.settings.timeout(CHANGE_WAIT)).await.map(drop)
    }

    /// The keyspaces as a node of the ring sees them, for a K8ssandraCluster's output.
    pub(crate) async fn ring_keyspaces(&self, address: &Address, inputs: &Inputs<'_>) -> KubeResult<Value> {
        let ring = self.ring_node_cluster(address, inputs).await?;
        let at = ring_inputs(address, inputs)?;
        as_value(&Node::of(&ring, at.str("namespace")?, at.str("datacenter")?).await?).await
    }

    /// The cluster of the node input `ring` names.
    async fn ring_node_cluster(&self, address: &Address, inputs: &Inputs<'_>) -> KubeResult<std::sync::Arc<Cluster>> {
        self.cluster(address, ring_inputs(address, inputs)?.attrs).await
    }
}

fn ring_inputs<'a>(address: &'a Address, inputs: &Inputs<'a>) -> KubeResult<Inputs<'a>> {
    match inputs.attrs.get("ring") {
        Some(Value::Map(ring)) => Ok(Inputs::new(address, ring)),
        _ => Err(ringform_core::provider::ProviderError::fatal(format!("{address}: `ring` is not a map"))),
    }
}

/// `{datacenter: {keyspace: factor}}` for each added datacenter: every user keyspace of the
/// ring and every declared one, at the factor the topology gives it there (0: none).
async fn added_replication(inputs: &Inputs<'_>, node: &Node<'_>, added: &[String]) -> KubeResult<serde_json::Value> {
    let declared: BTreeMap<String, BTreeMap<String, i64>> = match inputs.attrs.get("keyspaces") {
        Some(Value::Map(keyspaces)) => keyspaces
            .iter()
            .map(|(name, factors)| {
                let factors = match factors {
                    Value::Map(f) => f.iter().filter_map(|(dc, n)| Some((dc.clone(), n.as_int()?))).collect(),
                    _ => BTreeMap::new(),
                };
                (name.clone(), factors)
            })
            .collect(),
        _ => BTreeMap::new(),
    };
    let users: BTreeSet<String> = node
        .keyspaces()
        .await?
        .into_keys()
        .filter(|k| !crate::management::SYSTEM_KEYSPACES.contains(&k.as_str()))
        .chain(declared.keys().cloned())
        .collect();
    let per_datacenter = added.iter().map(|dc| {
        let factors: serde_json::Map<String, serde_json::Value> = users
            .iter()
            .map(|ks| (ks.clone(), json!(declared.get(ks).and_then(|f| f.get(dc)).copied().unwrap_or(0))))
            .collect();
        (dc.clone(), serde_json::Value::Object(factors))
    });
    Ok(serde_json::Value::Object(per_datacenter.collect()))
}
