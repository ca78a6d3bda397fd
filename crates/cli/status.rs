//! `ringform status`: which datacenters state says were made, each asked what it sees of the
//! ring, printed per datacenter; where one does not see another, the network objects ringform
//! built between their clusters are named, so the user knows where to look.

use std::time::{Duration, Instant};

use ringform_core::{Attributes, Inputs, Value};
use ringform_kube::status::{Datacenter, Ring, access_of};
use ringform_kube::{KubeProvider, KubeSettings};
use ringform_schema::kubernetes;
use ringform_state::Snapshot;

use crate::args::StatusArgs;
use crate::commands::print;
use crate::load::Loaded;
use crate::place::Place;
use crate::{Exit, Failure};

/// How often `--wait` asks again.
const ASK_EVERY: Duration = Duration::from_secs(5);

pub fn status(args: &StatusArgs) -> Result<Exit, Failure> {
    let loaded = Loaded::read(&args.topology.topology)?;
    let state = Place::of(&loaded, args.state.state.as_deref())?.read_snapshot("status")?;
    let datacenters = datacenters(&state)?;
    if datacenters.is_empty() {
        return Err(Failure::new("no Cassandra datacenter of this deployment has been applied yet")
            .hint(format!("run `ringform apply {}` first", loaded.path.display())));
    }
    let wait = args.wait.as_deref().map(duration).transpose()?;
    let provider = KubeProvider::new(KubeSettings::from_env());
    let runtime = crate::run::runtime()?;
    let start = Instant::now();
    let ring = loop {
        let ring = runtime.block_on(provider.ring(&datacenters));
        match wait {
            Some(limit) if !ring.all_up() && start.elapsed() + ASK_EVERY < limit => std::thread::sleep(ASK_EVERY),
            _ => break ring,
        }
    };
    let not_rebuilt = not_rebuilt(&loaded, &state);
    if args.json {
        let json = serde_json::json!({
            "all_up_normal": ring.all_up(),
            "datacenters": ring.datacenters,
            "keyspaces": ring.keyspaces,
            "not_rebuilt": not_rebuilt
                .iter()
                .map(|d| serde_json::json!({"datacenter": d.datacenter, "source": d.source}))
                .collect::<Vec<_>>(),
        });
        print(&format!("{json:#}\n"))?;
    } else {
        let mut out = text(&ring, &state);
        for dc in &not_rebuilt {
            out.push_str(&format!(
                "{} has not been rebuilt from {} yet: its nodes hold only what was written since it joined; \
                 `ringform apply` streams the rest.\n",
                dc.datacenter, dc.source
            ));
        }
        print(&out)?;
    }
    Ok(if ring.all_up() && not_rebuilt.is_empty() { Exit::Success } else { Exit::Changes })
}

/// A datacenter the topology has rebuilt from another, which state does not record as done.
struct NotRebuilt {
    datacenter: String,
    source: String,
}

fn not_rebuilt(loaded: &Loaded, state: &Snapshot) -> Vec<NotRebuilt> {
    let rebuilds = loaded.graph.resources().filter(|r| r.address.kind() == kubernetes::REBUILD);
    rebuilds
        .filter(|r| state.get(&r.address).is_none())
        .map(|r| {
            let text = |key: &str| r.attributes.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
            NotRebuilt { datacenter: text("datacenter"), source: text("source") }
        })
        .collect()
}

/// Every datacenter state records: one CassandraDatacenter each (cass-operator), or those the
/// K8ssandraCluster lists (k8ssandra-operator: each in the cluster its context names, the
/// control plane's own when empty).
fn datacenters(state: &Snapshot) -> Result<Vec<Datacenter>, Failure> {
    let records = || state.iter().map(|r| &r.inputs);
    let mut found = Vec::new();
    for record in state.iter() {
        let inputs = Inputs::new(&record.address, &record.inputs);
        if record.kind() == kubernetes::CASSANDRA_DATACENTER {
            let cluster = inputs.str("cluster")?;
            found.push(datacenter(&inputs, cluster, access_of(cluster, records()))?);
        } else if record.kind() == kubernetes::K8SSANDRA_CLUSTER {
            let control_plane = inputs.str("cluster")?;
            for dc in inputs.list("datacenters")? {
                let Value::Map(dc) = dc else { continue };
                let dc = Inputs::new(&record.address, dc);
                let cluster = dc.opt_str("k8s_context")?.unwrap_or(control_plane);
                found.push(datacenter(&dc, cluster, access_of(cluster, records()))?);
            }
        }
    }
    Ok(found)
}

