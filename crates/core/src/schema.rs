//! What a provider declares about each of its kinds, the way OpenTofu providers answer a schema
//! request: the attributes it takes and returns, which of them force replacement, which are
//! secret, how two values of one compare, where calls about an object go, and roughly how long
//! its operations take. The planner, the engine and the coverage tests read this instead of
//! knowing any provider's kinds themselves.
//!
//! Schemas are `static` data built with `const fn`s:
//!
//! ```
//! use ringform_core::schema::{KindSchema, ProviderSchema, input, output, minutes};
//! use ringform_core::{Kind, Provider};
//!
//! pub const VPC: Kind = Kind::new("example_vpc");
//! pub static SCHEMA: ProviderSchema = ProviderSchema {
//!     provider: Provider::Aws,
//!     kinds: &[KindSchema::new(VPC)
//!         .inputs(&[input("region").required().replaces(), input("cidr_block").required().replaces()])
//!         .outputs(&[output("id")])
//!         .region_from("region")
//!         .takes(minutes(1))],
//! };
//! assert!(SCHEMA.kinds[0].forces_replacement("cidr_block"));
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use crate::provider::Scope;
use crate::{Address, Attributes, Kind, Provider, Value};

/// Every kind one provider implements.
#[derive(Debug)]
pub struct ProviderSchema {
    pub provider: Provider,
    pub kinds: &'static [KindSchema],
}

impl ProviderSchema {
    pub fn kind(&self, kind: Kind) -> Option<&KindSchema> {
        self.kinds.iter().find(|k| k.kind == kind)
    }
}

/// How two values of an attribute are compared when deciding whether it changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Equal values only.
    Exact,
    /// Strings that differ only in ASCII case are the same (ARM resource ids).
    CaseInsensitive,
    /// Strings that differ only in ASCII case and spaces are the same (Azure locations: ARM
    /// takes `East US` and answers `eastus`).
    IgnoringCaseAndSpaces,
    /// A list whose order carries no meaning (subnet ids, address ranges): the same items, each
    /// as many times, in any order.
    Unordered,
}

