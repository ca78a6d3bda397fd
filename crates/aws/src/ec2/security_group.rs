//! Security groups and ingress rules. One rule object is ingress over every port × CIDR block
//! pair of its inputs (one EC2 rule per pair); its provider id lists those EC2 rule ids.

use std::collections::BTreeSet;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType, SecurityGroupRule};
use ringform_core::provider::{Applied, Observed, ProviderError, ProviderResult, Tracked};
use ringform_core::{Attributes, Value};

use super::vpc::created;
use super::{delete_when_free, find_tagged, id_output, opt};
use crate::attrs::{Inputs, attributes, only_updatable};
use crate::context::{Ctx, Object};
use crate::errors::ApiError;
use crate::tags::{self, filter};

pub(super) async fn create_group(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let id = match find_tagged(ctx, inputs.address).await? {
        Some(existing) => existing.id,
        None => {
            let spec = tags::ec2_spec(ResourceType::SecurityGroup, &ctx.tags(inputs.address, inputs.opt_str("name")?));
            let out = ctx
                .ec2()
                .create_security_group()
                .vpc_id(inputs.str("vpc_id")?)
                .group_name(inputs.str("group_name")?)
                .description(inputs.str("description")?)
                .tag_specifications(spec)
                .send()
                .await
                .map_err(ctx.fail("creating the security group"))?;
            created(ctx, "the security group", out.group_id())?
        }
    };
    Ok(Applied { provider_id: id.clone(), outputs: id_output(&id) })
}

pub(super) async fn describe_groups(ec2: &Client, filters: Vec<Filter>) -> Result<Vec<Object>, ApiError> {
    let groups = ec2.describe_security_groups().set_filters(Some(filters)).into_paginator().items().send();
    Ok(groups
        .collect::<Result<Vec<_>, _>>()
        .await?
        .into_iter()
        .filter_map(|group| {
            let id = group.group_id()?;
            let observed = attributes([
                ("vpc_id", opt(group.vpc_id())),
                ("group_name", opt(group.group_name())),
                ("description", opt(group.description())),
            ]);
            Some(Object { id: id.to_owned(), tags: tags::ec2_map(group.tags()), observed, outputs: id_output(id) })
        })
        .collect())
}

pub(super) async fn delete_group(ctx: &Ctx<'_>, id: &str) -> ProviderResult<()> {
    let ec2 = ctx.ec2();
    delete_when_free(
        ctx,
        &format!("security group {id}"),
        || async {
            ec2.delete_security_group().group_id(id).send().await?;
            Ok(())
        },
        || async {
            let mut found = Vec::new();
            let enis =
                ec2.describe_network_interfaces().filters(filter("group-id", [id])).into_paginator().items().send();
            for eni in enis.collect::<Result<Vec<_>, _>>().await? {
                let what = eni.description().filter(|d| !d.is_empty()).unwrap_or("network interface");
                found.push(format!("{} ({what})", eni.network_interface_id().unwrap_or("?")));
            }
            let groups = ec2
                .describe_security_groups()
                .filters(filter("ip-permission.group-id", [id]))
                .into_paginator()
                .items()
                .send();
            for group in groups.collect::<Result<Vec<_>, _>>().await? {
                found.push(format!("{} (security group whose rules refer to {id})", group.group_id().unwrap_or("?")));
            }
            Ok(found)
        },
    )
    .await
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
        Ok(Wanted {
            group: inputs.str("security_group_id")?,
            protocol: inputs.str("protocol")?,
            ports: inputs.ints("ports")?,
            cidrs: inputs.strings("cidr_blocks")?,
            description: inputs.opt_str("description")?,
        })
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
    let rules = ec2.describe_security_group_rules().filters(filter("group-id", groups)).into_paginator().items().send();
    Ok(rules.collect::<Result<Vec<_>, _>>().await?)
}

