//! `cassandra_keyspace` and `cassandra_system_keyspace`: a keyspace's replication kept as the topology says, through the
//! Management API of one datacenter's nodes. It is no Kubernetes object: creating and updating
//! make or alter the keyspace, reading reads its replication (a change made in `cqlsh` is
//! drift), and deleting only forgets it — ringform never drops a keyspace's data.

use ringform_core::provider::{Applied, Observed, ProviderError, Tracked};
use ringform_core::{Address, Attributes, Inputs, Value};

use ringform_schema::kubernetes;

use crate::cluster::Cluster;
use crate::error::KubeResult;
use crate::management::{Node, Replication};

/// Whether resources of `kind` are keyspaces.
pub fn is_keyspace(kind: ringform_core::Kind) -> bool {
    matches!(kind, kubernetes::KEYSPACE | kubernetes::SYSTEM_KEYSPACE)
}

/// Makes the keyspace replicate as `inputs` say and returns what was applied.
pub async fn apply(cluster: &Cluster, address: &Address, inputs: &Attributes) -> KubeResult<Applied> {
    let inputs = Inputs::new(address, inputs);
    let keyspace = inputs.str("keyspace")?;
    let wanted = replication(&inputs)?;
    let node = Node::of(cluster, inputs.str("namespace")?, inputs.str("datacenter")?).await?;
    node.ensure(keyspace, &wanted).await?;
    Ok(Applied { provider_id: provider_id(keyspace), outputs: outputs(keyspace, &wanted) })
}

/// The tracked keyspaces that exist, as the ring has them now: each asked of the datacenter it
/// records, one node found per datacenter.
pub async fn read(cluster: &Cluster, tracked: &[Tracked]) -> KubeResult<Vec<Observed>> {
    let mut nodes: Vec<((String, String), Node<'_>)> = Vec::new();
    let mut found = Vec::new();
    for resource in tracked {
        let inputs = Inputs::new(&resource.address, &resource.inputs);
        let keyspace = inputs.str("keyspace")?;
        let at = (inputs.str("namespace")?.to_owned(), inputs.str("datacenter")?.to_owned());
        let node = match nodes.iter().position(|(a, _)| *a == at) {
            Some(i) => &nodes[i].1,
            None => {
                let node = Node::of(cluster, &at.0, &at.1).await?;
                nodes.push((at, node));
                &nodes[nodes.len() - 1].1
            }
        };
        let Some(now) = node.replication(keyspace).await? else { continue };
        let mut observed = resource.inputs.clone();
        observed.insert("replication".to_owned(), as_value(&now));
        found.push(Observed {
            address: resource.address.clone(),
            provider_id: provider_id(keyspace),
            inputs: observed,
            outputs: outputs(keyspace, &now),
        });
    }
    Ok(found)
}

fn replication(inputs: &Inputs<'_>) -> KubeResult<Replication> {
    let Some(Value::Map(factors)) = inputs.attrs.get("replication") else {
        return Err(ProviderError::fatal(format!("{}: `replication` is not a map", inputs.address)));
    };
    factors
        .iter()
        .map(|(dc, factor)| {
            let factor = factor.as_int().ok_or_else(|| {
                ProviderError::fatal(format!("{}: the factor of {dc} is not a number", inputs.address))
            })?;
            Ok((dc.clone(), factor))
        })
        .collect()
}

/// A replication as an attribute value: `{datacenter: factor}`.
pub fn as_value(replication: &Replication) -> Value {
    Value::from_iter(replication.iter().map(|(dc, factor)| (dc.clone(), Value::Int(*factor))))
}

fn provider_id(keyspace: &str) -> String {
    format!("keyspace/{keyspace}")
}

fn outputs(keyspace: &str, replication: &Replication) -> Attributes {
    [("id".to_owned(), provider_id(keyspace).into()), ("replication".to_owned(), as_value(replication))].into()
}