/// A constraint the cloud's API documents for an attribute's value, checked on every resource
/// of the graph before any cloud call, so a create is never refused for a reason the topology
/// alone shows. A list value is checked item by item; values not known yet are not checked.
#[derive(Clone, Copy, Debug)]
pub enum Rule {
    /// Between `min` and `max` characters.
    Length { min: usize, max: usize },
    /// Every character passes `test`; `allowed` says which those are, for messages.
    Chars { test: fn(char) -> bool, allowed: &'static str },
    /// The first and last characters pass `test`.
    Ends { test: fn(char) -> bool, what: &'static str },
    /// Must not start with this (`sg-` for security group names).
    NotPrefixed(&'static str),
    /// One of these values (regions that exist).
    OneOf { values: &'static [&'static str], what: &'static str },
    /// An integer in `min..=max`.
    Range { min: i64, max: i64 },
    /// An IPv4 range whose prefix length is in `prefix`, inside one of `within` when that is not
    /// empty, and overlapping none of `reserved`.
    Cidr { prefix: (u8, u8), within: &'static [&'static str], reserved: &'static [&'static str] },
    /// Anything else, with what it requires for messages.
    Check { check: fn(&str) -> bool, requires: &'static str },
}

impl Rule {
    /// Why `value` breaks this rule, or `None` if it does not.
    pub fn violation(&self, value: &Value) -> Option<String> {
        match (self, value) {
            (_, Value::List(items)) => items.iter().find_map(|item| self.violation(item)),
            (_, Value::Secret(inner)) => self.violation(inner).map(|_| "a secret value breaks a rule".to_owned()),
            (Rule::Range { min, max }, Value::Int(i)) => {
                (!(min..=max).contains(&i)).then(|| format!("{i} is outside {min}..={max}"))
            }
            (_, Value::String(text)) => self.text_violation(text),
            _ => None,
        }
    }

    fn text_violation(&self, text: &str) -> Option<String> {
        match *self {
            Rule::Length { min, max } => {
                let length = text.chars().count();
                (!(min..=max).contains(&length))
                    .then(|| format!("`{text}` is {length} characters long; it may be {min} to {max}"))
            }
            Rule::Chars { test, allowed } => text
                .chars()
                .find(|c| !test(*c))
                .map(|c| format!("`{text}` contains `{c}`; it may contain only {allowed}")),
            Rule::Ends { test, what } => {
                let ends = [text.chars().next(), text.chars().last()];
                ends.iter().flatten().any(|c| !test(*c)).then(|| format!("`{text}` must start and end with {what}"))
            }
            Rule::NotPrefixed(prefix) => {
                text.starts_with(prefix).then(|| format!("`{text}` may not start with `{prefix}`"))
            }
            Rule::OneOf { values, what } => (!values.contains(&text)).then(|| format!("`{text}` is not {what}")),
            Rule::Range { .. } => Some(format!("`{text}` is not an integer")),
            Rule::Cidr { prefix, within, reserved } => cidr_violation(text, prefix, within, reserved),
            Rule::Check { check, requires } => (!check(text)).then(|| format!("`{text}` {requires}")),
        }
    }
}

/// An IPv4 network as (first address, prefix length), from `a.b.c.d/n`.
pub fn parse_ipv4_cidr(text: &str) -> Option<(u32, u8)> {
    let (address, prefix) = text.split_once('/')?;
    let address: std::net::Ipv4Addr = address.parse().ok()?;
    let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    Some((u32::from(address) & mask, prefix))
}

fn contains(outer: (u32, u8), inner: (u32, u8)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(outer.1)).unwrap_or(0);
    outer.1 <= inner.1 && inner.0 & mask == outer.0
}

fn cidr_violation(text: &str, prefix: (u8, u8), within: &[&str], reserved: &[&str]) -> Option<String> {
    let Some(network) = parse_ipv4_cidr(text) else { return Some(format!("`{text}` is not an IPv4 range")) };
    if !(prefix.0..=prefix.1).contains(&network.1) {
        return Some(format!("`{text}` is a /{}; it must be between /{} and /{}", network.1, prefix.0, prefix.1));
    }
    let parsed = |ranges: &[&str]| ranges.iter().filter_map(|r| parse_ipv4_cidr(r)).collect::<Vec<_>>();
    if !within.is_empty() && !parsed(within).into_iter().any(|outer| contains(outer, network)) {
        return Some(format!("`{text}` must lie within {}", within.join(", ")));
    }
    let overlapping =
        reserved.iter().zip(parsed(reserved)).find(|(_, r)| contains(*r, network) || contains(network, *r));
    overlapping.map(|(range, _)| format!("`{text}` overlaps {range}, which is reserved"))
}

/// One input or output attribute of a kind.
#[derive(Clone, Copy, Debug)]
pub struct Attribute {
    pub name: &'static str,
    /// Must be present and not null (inputs only).
    pub required: bool,
    /// A change cannot be applied in place: the object is deleted and created again.
    pub replaces: bool,
    /// Never shown: wrapped as [`Value::Secret`] wherever it is held.
    pub secret: bool,
    pub compare: Compare,
    /// What the cloud's API documents the value must be.
    pub rules: &'static [Rule],
}

/// An optional input attribute, compared exactly; refine it with the builder methods.
pub const fn input(name: &'static str) -> Attribute {
    Attribute { name, required: false, replaces: false, secret: false, compare: Compare::Exact, rules: &[] }
}

/// An output attribute.
pub const fn output(name: &'static str) -> Attribute {
    input(name)
}

impl Attribute {
    pub const fn required(self) -> Attribute {
        Attribute { required: true, ..self }
    }

    pub const fn replaces(self) -> Attribute {
        Attribute { replaces: true, ..self }
    }

    pub const fn secret(self) -> Attribute {
        Attribute { secret: true, ..self }
    }

    pub const fn case_insensitive(self) -> Attribute {
        Attribute { compare: Compare::CaseInsensitive, ..self }
    }

    pub const fn ignoring_case_and_spaces(self) -> Attribute {
        Attribute { compare: Compare::IgnoringCaseAndSpaces, ..self }
    }

    pub const fn unordered(self) -> Attribute {
        Attribute { compare: Compare::Unordered, ..self }
    }

    pub const fn rules(self, rules: &'static [Rule]) -> Attribute {
        Attribute { rules, ..self }
    }

    /// Why `value` does not fit this attribute's rules, one sentence per broken rule.
    pub fn violations(&self, value: &Value) -> Vec<String> {
        self.rules.iter().filter_map(|rule| rule.violation(value)).collect()
    }

