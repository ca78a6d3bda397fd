//! Turns a request path into what it addresses. ARM paths are case-insensitive: keywords and
//! names are matched ignoring case, and ids are built with ARM's canonical spelling of the
//! keywords and types, and the names as the caller wrote them.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::errors::ArmError;
use super::kinds::{self, Kind};

/// One resource addressed by a path.
#[derive(Clone, Debug)]
pub(super) struct Target {
    pub kind: Kind,
    pub id: String,
    pub name: String,
    pub subscription: String,
    pub group: String,
    /// The parent resource's id, for child resources (peerings, agent pools).
    pub parent: Option<String>,
}

impl Target {
    fn group(subscription: &str, group: &str) -> Target {
        Target {
            kind: Kind::ResourceGroup,
            id: group_id(subscription, group),
            name: group.to_string(),
            subscription: subscription.to_string(),
            group: group.to_string(),
            parent: None,
        }
    }

    fn top(subscription: &str, group: &str, kind: Kind, name: &str) -> Target {
        let id = format!("{}/providers/{}/{}", group_id(subscription, group), kind.type_name(), name);
        Target { kind, id, name: name.to_string(), ..Target::group(subscription, group) }
    }

    fn child(parent: Target, kind: Kind, name: &str) -> Target {
        let id = format!("{}/{}/{}", parent.id, kind.child_path(), name);
        Target { kind, id, name: name.to_string(), parent: Some(parent.id.clone()), ..parent }
    }

    /// The store key: ids are case-insensitive.
    pub fn key(&self) -> String {
        self.id.to_ascii_lowercase()
    }

    pub fn group_key(&self) -> String {
        group_id(&self.subscription, &self.group).to_ascii_lowercase()
    }
}

pub(super) fn group_id(subscription: &str, group: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{group}")
}

/// What a list request enumerates; each holds the lower-case id prefix its members share.
#[derive(Clone, Debug)]
pub(super) enum ListScope {
    Groups {
        subscription: String,
    },
    Subscription {
        subscription: String,
        kind: Kind,
    },
    Group {
        group: Target,
        kind: Kind,
    },
    /// The children of one kind under a resource: a network's peerings, a cluster's pools, the
    /// role assignments on a scope.
    Children {
        parent: Target,
        kind: Kind,
    },
}

impl ListScope {
    pub fn kind(&self) -> Kind {
        match self {
            ListScope::Groups { .. } => Kind::ResourceGroup,
            ListScope::Subscription { kind, .. } | ListScope::Group { kind, .. } | ListScope::Children { kind, .. } => {
                *kind
            }
        }
    }

    pub fn prefix(&self) -> String {
        match self {
            ListScope::Groups { subscription } | ListScope::Subscription { subscription, .. } => {
                format!("/subscriptions/{}/", subscription.to_ascii_lowercase())
            }
            ListScope::Group { group, .. } => format!("{}/providers/", group.key()),
            ListScope::Children { parent, kind } => {
                format!("{}/{}/", parent.key(), kind.child_path().to_ascii_lowercase())
            }
        }
    }
}

#[derive(Clone, Debug)]
pub(super) enum Route {
    Resource(Target),
    List(ListScope),
    /// `GET …/connections/{name}/sharedkey`.
    SharedKey(Target),
    /// `POST …/managedClusters/{name}/listClusterAdminCredential`.
    AdminCredential(Target),
    /// An async operation (`…/operations/{id}`) or its result (`…/operationResults/{id}`).
    Operation {
        id: String,
        result: bool,
    },
}

impl Route {
    /// The type whose api-version the request must carry; `None` for operation URLs, which accept
    /// the version they were handed out with.
    pub fn kind(&self) -> Option<Kind> {
        match self {
            Route::Resource(t) | Route::SharedKey(t) | Route::AdminCredential(t) => Some(t.kind),
            Route::List(scope) => Some(scope.kind()),
            Route::Operation { .. } => None,
        }
    }
}

fn is(segment: &str, keyword: &str) -> bool {
    segment.eq_ignore_ascii_case(keyword)
}

