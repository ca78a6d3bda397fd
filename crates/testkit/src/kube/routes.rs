//! Turns a request path into what it addresses. Every path starts with the cluster's name:
//! `/<cluster>/api/v1/namespaces/<ns>/configmaps/<name>`, `/<cluster>/apis/apps/v1/deployments`;
//! besides resources, their `status`, and discovery, a Pod's `eviction` and `proxy`.

use percent_encoding::percent_decode_str;

use super::errors::KubeError;

/// The path of the inspection endpoint, outside every cluster.
pub(super) const OBJECTS: &str = "__objects";

/// A path under `/api/v1` or `/apis/<group>/<version>` naming a resource type.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Target {
    pub group: String,
    pub version: String,
    pub plural: String,
    /// From `/namespaces/<ns>/…`; `None` for cluster-scoped types and lists across namespaces.
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// `status`, the one subresource served.
    pub status: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Route {
    /// `GET /__objects`.
    Objects,
    /// `/<cluster>/version`.
    Version,
    /// `/<cluster>/api`.
    CoreVersions,
    /// `/<cluster>/apis`.
    Groups,
    /// `/<cluster>/apis/<group>`.
    Group(String),
    /// `/<cluster>/api/v1`, `/<cluster>/apis/<group>/<version>`.
    Resources {
        group: String,
        version: String,
    },
    /// `/<cluster>/openapi/v3`.
    OpenApiRoot,
    /// `/<cluster>/openapi/v3/api/v1`, `/<cluster>/openapi/v3/apis/<group>/<version>`.
    OpenApi {
        group: String,
        version: String,
    },
    Resource(Target),
    /// `/<cluster>/api/v1/namespaces/<ns>/pods/<pod>/eviction`.
    Eviction {
        namespace: String,
        pod: String,
    },
    /// `/<cluster>/api/v1/namespaces/<ns>/pods/<[scheme:]pod[:port]>/proxy/<path>`.
    PodProxy {
        namespace: String,
        pod: String,
        port: String,
        path: String,
    },
}

/// The cluster a path addresses (`None` for `/__objects`) and what in it.
pub(super) fn parse(path: &str) -> Result<(Option<String>, Route), KubeError> {
    let segments: Vec<String> =
        path.trim_matches('/').split('/').map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned()).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    if segments == [OBJECTS] {
        return Ok((None, Route::Objects));
    }
    let [cluster, rest @ ..] = segments.as_slice() else { return Err(KubeError::no_route()) };
    if !valid_cluster(cluster) || rest.iter().any(|s| s.is_empty()) {
        return Err(KubeError::no_route());
    }
    let route = match rest {
        ["version"] => Route::Version,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["apis", group] => Route::Group(group.to_string()),
        ["openapi", "v3"] => Route::OpenApiRoot,
        ["openapi", "v3", "api", version] => Route::OpenApi { group: String::new(), version: version.to_string() },
        ["openapi", "v3", "apis", group, version] => {
            Route::OpenApi { group: group.to_string(), version: version.to_string() }
        }
        ["api", "v1", "namespaces", namespace, "pods", target, "proxy", path @ ..] => {
            let parts: Vec<&str> = target.split(':').collect();
            let (pod, port) = match parts.as_slice() {
                [_, pod, port] | [pod, port] => (pod, port),
                _ => (target, &"80"),
            };
            Route::PodProxy {
                namespace: namespace.to_string(),
                pod: pod.to_string(),
                port: port.to_string(),
                path: path.join("/"),
            }
        }
        ["api", "v1", "namespaces", namespace, "pods", pod, "eviction"] => {
            Route::Eviction { namespace: namespace.to_string(), pod: pod.to_string() }
        }
        ["api", version, tail @ ..] => resource("", version, tail)?,
        ["apis", group, version, tail @ ..] => resource(group, version, tail)?,
        _ => return Err(KubeError::no_route()),
    };
    Ok((Some(cluster.to_string()), route))
}

fn resource(group: &str, version: &str, tail: &[&str]) -> Result<Route, KubeError> {
    let target = |namespace: Option<&str>, plural: &str, name: Option<&str>, status: bool| {
        Route::Resource(Target {
            group: group.to_string(),
            version: version.to_string(),
            plural: plural.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.map(str::to_string),
            status,
        })
    };
    let route = match tail {
        [] => Route::Resources { group: group.to_string(), version: version.to_string() },
        // `namespaces/<name>/status` is the Namespace's own status, not a type called "status".
        ["namespaces", ns, plural, rest @ ..] if *plural != "status" && *plural != "finalize" => match rest {
            [] => target(Some(ns), plural, None, false),
            [name] => target(Some(ns), plural, Some(name), false),
            [name, "status"] => target(Some(ns), plural, Some(name), true),
            _ => return Err(KubeError::no_route()),
        },
        [plural] => target(None, plural, None, false),
        [plural, name] => target(None, plural, Some(name), false),
        [plural, name, "status"] => target(None, plural, Some(name), true),
        _ => return Err(KubeError::no_route()),
    };
    Ok(route)
}

/// Cluster names are DNS labels, so they cannot collide with the fake's own paths.
pub(super) fn valid_cluster(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::{Route, parse};

    #[test]
    fn paths_name_the_cluster_first() {
        let (cluster, route) = parse("/east/api/v1/namespaces/ns/configmaps/cm/status").expect("a route");
        assert_eq!(cluster.as_deref(), Some("east"));
        let Route::Resource(t) = route else { panic!("a resource route") };
        assert_eq!(
            (t.group.as_str(), t.namespace.as_deref(), t.plural.as_str(), t.name.as_deref()),
            ("", Some("ns"), "configmaps", Some("cm"))
        );
        assert!(t.status);
        let (_, route) = parse("/east/api/v1/namespaces/ns/status").expect("a route");
        let Route::Resource(t) = route else { panic!("a resource route") };
        assert_eq!((t.plural.as_str(), t.name.as_deref(), t.status), ("namespaces", Some("ns"), true));
        assert_eq!(parse("/__objects").expect("a route"), (None, Route::Objects));
        assert!(parse("/East/api").is_err() && parse("/").is_err() && parse("/east/apis/a/b/c/d/e/f/g").is_err());
    }
}
