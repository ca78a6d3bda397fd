//! The ring as Cassandra sees it: for each datacenter, one of its Ready pods is asked, through
//! the Kubernetes API server's pod proxy, what its Management API (port 8080) knows of every
//! node (`GET api/v0/metadata/endpoints`, the gossip states `nodetool status` shows). A node is
//! Up/Normal when it is alive and its status is NORMAL, joining while it bootstraps, down
//! otherwise.

use std::collections::BTreeMap;

use ringform_core::Attributes;
use ringform_core::provider::ProviderError;
use serde::Serialize;

use crate::KubeProvider;
use crate::error::KubeResult;
use crate::management::{Node, Replication};

/// One datacenter to ask about: where its pods run, and its cluster's inputs (`cluster` and
/// `kubernetes`, as any of that cluster's resources records them).
#[derive(Clone, Debug)]
pub struct Datacenter {
    pub name: String,
    pub namespace: String,
    pub cluster: String,
    pub size: i64,
    pub access: Attributes,
}

/// Nodes by state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub up_normal: usize,
    pub joining: usize,
    pub down: usize,
}

/// What one datacenter's node sees of one datacenter (itself included).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct View {
    pub datacenter: String,
    pub nodes: Counts,
    pub racks: BTreeMap<String, Counts>,
}

/// One datacenter's answer, or why there was none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DatacenterStatus {
    pub name: String,
    pub cluster: String,
    pub expected: i64,
    /// The pod that was asked.
    pub asked: Option<String>,
    pub sees: Vec<View>,
    pub error: Option<String>,
}

/// Every replicated keyspace's replication: `{keyspace: {datacenter: factor}}` (SimpleStrategy:
/// `{replication_factor: n}`).
pub type Keyspaces = BTreeMap<String, Replication>;

/// The whole ring, datacenter by datacenter, and its keyspaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ring {
    pub datacenters: Vec<DatacenterStatus>,
    pub keyspaces: Keyspaces,
}

impl Ring {
    /// Whether every datacenter sees every datacenter with all its expected nodes Up/Normal.
    pub fn all_up(&self) -> bool {
        self.datacenters.iter().all(|from| {
            from.error.is_none()
                && self.datacenters.iter().all(|to| {
                    from.sees.iter().any(|v| {
                        v.datacenter == to.name
                            && v.nodes.up_normal as i64 >= to.expected
                            && v.nodes.down == 0
                            && v.nodes.joining == 0
                    })
                })
        })
    }

    /// The pairs (from, to) where `from` does not see all of `to` Up/Normal.
    pub fn broken_pairs(&self) -> Vec<(&DatacenterStatus, &DatacenterStatus)> {
        let mut pairs = Vec::new();
        for from in self.datacenters.iter().filter(|d| d.error.is_none()) {
            for to in &self.datacenters {
                let seen = from.sees.iter().find(|v| v.datacenter == to.name);
                if seen.is_none_or(|v| (v.nodes.up_normal as i64) < to.expected || v.nodes.down > 0) {
                    pairs.push((from, to));
                }
            }
        }
        pairs
    }
}

impl KubeProvider {
    /// Asks each datacenter what it sees of the ring. A datacenter that cannot be asked (no
    /// Ready pod, an API error) says why instead; the others are still asked.
    pub async fn ring(&self, datacenters: &[Datacenter]) -> Ring {
        let mut statuses = Vec::new();
        let mut keyspaces = Keyspaces::new();
        for dc in datacenters {
            // The schema is the ring's: the first datacenter that answers tells it.
            let (asked, sees, error) = match self.ask(dc, keyspaces.is_empty()).await {
                Ok((pod, sees, schema)) => {
                    if keyspaces.is_empty() {
                        keyspaces = schema;
                    }
                    (Some(pod), sees, None)
                }
                Err(e) => (None, Vec::new(), Some(e.to_string())),
            };
            statuses.push(DatacenterStatus {
                name: dc.name.clone(),
                cluster: dc.cluster.clone(),
                expected: dc.size,
                asked,
                sees,
                error,
            });
        }
        Ring { datacenters: statuses, keyspaces }
    }