    /// Whether `a` and `b` are the same value under this attribute's comparison. Being secret
    /// is not a difference: a value compares by what it holds.
    pub fn same(&self, a: &Value, b: &Value) -> bool {
        match (self.compare, a, b) {
            (_, Value::Secret(a), b) | (_, b, Value::Secret(a)) => self.same(a, b),
            (Compare::CaseInsensitive, Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
            (Compare::IgnoringCaseAndSpaces, Value::String(a), Value::String(b)) => {
                fn folded(s: &str) -> impl Iterator<Item = u8> + '_ {
                    s.bytes().filter(|b| !b.is_ascii_whitespace()).map(|b| b.to_ascii_lowercase())
                }
                folded(a).eq(folded(b))
            }
            (Compare::Unordered, Value::List(a), Value::List(b)) => {
                let mut unmatched: Vec<&Value> = b.iter().collect();
                a.len() == b.len()
                    && a.iter().all(|x| {
                        // A value not known yet may turn out different: never the same.
                        let at = unmatched.iter().position(|y| x.is_known() && equal_ignoring_secrecy(x, y));
                        at.map(|i| unmatched.swap_remove(i)).is_some()
                    })
            }
            _ => equal_ignoring_secrecy(a, b),
        }
    }
}

/// Equal values, secrecy aside at any depth (a Secret's `data` map holds secret entries).
fn equal_ignoring_secrecy(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Secret(a), b) | (b, Value::Secret(a)) => equal_ignoring_secrecy(a, b),
        (Value::List(a), Value::List(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| equal_ignoring_secrecy(a, b))
        }
        (Value::Map(a), Value::Map(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|((ka, a), (kb, b))| ka == kb && equal_ignoring_secrecy(a, b))
        }
        _ => a == b,
    }
}

/// Rough wall-clock times of a kind's operations in a real cloud, used only to start the
/// operations on the longest remaining chain first (a 45-minute VPN gateway before a route).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Durations {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

pub const fn seconds(s: u64) -> Durations {
    let d = Duration::from_secs(s);
    Durations { create: d, update: d, delete: d }
}

pub const fn minutes(m: u64) -> Durations {
    seconds(m * 60)
}

/// Which inputs name the account (subscription, cluster) and region calls about an object go
/// to: the unit of rate limiting and of batched reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScopeRule {
    pub account: Option<&'static str>,
    pub region: Option<&'static str>,
}

/// A cloud's default limit on how many objects of a kind one thing may hold (VPCs per region,
/// routes per route table). A topology that raised it says so in its `[quotas]` table.
#[derive(Clone, Copy, Debug)]
pub struct Quota {
    /// How a topology raises it: `[quotas] aws_vpcs_per_region = 10`.
    pub key: &'static str,
    /// The cloud's name for it, to ask for a raise with.
    pub name: &'static str,
    /// The inputs naming what holds the objects; an object counts once for each (a peering
    /// counts for its VPC and for the peer's).
    pub per: &'static [&'static str],
    pub default: u32,
    /// How a user gets more, when it is not by asking the cloud (a VPN gateway's tunnels come
    /// with its SKU).
    pub raise: Option<&'static str>,
}

/// What an object of a kind has to do with Cassandra's data: the planner marks every change
/// that would destroy some, and apply refuses those unless data loss is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CassandraData {
    /// Nothing.
    None,
    /// It is, or holds the nodes of, the Kubernetes cluster its address names (`<kind>.<cluster>`):
    /// replacing or deleting it takes the nodes of every datacenter there, and their volumes.
    Hosts,
    /// It is one datacenter: inputs `cluster`, `name`, `size`, `racks` (maps of `name` and
    /// `zone`), `storage_class`, `storage_size`.
    Datacenter,
    /// Input `datacenters` lists datacenters, each a map with the inputs of one.
    Datacenters,
}

/// What a provider declares about one kind.
#[derive(Clone, Copy, Debug)]
pub struct KindSchema {
    pub kind: Kind,
    pub inputs: &'static [Attribute],
    pub outputs: &'static [Attribute],
    pub scope: ScopeRule,
    pub durations: Durations,
    pub quotas: &'static [Quota],
    pub cassandra_data: CassandraData,
    /// An update that stops referencing an object being deleted waits until it is gone, instead
    /// of going first (a system keyspace may drop a datacenter only once its nodes have left).
    pub updates_after_deletes: bool,
}

impl KindSchema {
    /// A kind with no attributes, global, taking a few seconds.
    pub const fn new(kind: Kind) -> KindSchema {
        KindSchema {
            kind,
            inputs: &[],
            outputs: &[],
            scope: ScopeRule { account: None, region: None },
            durations: seconds(5),
            quotas: &[],
            cassandra_data: CassandraData::None,
            updates_after_deletes: false,
        }
    }