pub(super) fn parse(path: &str) -> Result<Route, ArmError> {
    let segments: Vec<String> =
        path.trim_matches('/').split('/').map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned()).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let unknown = || ArmError::not_found("NotFound", format!("The fake ARM serves no resource at '{path}'."));
    if let Some(route) = role_assignments(&segments)? {
        return Ok(route);
    }
    let [sub_kw, sub, rest @ ..] = segments.as_slice() else { return Err(unknown()) };
    if !is(sub_kw, "subscriptions") || sub.is_empty() || rest.iter().any(|s| s.is_empty()) {
        return Err(unknown());
    }
    let route = match rest {
        [rg_kw] if is(rg_kw, "resourcegroups") => Route::List(ListScope::Groups { subscription: sub.to_string() }),
        [rg_kw, rg] if is(rg_kw, "resourcegroups") => Route::Resource(Target::group(sub, rg)),
        [rg_kw, rg, p, ns, ty, tail @ ..] if is(rg_kw, "resourcegroups") && is(p, "providers") => {
            in_group(sub, rg, ns, ty, tail)?
        }
        [p, ns, ty] if is(p, "providers") => {
            Route::List(ListScope::Subscription { subscription: sub.to_string(), kind: Kind::from_provider(ns, ty)? })
        }
        [p, _ns, loc, _location, ops, id] if is(p, "providers") && is(loc, "locations") => {
            let result = is(ops, "operationResults");
            if !result && !is(ops, "operations") {
                return Err(unknown());
            }
            Route::Operation { id: id.to_ascii_lowercase(), result }
        }
        _ => return Err(unknown()),
    };
    Ok(route)
}

/// `{scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]`, where the scope is a
/// resource group or any resource in one; `None` for other paths.
fn role_assignments(segments: &[&str]) -> Result<Option<Route>, ArmError> {
    let kind = Kind::RoleAssignment;
    let at = segments
        .windows(3)
        .rposition(|w| is(w[0], "providers") && is(w[1], kinds::AUTHORIZATION) && is(w[2], kind.key()));
    let Some(at) = at.filter(|at| segments.len() - at <= 4) else { return Ok(None) };
    let scope = match parse(&segments[..at].join("/")) {
        Ok(Route::Resource(scope)) => scope,
        _ => {
            return Err(ArmError::bad_request(
                "InvalidScope",
                "The fake ARM serves role assignments on resource groups and resources in them only.",
            ));
        }
    };
    Ok(Some(match segments.get(at + 3) {
        Some(name) => Route::Resource(Target::child(scope, kind, name)),
        None => Route::List(ListScope::Children { parent: scope, kind }),
    }))
}

fn in_group(sub: &str, rg: &str, ns: &str, ty: &str, tail: &[&str]) -> Result<Route, ArmError> {
    let kind = Kind::from_provider(ns, ty)?;
    let top = |name: &str| Target::top(sub, rg, kind, name);
    let child = match tail {
        [_, segment, ..] => kind.child(segment),
        _ => None,
    };
    let route = match (kind, tail, child) {
        (_, [], _) => Route::List(ListScope::Group { group: Target::group(sub, rg), kind }),
        (_, [name], _) => Route::Resource(top(name)),
        (Kind::Connection, [name, action], _) if is(action, "sharedkey") => Route::SharedKey(top(name)),
        (Kind::ManagedCluster, [name, action], _) if is(action, "listClusterAdminCredential") => {
            Route::AdminCredential(top(name))
        }
        (_, [parent, _], Some(child)) => Route::List(ListScope::Children { parent: top(parent), kind: child }),
        (_, [parent, _, name], Some(child)) => Route::Resource(Target::child(top(parent), child, name)),
        (_, [_, segment, ..], _) => return Err(kinds::invalid_type(ns, &format!("{ty}/{segment}"))),
    };
    Ok(route)
}

/// Encodes a query value for the links the fake hands out (everything but RFC 3986's
/// unreserved characters).
pub(super) fn percent_encode(text: &str) -> String {
    const RESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    utf8_percent_encode(text, RESERVED).to_string()
}
