//! The fixtures: each type's pinned api-version and its PUT-body JSON Schema (draft 2020-12),
//! compiled once per process and fixtures directory. Agent pools have no fixture of their own:
//! their schema is derived from the managed cluster's (see [`agent_pool_schema`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::{Value, json};

use super::FakeArmError;
use super::errors::{ArmError, Detail};
use super::kinds::Kind;

/// At most this many schema violations are listed in `error.details`.
const MAX_DETAILS: usize = 20;

pub(super) struct Catalog {
    versions: HashMap<Kind, String>,
    validators: HashMap<Kind, Validator>,
}

impl Catalog {
    /// Loads `<fixtures>/arm/`; compiling the schemas takes a moment, so the result is
    /// shared by every server started from the same directory.
    pub fn load(fixtures: &Path) -> Result<Arc<Catalog>, FakeArmError> {
        static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Catalog>>>> = OnceLock::new();
        let dir = fixtures.join("arm");
        let cache = CACHE.get_or_init(Default::default);
        if let Some(catalog) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&dir) {
            return Ok(catalog.clone());
        }
        if !dir.join("api-versions.json").is_file() {
            return Err(FakeArmError::FixturesMissing { path: dir });
        }
        let catalog = Arc::new(Catalog::read(&dir)?);
        cache.lock().unwrap_or_else(|e| e.into_inner()).insert(dir, catalog.clone());
        Ok(catalog)
    }

    fn read(dir: &Path) -> Result<Catalog, FakeArmError> {
        let versions_path = dir.join("api-versions.json");
        let versions_json = read_json(&versions_path)?;
        let mut versions = HashMap::new();
        let mut validators = HashMap::new();
        for kind in Kind::ALL {
            let fixture = kind.fixture().key();
            let listed = versions_json["apiVersions"][fixture].as_str();
            let version = kind.own_api_version().or(listed).ok_or_else(|| FakeArmError::Fixture {
                path: versions_path.clone(),
                message: format!("no api-version for {fixture}"),
            })?;
            versions.insert(kind, version.to_string());
            let schema_path = dir.join(format!("{fixture}.schema.json"));
            let mut schema = read_json(&schema_path)?;
            if kind == Kind::AgentPool {
                schema = agent_pool_schema(&schema);
            }
            let validator = jsonschema::draft202012::new(&schema)
                .map_err(|e| FakeArmError::Fixture { path: schema_path, message: e.to_string() })?;
            validators.insert(kind, validator);
        }
        Ok(Catalog { versions, validators })
    }

    pub fn api_version(&self, kind: Kind) -> &str {
        &self.versions[&kind]
    }

    /// Checks a PUT body against the type's schema, answering as ARM does for a body that does
    /// not fit the API's model.
    pub fn validate(&self, kind: Kind, body: &Value) -> Result<(), ArmError> {
        let details: Vec<Detail> = self.validators[&kind].iter_errors(body).take(MAX_DETAILS).map(detail).collect();
        let Some(first) = details.first() else { return Ok(()) };
        let message = format!(
            "The request content was invalid and cannot be deserialized: {} at '{}' ({} problem(s), see details).",
            first.message,
            first.target,
            details.len()
        );
        Err(ArmError::bad_request("InvalidRequestContent", message).with_details(details))
    }
}

/// The definition of a pool's properties inside the managed-cluster schema.
const POOL_PROPERTIES: &str = "managedClusters.ManagedClusterAgentPoolProfileProperties";

/// The body of the agent pools API, `{"properties": {...}}`, whose properties are those of a
/// cluster's pool profile less the name: checked against that definition in the cluster schema's
/// `$defs` when it is there, and always against the essentials, with the limits the API states
/// but its spec does not encode (0 to 1000 nodes, at least 1 in a System pool).
pub(super) fn agent_pool_schema(cluster: &Value) -> Value {
    let defs = cluster.get("$defs").filter(|defs| defs.get(POOL_PROPERTIES).is_some());
    let mut properties = json!({
        "type": "object",
        "properties": {
            "count": { "type": "integer", "minimum": 0, "maximum": 1000 },
            "vmSize": { "type": "string" }
        },
        "if": { "properties": { "mode": { "const": "System" } }, "required": ["mode"] },
        "then": { "properties": { "count": { "minimum": 1 } } }
    });
    if defs.is_some() {
        properties["$ref"] = format!("#/$defs/{POOL_PROPERTIES}").into();
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": defs.cloned().unwrap_or_else(|| json!({})),
        "type": "object",
        "required": ["properties"],
        "properties": { "properties": properties }
    })
}

fn detail(error: ValidationError<'_>) -> Detail {
    let path = error.instance_path().to_string();
    let (code, target) = match error.kind() {
        // The instance path names the object; point at the property that is missing.
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().map_or_else(|| property.to_string(), str::to_string);
            ("MissingRequiredProperty", format!("{path}/{name}"))
        }
        ValidationErrorKind::Type { .. } => ("InvalidPropertyType", path),
        ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. } => ("InvalidEnumValue", path),
        _ => ("InvalidPropertyValue", path),
    };
    Detail { code: code.to_string(), target, message: shorten(error.to_string()) }
}

/// Messages quote the offending value, which can be a whole object.
fn shorten(message: String) -> String {
    const LIMIT: usize = 300;
    match message.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message,
    }
}

fn read_json(path: &Path) -> Result<Value, FakeArmError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FakeArmError::Fixture { path: path.to_path_buf(), message: e.to_string() })?;
    serde_json::from_str(&text).map_err(|e| FakeArmError::Fixture { path: path.to_path_buf(), message: e.to_string() })
}