    pub const fn inputs(self, inputs: &'static [Attribute]) -> KindSchema {
        KindSchema { inputs, ..self }
    }

    pub const fn outputs(self, outputs: &'static [Attribute]) -> KindSchema {
        KindSchema { outputs, ..self }
    }

    pub const fn region_from(self, attribute: &'static str) -> KindSchema {
        KindSchema { scope: ScopeRule { region: Some(attribute), ..self.scope }, ..self }
    }

    pub const fn account_from(self, attribute: &'static str) -> KindSchema {
        KindSchema { scope: ScopeRule { account: Some(attribute), ..self.scope }, ..self }
    }

    pub const fn quotas(self, quotas: &'static [Quota]) -> KindSchema {
        KindSchema { quotas, ..self }
    }

    pub const fn cassandra_data(self, cassandra_data: CassandraData) -> KindSchema {
        KindSchema { cassandra_data, ..self }
    }

    pub const fn updates_after_deletes(self) -> KindSchema {
        KindSchema { updates_after_deletes: true, ..self }
    }

    pub const fn takes(self, durations: Durations) -> KindSchema {
        KindSchema { durations, ..self }
    }

    /// Overrides how long creating takes (an EKS cluster: 15 minutes, changing it: 10).
    pub const fn creating_takes(self, create: Duration) -> KindSchema {
        KindSchema { durations: Durations { create, ..self.durations }, ..self }
    }

    pub fn input(&self, name: &str) -> Option<&'static Attribute> {
        self.inputs.iter().find(|a| a.name == name)
    }

    pub fn output(&self, name: &str) -> Option<&'static Attribute> {
        self.outputs.iter().find(|a| a.name == name)
    }

    /// Whether two values of input `name` are the same; an input the schema does not declare
    /// compares exactly.
    pub fn same_input(&self, name: &str, a: &Value, b: &Value) -> bool {
        self.input(name).unwrap_or(&input("")).same(a, b)
    }

    pub fn forces_replacement(&self, input: &str) -> bool {
        self.input(input).is_some_and(|a| a.replaces)
    }

    /// Where calls about an object with `inputs` go.
    pub fn scope(&self, provider: Provider, inputs: &Attributes) -> Scope {
        let text = |attribute: Option<&str>| {
            attribute.and_then(|a| inputs.get(a)).and_then(Value::as_str).unwrap_or_default().to_owned()
        };
        Scope { provider, account: text(self.scope.account), region: text(self.scope.region) }
    }

    /// Wraps the inputs and outputs this schema says are secret as [`Value::Secret`], so that
    /// nothing a provider or a graph pass forgot to wrap is ever shown or stored in the clear.
    pub fn seal_record(&self, inputs: &mut Attributes, outputs: &mut Attributes) {
        KindSchema::seal(self.inputs, inputs);
        KindSchema::seal(self.outputs, outputs);
    }

    /// Wraps every attribute of `attributes` that `declared` says is secret.
    pub fn seal(declared: &[Attribute], attributes: &mut Attributes) {
        for attribute in declared.iter().filter(|a| a.secret) {
            if let Some(value) = attributes.get_mut(attribute.name)
                && !matches!(value, Value::Secret(_) | Value::Null | Value::Unknown | Value::Reference(_))
            {
                *value = Value::secret(std::mem::take(value));
            }
        }
    }

    /// What is wrong with `attributes` as this kind's inputs: names the schema does not
    /// declare, and required ones that are missing or null.
    pub fn check_inputs(&self, attributes: &Attributes) -> Vec<SchemaViolation> {
        let undeclared = attributes
            .keys()
            .filter(|name| self.input(name).is_none())
            .map(|name| SchemaViolation::Undeclared { kind: self.kind, attribute: name.clone() });
        let missing = self
            .inputs
            .iter()
            .filter(|a| a.required && attributes.get(a.name).is_none_or(|v| *v == Value::Null))
            .map(|a| SchemaViolation::Missing { kind: self.kind, attribute: a.name });
        undeclared.chain(missing).collect()
    }
}

/// An attribute that does not fit its kind's schema.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SchemaViolation {
    #[error("{kind} has no input `{attribute}`")]
    Undeclared { kind: Kind, attribute: String },
    #[error("{kind} needs input `{attribute}`")]
    Missing { kind: Kind, attribute: &'static str },
    #[error("`{output}` of {address} is not an output {kind} declares")]
    UnknownOutput { address: Address, kind: Kind, output: String },
    #[error("no provider declares kind {kind} (used by {address})")]
    UnknownKind { address: Address, kind: Kind },
}