fn datacenter(dc: &Inputs<'_>, cluster: &str, access: Option<Attributes>) -> Result<Datacenter, Failure> {
    let access = access.ok_or_else(|| Failure::new(format!("state records no way to reach cluster {cluster}")))?;
    Ok(Datacenter {
        name: dc.str("name")?.to_owned(),
        namespace: dc.str("namespace")?.to_owned(),
        cluster: cluster.to_owned(),
        size: dc.int("size")?,
        access,
    })
}

fn text(ring: &Ring, state: &Snapshot) -> String {
    let mut out = String::from("The ring as each datacenter sees it (UN: Up/Normal, UJ: joining, D: down):\n");
    for dc in &ring.datacenters {
        match (&dc.error, &dc.asked) {
            (Some(error), _) => out.push_str(&format!("  {} (cluster {}): not asked: {error}\n", dc.name, dc.cluster)),
            (None, asked) => {
                let asked = asked.as_deref().unwrap_or("?");
                out.push_str(&format!("  {} (cluster {}, asked {asked}):\n", dc.name, dc.cluster));
                for to in &ring.datacenters {
                    let seen = dc.sees.iter().find(|v| v.datacenter == to.name);
                    let (un, uj, down) = seen.map_or((0, 0, 0), |v| (v.nodes.up_normal, v.nodes.joining, v.nodes.down));
                    out.push_str(&format!("    {:<20} {un}/{} UN, {uj} UJ, {down} D\n", to.name, to.expected));
                }
            }
        }
    }
    out.push_str(&keyspaces(ring));
    let broken = ring.broken_pairs();
    if ring.all_up() {
        out.push_str("Every node is Up/Normal as seen from every datacenter.\n");
        return out;
    }
    for (from, to) in broken.iter().filter(|(from, to)| from.cluster != to.cluster) {
        let path: Vec<String> = state
            .iter()
            .map(|r| r.address.to_string())
            .filter(|a| {
                a.contains(&format!("{}~{}", from.cluster, to.cluster))
                    || a.contains(&format!("{}~{}", to.cluster, from.cluster))
            })
            .collect();
        let path =
            if path.is_empty() { "no object of its own (check the mesh settings)".to_owned() } else { path.join(", ") };
        out.push_str(&format!(
            "{} does not see all of {}: between clusters {} and {} ringform built {path}; Cassandra needs 7000 (7001 with TLS), 9042 and 8080 open both ways.\n",
            from.name, to.name, from.cluster, to.cluster
        ));
    }
    out
}

/// Each keyspace's replicas per datacenter, one line each.
fn keyspaces(ring: &Ring) -> String {
    if ring.keyspaces.is_empty() {
        return String::new();
    }
    let mut out = String::from("Keyspaces (replicas per datacenter):\n");
    for (keyspace, replication) in &ring.keyspaces {
        if let Some(factor) = replication.get("replication_factor") {
            out.push_str(&format!("  {keyspace:<20} {factor} in the whole ring (SimpleStrategy)\n"));
            continue;
        }
        // Every datacenter of the ring, and any other the keyspace names, by name.
        let names: std::collections::BTreeSet<&str> =
            ring.datacenters.iter().map(|dc| dc.name.as_str()).chain(replication.keys().map(String::as_str)).collect();
        let factors: Vec<String> =
            names.iter().map(|dc| format!("{dc}: {}", replication.get(*dc).copied().unwrap_or(0))).collect();
        out.push_str(&format!("  {keyspace:<20} {}\n", factors.join(", ")));
    }
    out
}

/// `90s`, `10m`, `1h`, or plain seconds.
fn duration(text: &str) -> Result<Duration, Failure> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(n) if scale > 0 => Ok(Duration::from_secs(n * scale)),
        _ => {
            Err(Failure::new(format!("--wait {text}: not a duration"))
                .hint("give seconds, minutes or hours: 90s, 10m, 1h"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(duration("45").unwrap(), Duration::from_secs(45));
        assert!(duration("ten minutes").is_err() && duration("5d").is_err());
    }
}
