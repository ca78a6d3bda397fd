//! Security groups and ingress rules. One rule object is ingress over every port × CIDR block
//! pair of its inputs (one EC2 rule per pair); its provider id lists those EC2 rule ids.

use std::collections::BTreeSet;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType, SecurityGroup, SecurityGroupRule};
use ringform_core::provider::{Applied, Observed, ProviderError, ProviderResult, Tracked};
use ringform_core::{Attributes, Inputs, Value};
use ringform_schema::aws;

use super::vpc::interfaces;
use super::{all, delete_when_free, listed, made, opt, rename_only};
use crate::attrs::attributes;
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::kinds::{Change, Lookup, Spec, ready};
use crate::tags::{self, filter};

pub(crate) static GROUP: Spec = Spec {
    kind: aws::SECURITY_GROUP,
    lookup: Lookup::Tagged(|ec2, filters| Box::pin(describe_groups(ec2, filters))),
    create: |ctx, inputs| Box::pin(create_group(ctx, inputs)),
    settle: ready,
    update: rename_only,
    delete: |ctx, _, id| Box::pin(delete_group(ctx, id)),
};

pub(crate) static RULE: Spec = Spec {
    kind: aws::SECURITY_GROUP_RULE,
    lookup: Lookup::Keyed {
        find: |ctx, inputs| Box::pin(find_rule(ctx, inputs)),
        read: |ctx, tracked| Box::pin(read_rules(ctx, tracked)),
    },
    create: |ctx, inputs| Box::pin(create_rule(ctx, inputs)),
    settle: |ctx, inputs, rule| Box::pin(complete_rule(ctx, inputs, rule)),
    update: |ctx, change| Box::pin(update_rule(ctx, change)),
    delete: |ctx, inputs, id| Box::pin(delete_rule(ctx, inputs, id)),
};

async fn create_group(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    let tags = ctx.ec2_tags(ResourceType::SecurityGroup, inputs.address, inputs.opt_str("name")?);
    let request = ctx.ec2().create_security_group().vpc_id(inputs.str("vpc_id")?).group_name(inputs.str("group_name")?);
    let request = request.description(inputs.str("description")?).tag_specifications(tags);
    let out = request.send().await.map_err(ctx.fail("creating the security group"))?;
    made(ctx, "the security group", out.group_id())
}

async fn describe_groups(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    listed(ec2.describe_security_groups().set_filters(Some(filters)).into_paginator().items().send(), group_object)
        .await
}

fn group_object(group: &SecurityGroup) -> Option<Object> {
    let (vpc, name, description) = (group.vpc_id(), group.group_name(), group.description());
    let observed = attributes([("vpc_id", opt(vpc)), ("group_name", opt(name)), ("description", opt(description))]);
    Some(Object::tagged(group.group_id()?, group.tags(), observed))
}

async fn delete_group(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let ec2 = ctx.ec2();
    let blockers = || async {
        let mut found = interfaces(ec2, vec![filter("group-id", [id])]).await?;
        let referring = ec2.describe_security_groups().filters(filter("ip-permission.group-id", [id]));
        for group in all(referring.into_paginator().items().send()).await? {
            found.push(format!("{} (security group whose rules refer to {id})", group.group_id().unwrap_or("?")));
        }
        Ok(found)
    };
    let delete = || ec2.delete_security_group().group_id(id).send();
    delete_when_free(ctx, &format!("security group {id}"), delete, blockers).await
}

/// What a rule object asks for.
struct Wanted<'a> {
    group: &'a str,
    protocol: &'a str,
    ports: Vec<i64>,
    cidrs: Vec<String>,
    description: Option<&'a str>,
}

impl<'a> Wanted<'a> {
    fn of(inputs: Inputs<'a>) -> ProviderResult<Self> {
        let (ports, cidrs) = (inputs.ints("ports")?, inputs.strings("cidr_blocks")?);
        if ports.is_empty() || cidrs.is_empty() {
            return Err(ProviderError::fatal(format!(
                "{}: a security group rule needs a port and a CIDR block; this is a bug in the resource graph",
                inputs.address
            )));
        }
        Ok(Wanted {
            group: inputs.str("security_group_id")?,
            protocol: inputs.str("protocol")?,
            ports,
            cidrs,
            description: inputs.opt_str("description")?,
        })
    }