/// The schemas of every provider ringform knows, by kind, whether or not this build can
/// manage them.
#[derive(Clone, Debug, Default)]
pub struct Schemas {
    /// Each kind's provider, schema and rank: the order kinds were added in, which is the order
    /// plans list them in (a VPC before its subnets, as the providers declare them).
    kinds: BTreeMap<Kind, (Provider, &'static KindSchema, usize)>,
}

impl Schemas {
    pub fn new() -> Schemas {
        Schemas::default()
    }

    /// Adds `schema`'s kinds. A kind two providers both declare is a programming error.
    #[must_use]
    pub fn with(mut self, schema: &'static ProviderSchema) -> Schemas {
        self.add(schema);
        self
    }

    pub fn add(&mut self, schema: &'static ProviderSchema) {
        for kind in schema.kinds {
            let rank = self.kinds.len();
            let previous = self.kinds.insert(kind.kind, (schema.provider, kind, rank));
            assert!(
                previous.is_none_or(|(p, _, _)| p == schema.provider),
                "kind {} is declared by two providers",
                kind.kind
            );
        }
    }

    pub fn get(&self, kind: Kind) -> Option<&'static KindSchema> {
        self.kinds.get(&kind).map(|(_, schema, _)| *schema)
    }

    pub fn provider(&self, kind: Kind) -> Option<Provider> {
        self.kinds.get(&kind).map(|(provider, _, _)| *provider)
    }

    /// Where `kind` comes in the order kinds were declared; undeclared kinds come last.
    pub fn rank(&self, kind: Kind) -> usize {
        self.kinds.get(&kind).map_or(usize::MAX, |(_, _, rank)| *rank)
    }

    pub fn kinds(&self) -> impl Iterator<Item = &'static KindSchema> + '_ {
        self.kinds.values().map(|(_, schema, _)| *schema)
    }