pub(super) async fn create_rule(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Applied> {
    let wanted = Wanted::of(inputs)?;
    // Pairs a crashed or retried create already added are kept, not added twice.
    let covered = || async {
        let rules = group_rules(ctx.ec2(), vec![wanted.group.to_owned()])
            .await
            .map_err(ctx.fail("listing the security group's rules"))?;
        Ok::<_, ProviderError>(rules.into_iter().filter(|r| wanted.covers(r)).collect::<Vec<_>>())
    };
    let mut done = covered().await?;
    let missing = wanted.missing(&done);
    if !missing.is_empty() {
        let spec = tags::ec2_spec(ResourceType::SecurityGroupRule, &ctx.tags(inputs.address, None));
        let out = ctx
            .ec2()
            .authorize_security_group_ingress()
            .group_id(wanted.group)
            .set_ip_permissions(Some(missing))
            .tag_specifications(spec)
            .send()
            .await
            .map_err(ctx.fail("adding the ingress rules"))?;
        // The answer lists the new rules, but moto lists only the last permission's: look again
        // when it is short.
        done.extend(out.security_group_rules().iter().cloned());
        if done.len() < wanted.ports.len() * wanted.cidrs.len() {
            done = covered().await?;
        }
    }
    let id = rule_id(&done);
    Ok(Applied { provider_id: id.clone(), outputs: id_output(&id) })
}

fn rule_id(rules: &[SecurityGroupRule]) -> String {
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
    let owned: Vec<SecurityGroupRule> = rules.iter().map(|r| (*r).clone()).collect();
    let id = rule_id(&owned);
    let observed: Attributes = attributes([
        ("security_group_id", opt(first.group_id())),
        ("protocol", opt(first.ip_protocol())),
        ("description", opt(first.description())),
        ("ports", Value::List(full_ports)),
        ("cidr_blocks", Value::List(full_cidrs)),
    ]);
    Some(Object { outputs: id_output(&id), id, tags: tags::ec2_map(first.tags()), observed })
}

pub(super) async fn find_rule(ctx: &Ctx<'_>, inputs: Inputs<'_>) -> ProviderResult<Option<Object>> {
    let wanted = Wanted::of(inputs)?;
    let rules = match group_rules(ctx.ec2(), vec![wanted.group.to_owned()]).await {
        Ok(rules) => rules,
        Err(error) if error.is_not_found() => return Ok(None),
        Err(error) => return Err(ctx.fail("listing the security group's rules")(error)),
    };
    let mine: Vec<&SecurityGroupRule> = rules.iter().filter(|r| wanted.covers(r)).collect();
    Ok(rule_object(&mine))
}

/// One DescribeSecurityGroupRules (paginated) for every group the tracked rules are in.
pub(super) async fn read_rules(ctx: &Ctx<'_>, tracked: &[Tracked]) -> ProviderResult<Vec<Observed>> {
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

pub(super) async fn update_rule(
    ctx: &Ctx<'_>,
    after: Inputs<'_>,
    id: &str,
    changed: &[String],
) -> ProviderResult<Applied> {
    only_updatable(after.address, changed, &["description"])?;
    let wanted = Wanted::of(after)?;
    let everything = wanted.missing(&[]);
    ctx.ec2()
        .update_security_group_rule_descriptions_ingress()
        .group_id(wanted.group)
        .set_ip_permissions(Some(everything))
        .send()
        .await
        .map_err(ctx.fail("changing the rules' description"))?;
    Ok(Applied { provider_id: id.to_owned(), outputs: id_output(id) })
}

pub(super) async fn delete_rule(ctx: &Ctx<'_>, inputs: Inputs<'_>, id: &str) -> ProviderResult<()> {
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
    match ctx
        .ec2()
        .revoke_security_group_ingress()
        .group_id(group)
        .set_security_group_rule_ids(Some(existing))
        .send()
        .await
    {
        Err(error) => {
            let error = ApiError::from(error);
            if error.is_not_found() || error.code() == "InvalidPermission.NotFound" {
                Ok(())
            } else {
                Err(ctx.fail("removing the ingress rules")(error))
            }
        }
        Ok(_) => Ok(()),
    }
}
