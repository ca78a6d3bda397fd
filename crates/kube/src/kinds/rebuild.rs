//! `cassandra_rebuild`: a datacenter's nodes stream the data it replicates from another
//! datacenter (`nodetool rebuild`), as a cass-operator CassandraTask that runs `rebuild` on
//! each node in turn and reports when all are done. The task is kept (`ttlSecondsAfterFinished`
//! 0): it is the record that the datacenter was rebuilt, which a refresh finds.

use serde_json::json;

use super::{Settle, Spec, attributes, text_at};

pub const TASK: (&str, &str) = ("control.k8ssandra.io/v1alpha1", "CassandraTask");

pub static SPEC: Spec = Spec {
    objects: |ctx| {
        let datacenter = ctx.inputs.str("datacenter")?;
        let namespace = ctx.inputs.str("namespace")?;
        Ok(vec![json!({
            "apiVersion": TASK.0,
            "kind": TASK.1,
            "metadata": {"name": format!("{datacenter}-rebuild"), "namespace": namespace},
            "spec": {
                "datacenter": {"name": datacenter, "namespace": namespace},
                "ttlSecondsAfterFinished": 0,
                "jobs": [{
                    "name": "rebuild",
                    "command": "rebuild",
                    "args": {"source_datacenter": ctx.inputs.str("source")?},
                }],
            },
        })])
    },
    marker: TASK,
    observe: |object| {
        Ok(attributes([
            ("namespace", text_at(object, "/metadata/namespace")),
            ("datacenter", text_at(object, "/spec/datacenter/name")),
            ("source", text_at(object, "/spec/jobs/0/args/source_datacenter")),
        ]))
    },
    settle: Settle::Task,
};