    /// Where calls about a `kind` object with `inputs` go; a kind no provider declares gets
    /// an empty scope of the local provider (calling it fails later, with a clear message).
    pub fn scope(&self, kind: Kind, inputs: &Attributes) -> Scope {
        match self.kinds.get(&kind) {
            Some((provider, schema, _)) => schema.scope(*provider, inputs),
            None => Scope { provider: Provider::Local, account: String::new(), region: String::new() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THING: Kind = Kind::new("test_thing");
    static SCHEMA: ProviderSchema = ProviderSchema {
        provider: Provider::Aws,
        kinds: &[KindSchema::new(THING)
            .inputs(&[
                input("region").required().replaces(),
                input("ids").unordered(),
                input("parent").case_insensitive(),
                input("password").secret(),
            ])
            .outputs(&[output("id"), output("token").secret()])
            .region_from("region")
            .takes(minutes(2))
            .creating_takes(Duration::from_secs(900))],
    };

    fn attrs(pairs: &[(&str, Value)]) -> Attributes {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    #[test]
    fn unordered_lists_compare_as_multisets() {
        let ids = SCHEMA.kinds[0].input("ids").unwrap();
        let list = |items: &[&str]| Value::from(items.to_vec());
        assert!(ids.same(&list(&["a", "b"]), &list(&["b", "a"])));
        assert!(!ids.same(&list(&["a", "a", "b"]), &list(&["a", "b", "b"])));
        assert!(!ids.same(&list(&["a"]), &list(&["a", "a"])));
        assert!(!ids.same(&Value::List(vec![Value::Unknown]), &Value::List(vec![Value::Unknown])));
    }

    #[test]
    fn secrecy_is_not_a_difference() {
        let thing = SCHEMA.kinds[0];
        let data = |password: Value| Value::from_iter([("user", Value::from("u")), ("password", password)]);
        assert!(thing.same_input("data", &data(Value::secret("p".into())), &data("p".into())));
        assert!(!thing.same_input("data", &data(Value::secret("p".into())), &data("q".into())));
        let ids = thing.input("ids").unwrap();
        let list = |v: Value| Value::List(vec![v, "a".into()]);
        assert!(ids.same(&list(Value::secret("k".into())), &Value::List(vec!["a".into(), "k".into()])));
        assert!(!ids.same(&list(Value::secret("k".into())), &list(Value::secret("l".into()))));
        assert!(thing.same_input("password", &Value::secret("p".into()), &"p".into()));
        assert!(!thing.same_input("password", &Value::secret("p".into()), &"q".into()));
        assert!(thing.same_input("undeclared", &"x".into(), &"x".into()));
    }

    #[test]
    fn case_insensitive_ids_compare_without_case() {
        let parent = SCHEMA.kinds[0].input("parent").unwrap();
        assert!(
            parent.same(&"/subscriptions/S/resourceGroups/RG".into(), &"/subscriptions/s/resourcegroups/rg".into())
        );
        assert!(!parent.same(&"/a".into(), &"/b".into()));
        let region = SCHEMA.kinds[0].input("region").unwrap();
        assert!(!region.same(&"EU-WEST-1".into(), &"eu-west-1".into()));
    }

    #[test]
    fn locations_compare_without_case_and_spaces() {
        let location = input("location").ignoring_case_and_spaces();
        assert!(location.same(&"East US".into(), &"eastus".into()));
        assert!(location.same(&"eastus".into(), &"EASTUS".into()));
        assert!(!location.same(&"East US".into(), &"eastus2".into()));
    }

    #[test]
    fn scope_and_durations_come_from_the_schema() {
        let schemas = Schemas::new().with(&SCHEMA);
        let scope = schemas.scope(THING, &attrs(&[("region", "eu-west-1".into())]));
        assert_eq!((scope.provider, scope.account.as_str(), scope.region.as_str()), (Provider::Aws, "", "eu-west-1"));
        let thing = schemas.get(THING).unwrap();
        assert_eq!(thing.durations.create, Duration::from_secs(900));
        assert_eq!(thing.durations.delete, Duration::from_secs(120));
    }

    #[test]
    fn sealing_wraps_declared_secrets_once() {
        let thing = SCHEMA.kinds[0];
        let mut outputs = attrs(&[("id", "x".into()), ("token", "t0ken".into())]);
        KindSchema::seal(thing.outputs, &mut outputs);
        assert_eq!(outputs["token"], Value::secret("t0ken".into()));
        assert_eq!(outputs["id"], Value::from("x"));
        KindSchema::seal(thing.outputs, &mut outputs);
        assert_eq!(outputs["token"], Value::secret("t0ken".into()), "already sealed values stay one layer deep");
    }

    #[test]
    fn address_ranges_are_checked_for_size_block_and_reserved_ranges() {
        let rule = Rule::Cidr { prefix: (12, 24), within: &["10.0.0.0/8"], reserved: &["10.96.0.0/12"] };
        let check = |text: &str| rule.violation(&Value::from(text));
        assert_eq!(check("10.0.0.0/16"), None);
        assert_eq!(check("10.0.0.0/33").unwrap(), "`10.0.0.0/33` is not an IPv4 range");
        assert_eq!(check("ten/8").unwrap(), "`ten/8` is not an IPv4 range");
        assert!(check("10.0.0.0/25").unwrap().contains("between /12 and /24"));
        assert!(check("192.168.0.0/16").unwrap().contains("must lie within 10.0.0.0/8"));
        assert!(check("10.100.0.0/16").unwrap().contains("overlaps 10.96.0.0/12"), "inside a reserved range");
        assert!(check("10.96.0.0/12").unwrap().contains("overlaps"), "equal to a reserved range");
        assert_eq!(parse_ipv4_cidr("10.1.2.3/16"), Some((u32::from(std::net::Ipv4Addr::new(10, 1, 0, 0)), 16)));
    }

    #[test]
    fn rules_judge_list_items_and_skip_unknown_values() {
        let rule = Rule::Length { min: 1, max: 3 };
        assert!(rule.violation(&Value::from(vec!["ok", "toolong"])).unwrap().contains("`toolong`"));
        assert_eq!(rule.violation(&Value::Unknown), None);
        assert_eq!(rule.violation(&Value::Null), None);
        assert!(Rule::Range { min: 1, max: 3 }.violation(&Value::from("2")).unwrap().contains("not an integer"));
    }

    #[test]
    fn checks_report_undeclared_and_missing_inputs() {
        let thing = SCHEMA.kinds[0];
        let violations = thing.check_inputs(&attrs(&[("regoin", "x".into()), ("ids", Value::List(vec![]))]));
        assert_eq!(
            violations,
            [
                SchemaViolation::Undeclared { kind: THING, attribute: "regoin".into() },
                SchemaViolation::Missing { kind: THING, attribute: "region" },
            ]
        );
        assert!(thing.check_inputs(&attrs(&[("region", "eu-west-1".into())])).is_empty());
    }
}