    /// What a Ready pod of `dc` sees of the ring, and (when `keyspaces`) the keyspaces'
    /// replication.
    async fn ask(&self, dc: &Datacenter, keyspaces: bool) -> KubeResult<(String, Vec<View>, Keyspaces)> {
        let address = ringform_core::Address::new(ringform_schema::kubernetes::CASSANDRA_DATACENTER, &dc.name)
            .map_err(|e| ProviderError::fatal(e.to_string()))?;
        let cluster = self.cluster(&address, &dc.access).await?;
        let node = Node::of(&cluster, &dc.namespace, &dc.name).await?;
        let views = views(&node.endpoints().await?);
        let keyspaces = if keyspaces { node.keyspaces().await? } else { Keyspaces::new() };
        Ok((node.pod, views, keyspaces))
    }
}

/// The gossip endpoint states of a Management API answer, counted per datacenter and rack.
pub fn views(answer: &serde_json::Value) -> Vec<View> {
    let mut views: BTreeMap<String, View> = BTreeMap::new();
    for endpoint in answer["entity"].as_array().into_iter().flatten() {
        let text = |key: &str| endpoint[key].as_str().unwrap_or_default();
        let alive = text("IS_ALIVE") == "true";
        let status = text("STATUS").split(',').next().unwrap_or_default();
        let dc = text("DC").to_owned();
        let view = views.entry(dc.clone()).or_insert_with(|| View {
            datacenter: dc,
            nodes: Counts::default(),
            racks: BTreeMap::new(),
        });
        let rack = view.racks.entry(text("RACK").to_owned()).or_default();
        for counts in [&mut view.nodes, rack] {
            match (alive, status) {
                (true, "NORMAL") => counts.up_normal += 1,
                (true, "BOOT" | "JOINING" | "BOOT_REPLACE") => counts.joining += 1,
                _ => counts.down += 1,
            }
        }
    }
    views.into_values().collect()
}

/// The inputs giving a datacenter's cluster access, taken from `records` (any record whose
/// inputs name that cluster and how to reach it).
pub fn access_of<'a>(cluster: &str, mut records: impl Iterator<Item = &'a Attributes>) -> Option<Attributes> {
    records
        .find(|inputs| {
            inputs.get("cluster").and_then(|v| v.as_str()) == Some(cluster) && inputs.contains_key("kubernetes")
        })
        .map(|inputs| {
            let mut access = Attributes::new();
            for key in ["cluster", "kubernetes"] {
                if let Some(value) = inputs.get(key) {
                    access.insert(key.to_owned(), value.clone());
                }
            }
            access
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(dc: &str, rack: &str, alive: bool, status: &str) -> serde_json::Value {
        serde_json::json!({"DC": dc, "RACK": rack, "IS_ALIVE": alive.to_string(), "STATUS": format!("{status},123")})
    }

    #[test]
    fn endpoints_are_counted_per_datacenter_and_rack_as_nodetool_would() {
        let answer = serde_json::json!({"entity": [
            endpoint("dc1", "r1", true, "NORMAL"),
            endpoint("dc1", "r2", true, "NORMAL"),
            endpoint("dc2", "r1", true, "JOINING"),
            endpoint("dc2", "r1", false, "NORMAL"),
        ]});
        let views = views(&answer);
        assert_eq!(views[0].datacenter, "dc1");
        assert_eq!(views[0].nodes, Counts { up_normal: 2, joining: 0, down: 0 });
        assert_eq!(views[1].nodes, Counts { up_normal: 0, joining: 1, down: 1 });
        assert_eq!(views[1].racks["r1"], Counts { up_normal: 0, joining: 1, down: 1 });

        let dc = |name: &str, sees: Vec<View>| DatacenterStatus {
            name: name.into(),
            cluster: "c".into(),
            expected: 2,
            asked: Some("p".into()),
            sees,
            error: None,
        };
        let ring = Ring { datacenters: vec![dc("dc1", views.clone()), dc("dc2", views)], keyspaces: Keyspaces::new() };
        assert!(!ring.all_up());
        let broken: Vec<(&str, &str)> =
            ring.broken_pairs().iter().map(|(a, b)| (a.name.as_str(), b.name.as_str())).collect();
        assert_eq!(broken, [("dc1", "dc2"), ("dc2", "dc2")]);
    }
}