    /// True when `rule` (a rule object as found) has every pair.
    fn is_complete(&self, rule: &Object) -> bool {
        let has = |key: &str, value: Value| matches!(rule.observed.get(key), Some(Value::List(items)) if items.contains(&value));
        self.ports.iter().all(|&p| has("ports", p.into()))
            && self.cidrs.iter().all(|c| has("cidr_blocks", c.as_str().into()))
    }

    /// True when the EC2 rule is one of this object's port × CIDR pairs.
    fn covers(&self, rule: &SecurityGroupRule) -> bool {
        rule.is_egress() == Some(false)
            && rule.ip_protocol() == Some(self.protocol)
            && rule.from_port() == rule.to_port()
            && rule.from_port().is_some_and(|p| self.ports.contains(&i64::from(p)))
            && rule.cidr_ipv4().is_some_and(|c| self.cidrs.iter().any(|w| w == c))
    }

    /// The permissions for the pairs `done` lacks, one per port.
    fn missing(&self, done: &[SecurityGroupRule]) -> Vec<IpPermission> {
        let has = |port: i64, cidr: &str| {
            done.iter().any(|r| r.from_port().map(i64::from) == Some(port) && r.cidr_ipv4() == Some(cidr))
        };
        self.ports
            .iter()
            .filter_map(|&port| {
                let ranges: Vec<IpRange> = self
                    .cidrs
                    .iter()
                    .filter(|c| !has(port, c))
                    .map(|c| IpRange::builder().cidr_ip(c).set_description(self.description.map(str::to_owned)).build())
                    .collect();
                let port = i32::try_from(port).ok()?;
                (!ranges.is_empty()).then(|| {
                    IpPermission::builder()
                        .ip_protocol(self.protocol)
                        .from_port(port)
                        .to_port(port)
                        .set_ip_ranges(Some(ranges))
                        .build()
                })
            })
            .collect()
    }
}

async fn group_rules(ec2: &Client, groups: Vec<String>) -> Result<Vec<SecurityGroupRule>, ApiError> {
    all(ec2.describe_security_group_rules().filters(filter("group-id", groups)).into_paginator().items().send()).await
}

/// The group's rules that are pairs of this rule object.
async fn covered(ctx: &Ctx<'_>, wanted: &Wanted<'_>) -> Result<Vec<SecurityGroupRule>, ApiError> {
    let rules = group_rules(ctx.ec2(), vec![wanted.group.to_owned()]).await?;
    Ok(rules.into_iter().filter(|r| wanted.covers(r)).collect())
}

