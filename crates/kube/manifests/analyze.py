#!/usr/bin/env python3
"""Summarise rendered manifests: objects.txt table + facts (JSON-ish text) for PROVENANCE.md.
Usage: analyze.py OUTDIR  (reads the four rendered files, writes OUTDIR/objects.txt, prints facts)"""
import collections, hashlib, json, os, sys
import yaml

CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
                  "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ClusterIssuer",
                  "PriorityClass", "StorageClass", "APIService"}

FILES = ["cert-manager-v1.20.3.yaml", "k8ssandra-operator-v1.32.5-control-plane.yaml",
         "k8ssandra-operator-v1.32.5-data-plane.yaml", "cass-operator-v1.32.0-cluster.yaml"]


def walk_ns(obj, path=""):
    """yield (path, value) of every key named 'namespace' anywhere in obj."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{path}.{k}" if path else k
            if k == "namespace" and not isinstance(v, (dict, list)):
                yield p, v
            yield from walk_ns(v, p)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk_ns(v, f"{path}[{i}]")


def main(outdir):
    table = ["# Objects in file order. namespace = metadata.namespace exactly as written ('-' = absent).",
             "# Some cluster-scoped objects (ClusterRole/ClusterRoleBinding) carry one; the API server ignores it.", ""]
    facts = {}
    for fn in FILES:
        path = os.path.join(outdir, fn)
        raw = open(path, "rb").read()
        docs = [d for d in yaml.safe_load_all(raw) if d]
        f = facts[fn] = {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw), "objects": len(docs)}
        table.append(f"## {fn}  ({len(docs)} objects, sha256 {f['sha256']})")
        table.append(f"{'apiVersion':<40} {'kind':<32} {'namespace':<20} name")
        kinds = collections.Counter()
        nss = collections.Counter()
        f["crds"], f["webhooks"], f["certs"], f["deployments"], f["clusterroles"] = [], [], [], [], []
        f["roles"], f["nsfields_in_cluster_scoped"], f["images"], f["cluster_scoped_with_metadata_ns"] = [], [], [], []
        f["bindings"] = []
        for d in docs:
            md = d.get("metadata", {}) or {}
            kind, name, ns = d.get("kind"), md.get("name"), md.get("namespace", "")
            table.append(f"{d.get('apiVersion'):<40} {kind:<32} {ns or '-':<20} {name}")
            kinds[(d.get("apiVersion"), kind)] += 1
            if ns:
                nss[ns] += 1
            if kind in CLUSTER_SCOPED:
                if ns:
                    f["cluster_scoped_with_metadata_ns"].append(f"{kind}/{name} metadata.namespace={ns}")
                for p, v in walk_ns(d):
                    if p != "metadata.namespace":
                        f["nsfields_in_cluster_scoped"].append(f"{kind}/{name}: {p}={v}")
            if kind == "CustomResourceDefinition":
                s = d["spec"]
                f["crds"].append({"name": name, "scope": s.get("scope"),
                                  "served": [v["name"] + ("*" if v.get("storage") else "") for v in s["versions"] if v.get("served")],
                                  "not_served": [v["name"] for v in s["versions"] if not v.get("served")],
                                  "conversion": (s.get("conversion") or {}).get("strategy"),
                                  "conv_svc": ((((s.get("conversion") or {}).get("webhook") or {}).get("clientConfig") or {}).get("service")),
                                  "inject_ca": (md.get("annotations") or {}).get("cert-manager.io/inject-ca-from")})
            if kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
                f["webhooks"].append({"kind": kind, "name": name,
                                      "annotations": {k: v for k, v in (md.get("annotations") or {}).items()},
                                      "hooks": [(w["name"], w["clientConfig"].get("service"), w.get("failurePolicy"))
                                                for w in d.get("webhooks", [])]})
            if d.get("apiVersion", "").startswith("cert-manager.io"):
                f["certs"].append({"kind": kind, "ns": ns, "name": name, "spec": d.get("spec"),
                                   "annotations": md.get("annotations")})
            if kind == "Deployment":
                pod = d["spec"]["template"]["spec"]
                f["deployments"].append({
                    "name": name, "ns": ns, "serviceAccount": pod.get("serviceAccountName"),
                    "containers": [{"name": c["name"], "image": c.get("image"), "args": c.get("args"),
                                    "command": c.get("command"),
                                    "env": [(e["name"], e.get("value", None) if "value" in e else {"valueFrom": e.get("valueFrom")})
                                            for e in c.get("env", [])]}
                                   for c in pod.get("containers", [])]})
            if kind == "ClusterRole":
                f["clusterroles"].append(name)
            if kind == "Role":
                f["roles"].append(f"{ns}/{name}")
            if kind in ("ClusterRoleBinding", "RoleBinding"):
                f["bindings"].append({"kind": kind, "ns": ns, "name": name, "roleRef": d["roleRef"],
                                      "subjects": d.get("subjects")})
            if kind == "ConfigMap":
                f.setdefault("configmaps", []).append({"ns": ns, "name": name, "data": d.get("data")})
        f["kinds"] = [f"{a} {k}: {n}" for (a, k), n in kinds.items()]
        f["namespaces"] = dict(nss)
        table.append("")
    open(os.path.join(outdir, "objects.txt"), "w").write("\n".join(table))
    json.dump(facts, sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out")