async fn create_rule(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Object> {
    add_missing(ctx, inputs, Vec::new()).await
}

/// Completes a rule object a crashed create left with only some of its pairs.
async fn complete_rule(ctx: &Ctx<'_>, inputs: Inputs<'_>, rule: Object) -> ProviderResult<Applied> {
    let wanted = Wanted::of(inputs)?;
    if wanted.is_complete(&rule) {
        return Ok(rule.applied());
    }
    let done = covered(ctx, &wanted).await.map_err(ctx.fail("listing the security group's rules"))?;
    Ok(add_missing(ctx, inputs, done).await?.applied())
}

/// Adds the pairs `done` lacks; returns the rule object of them all.
async fn add_missing(ctx: &Ctx<'_>, inputs: Inputs<'_>, mut done: Vec<SecurityGroupRule>) -> ProviderResult<Object> {
    let wanted = Wanted::of(inputs)?;
    let missing = wanted.missing(&done);
    if !missing.is_empty() {
        let tags = ctx.ec2_tags(ResourceType::SecurityGroupRule, inputs.address, None);
        let request = ctx.ec2().authorize_security_group_ingress().group_id(wanted.group);
        let out = request.set_ip_permissions(Some(missing)).tag_specifications(tags).send().await;
        let out = out.map_err(ctx.fail("adding the ingress rules"))?;
        // The answer lists the new rules, but moto lists only the last permission's: look again
        // when it is short.
        done.extend(out.security_group_rules().iter().cloned());
        if done.len() < wanted.ports.len() * wanted.cidrs.len() {
            done = covered(ctx, &wanted).await.map_err(ctx.fail("listing the security group's rules"))?;
        }
    }
    rule_object(&done.iter().collect::<Vec<_>>())
        .ok_or_else(|| ctx.fail("adding the ingress rules")(ApiError::malformed("list of the rules it added")))
}

fn rule_id(rules: &[&SecurityGroupRule]) -> String {
    let ids: BTreeSet<&str> = rules.iter().filter_map(|r| r.security_group_rule_id()).collect();
    ids.into_iter().collect::<Vec<_>>().join(",")
}

/// The inputs a set of EC2 rules amounts to. A port counts only when it is open to every CIDR
/// block seen, and a block only when every port is open to it, so one missing pair shows up.
fn rule_object(rules: &[&SecurityGroupRule]) -> Option<Object> {
    let first = rules.first()?;
    let ports: BTreeSet<i64> = rules.iter().filter_map(|r| r.from_port()).map(i64::from).collect();
    let cidrs: BTreeSet<&str> = rules.iter().filter_map(|r| r.cidr_ipv4()).collect();
    let has =
        |p: i64, c: &str| rules.iter().any(|r| r.from_port().map(i64::from) == Some(p) && r.cidr_ipv4() == Some(c));
    let full_ports: Vec<Value> =
        ports.iter().filter(|&&p| cidrs.iter().all(|c| has(p, c))).map(|&p| p.into()).collect();
    let full_cidrs: Vec<Value> = cidrs.iter().filter(|c| ports.iter().all(|&p| has(p, c))).map(|&c| c.into()).collect();
    let observed: Attributes = attributes([
        ("security_group_id", opt(first.group_id())),
        ("protocol", opt(first.ip_protocol())),
        ("description", opt(first.description())),
        ("ports", Value::List(full_ports)),
        ("cidr_blocks", Value::List(full_cidrs)),
    ]);
    Some(Object { tags: tags::ec2_map(first.tags()), observed, ..Object::new(rule_id(rules)) })
}

async fn find_rule(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    let wanted = Wanted::of(inputs)?;
    let mine = match covered(ctx, &wanted).await {
        Ok(mine) => mine,
        Err(error) if error.is_not_found() => return Ok(None),
        Err(error) => return Err(ctx.fail("listing the security group's rules")(error)),
    };
    Ok(rule_object(&mine.iter().collect::<Vec<_>>()))
}

/// One DescribeSecurityGroupRules (paginated) for every group the tracked rules are in.
async fn read_rules(ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
    let groups: BTreeSet<String> = tracked
        .iter()
        .filter_map(|t| t.inputs.get("security_group_id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let rules =
        group_rules(ctx.ec2(), groups.into_iter().collect()).await.map_err(ctx.fail("listing security group rules"))?;
    Ok(tracked
        .iter()
        .filter_map(|t| {
            let ids: Vec<&str> = t.provider_id.split(',').collect();
            let mine: Vec<&SecurityGroupRule> =
                rules.iter().filter(|r| r.security_group_rule_id().is_some_and(|id| ids.contains(&id))).collect();
            let mut object = rule_object(&mine)?;
            // The tracked id stays the object's id while any of its EC2 rules remain.
            object.id.clone_from(&t.provider_id);
            Some(object.into_observed(&t.address, &t.inputs, &t.outputs))
        })
        .collect())
}

async fn update_rule(ctx: &Ctx<'_>, change: Change<'_>) -> ProviderResult<Applied> {
    change.only(&["description"])?;
    let wanted = Wanted::of(change.after)?;
    let everything = wanted.missing(&[]);
    let request = ctx.ec2().update_security_group_rule_descriptions_ingress().group_id(wanted.group);
    request.set_ip_permissions(Some(everything)).send().await.map_err(ctx.fail("changing the rules' description"))?;
    Ok(Object::new(change.id).applied())
}

async fn delete_rule(ctx: &Ctx<'_>, inputs: Inputs<'_>, id: &str) -> ProviderResult<()> {
    let group = inputs.str("security_group_id")?;
    let ids: Vec<&str> = id.split(',').collect();
    let existing: Vec<String> = match group_rules(ctx.ec2(), vec![group.to_owned()]).await {
        Ok(rules) => rules
            .iter()
            .filter_map(|r| r.security_group_rule_id())
            .filter(|r| ids.contains(r))
            .map(str::to_owned)
            .collect(),
        Err(error) if error.is_not_found() => return Ok(()),
        Err(error) => return Err(ctx.fail("listing the security group's rules")(error)),
    };
    if existing.is_empty() {
        return Ok(());
    }
    let request = ctx.ec2().revoke_security_group_ingress().group_id(group).set_security_group_rule_ids(Some(existing));
    match request.send().await.map_err(ApiError::from) {
        Err(error) if !error.is_not_found() && error.code() != "InvalidPermission.NotFound" => {
            Err(ctx.fail("removing the ingress rules")(error))
        }
        _ => Ok(()),
    }
}
