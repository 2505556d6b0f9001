//! `route_table`: CreateRouteTable (tags at creation, ClientToken), CreateRoute per route,
//! AssociateRouteTable per subnet. Update replaces, creates and deletes routes and
//! associates/disassociates the difference; delete disassociates, then deletes.
//!
//! Only routes to an internet gateway (`gateway_id`) or a NAT gateway (`nat_gateway_id`)
//! are managed; the VPC's `local` route and propagated routes are never read or touched.
//! Output `association_ids` maps each associated subnet id to its association id.

use super::ec2::{self, gone, no_id, Object};
use super::Handler;
use crate::kinds::{Reads, Req, Res};
use crate::read_set::ReadSet;
use crate::retry::once;
use crate::{args, error, Clients};
use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, RouteOrigin, RouteTable as Rtb};
use ecsctl_graph::Kind;
use ecsctl_provider::{Attrs, Created, ErrorClass, ProviderError, ReadItem};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;

pub struct RouteTable;

/// Where a route sends its traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Gateway(String),
    Nat(String),
}

impl Target {
    fn json(&self, dest: &str) -> Json {
        match self {
            Target::Gateway(g) => json!({"destination_cidr_block": dest, "gateway_id": g}),
            Target::Nat(n) => json!({"destination_cidr_block": dest, "nat_gateway_id": n}),
        }
    }
}

#[async_trait]
impl Handler for RouteTable {
    async fn create(&self, req: &Req<'_>) -> Res<Created> {
        let Req {
            aws,
            call,
            args,
            token,
            ..
        } = *req;
        let vpc_id = args::str(args, "vpc_id")?;
        let routes = desired_routes(args)?;
        let subnets = args::strings(args, "subnet_ids")?;
        tracing::debug!(address = %call.address, vpc_id, "CreateRouteTable");
        let out = aws
            .ec2
            .create_route_table()
            .vpc_id(vpc_id)
            .client_token(args::client_token(token, 64))
            .tag_specifications(ec2::tag_spec(ResourceType::RouteTable, args))
            .customize()
            .config_override(once!(aws_sdk_ec2))
            .send()
            .await
            .map_err(error::map)?;
        let id = out
            .route_table()
            .and_then(|t| t.route_table_id())
            .ok_or_else(|| no_id("CreateRouteTable"))?
            .to_string();
        for (dest, target) in &routes {
            create_route(aws, &id, dest, target, true).await?;
        }
        let mut associations = BTreeMap::new();
        for subnet in &subnets {
            if let Some(a) = associate(aws, &id, subnet).await? {
                associations.insert(subnet.clone(), a);
            }
        }
        if associations.len() < subnets.len() {
            // Some were already associated (a retried call): read their ids back.
            associations = live_associations(&describe_one(aws, &id).await?);
        }
        Ok(Created {
            id: id.clone(),
            outputs: outputs(&id, &associations),
        })
    }

    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>> {
        let Req {
            aws, call, args, ..
        } = *req;
        let Some(table) = ec2::find_own::<Rtb>(aws, call, args).await? else {
            return Ok(None);
        };
        let id = table
            .route_table_id()
            .ok_or_else(|| no_id("DescribeRouteTables"))?
            .to_string();
        // An interrupted create may have stopped before its routes or associations: add
        // the missing ones (routes only where the destination has none: this table is new).
        let have = live_routes(&table);
        for (dest, target) in &desired_routes(args)? {
            if !have.contains_key(dest) {
                create_route(aws, &id, dest, target, true).await?;
            }
        }
        let mut associations = live_associations(&table);
        let missing: Vec<String> = args::strings(args, "subnet_ids")?
            .into_iter()
            .filter(|s| !associations.contains_key(s))
            .collect();
        for subnet in &missing {
            associate(aws, &id, subnet).await?;
        }
        if !missing.is_empty() {
            associations = live_associations(&describe_one(aws, &id).await?);
        }
        Ok(Some(Created {
            outputs: outputs(&id, &associations),
            id,
        }))
    }

    async fn update(&self, req: &Req<'_>) -> Res<Attrs> {
        let Req {
            aws,
            call,
            id,
            old,
            args: new,
            ..
        } = *req;
        tracing::debug!(address = %call.address, id, "update route table");
        let live = describe_one(aws, id).await?;
        let want = desired_routes(new)?;
        let have = live_routes(&live);
        for (dest, target) in &want {
            match have.get(dest) {
                Some(t) if t == target => {}
                Some(_) => replace_route(aws, id, dest, target).await?,
                None => create_route(aws, id, dest, target, false).await?,
            }
        }
        for dest in have.keys().filter(|d| !want.contains_key(*d)) {
            delete_route(aws, id, dest).await?;
        }

        let want_subnets = args::strings(new, "subnet_ids")?;
        let mut associations = live_associations(&live);
        for (subnet, assoc) in associations.clone() {
            if !want_subnets.contains(&subnet) {
                disassociate(aws, &assoc).await?;
                associations.remove(&subnet);
            }
        }
        for subnet in &want_subnets {
            if !associations.contains_key(subnet) {
                if let Some(a) = associate(aws, id, subnet).await? {
                    associations.insert(subnet.clone(), a);
                }
            }
        }
        ec2::sync_tags(&aws.ec2, id, old, new).await?;
        Ok(outputs(id, &associations))
    }

    async fn delete(&self, req: &Req<'_>) -> Res<()> {
        let Req { aws, call, id, .. } = *req;
        let live = match describe_one(aws, id).await {
            Ok(t) => t,
            Err(e) if gone(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        for assoc in live_associations(&live).values() {
            disassociate(aws, assoc).await?;
        }
        tracing::debug!(address = %call.address, id, "DeleteRouteTable");
        match aws.ec2.delete_route_table().route_table_id(id).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = error::map(e);
                if gone(&e) {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads> {
        ec2::read_each(aws, set, Kind::RouteTable, items, |t: &Rtb| {
            let id = t.route_table_id()?;
            let associations = live_associations(t);
            let routes: Vec<Json> = live_routes(t)
                .iter()
                .map(|(dest, target)| target.json(dest))
                .collect();
            let args = json!({
                "vpc_id": t.vpc_id(),
                "routes": routes,
                "subnet_ids": associations.keys().collect::<Vec<_>>(),
                "tags": ec2::tags_json(t.tags()),
            });
            Some(ec2::live(args, outputs(id, &associations)))
        })
        .await
    }

    fn finds_tagged_in_read(&self) -> bool {
        true
    }
}

fn outputs(id: &str, associations: &BTreeMap<String, String>) -> Attrs {
    let mut out = ec2::id_outputs(id);
    out.insert("association_ids".into(), json!(associations));
    out
}

/// The `routes` argument by destination.
fn desired_routes(args: &Attrs) -> Result<BTreeMap<String, Target>, ProviderError> {
    let mut out = BTreeMap::new();
    for r in args::objects(args, "routes")? {
        let dest = args::str(r, "destination_cidr_block")?.to_string();
        let target = match (
            args::opt_str(r, "gateway_id"),
            args::opt_str(r, "nat_gateway_id"),
        ) {
            (Some(g), None) => Target::Gateway(g.to_string()),
            (None, Some(n)) => Target::Nat(n.to_string()),
            _ => {
                return Err(ProviderError::new(
                    ErrorClass::InvalidInput,
                    format!(
                        "route to {dest} must have exactly one of `gateway_id` and `nat_gateway_id`"
                    ),
                ))
            }
        };
        if out.insert(dest.clone(), target).is_some() {
            return Err(ProviderError::new(
                ErrorClass::InvalidInput,
                format!("two routes to {dest}: a route table holds one route per destination"),
            ));
        }
    }
    Ok(out)
}

/// The managed routes of a table: to an internet or NAT gateway, created by CreateRoute.
fn live_routes(t: &Rtb) -> BTreeMap<String, Target> {
    t.routes()
        .iter()
        .filter(|r| {
            !matches!(
                r.origin(),
                Some(RouteOrigin::CreateRouteTable | RouteOrigin::EnableVgwRoutePropagation)
            )
        })
        .filter_map(|r| {
            let dest = r.destination_cidr_block()?.to_string();
            let target = match (r.gateway_id(), r.nat_gateway_id()) {
                (_, Some(n)) => Target::Nat(n.to_string()),
                (Some(g), None) if g != "local" => Target::Gateway(g.to_string()),
                _ => return None,
            };
            Some((dest, target))
        })
        .collect()
}

/// Subnet id → association id, for the table's explicit (non-main) associations.
fn live_associations(t: &Rtb) -> BTreeMap<String, String> {
    t.associations()
        .iter()
        .filter(|a| !a.main().unwrap_or(false))
        .filter(|a| {
            a.association_state()
                .and_then(|s| s.state())
                .is_none_or(|s| {
                    !matches!(
                        s,
                        aws_sdk_ec2::types::RouteTableAssociationStateCode::Disassociated
                            | aws_sdk_ec2::types::RouteTableAssociationStateCode::Disassociating
                    )
                })
        })
        .filter_map(|a| {
            Some((
                a.subnet_id()?.to_string(),
                a.route_table_association_id()?.to_string(),
            ))
        })
        .collect()
}

async fn describe_one(aws: &Clients, id: &str) -> Result<Rtb, ProviderError> {
    Rtb::by_ids(aws, vec![id.to_string()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::NotFound,
                format!("route table {id} does not exist"),
            )
        })
}

async fn create_route(
    aws: &Clients,
    id: &str,
    dest: &str,
    target: &Target,
    fresh: bool,
) -> Result<(), ProviderError> {
    tracing::debug!(id, dest, ?target, "CreateRoute");
    let call = aws
        .ec2
        .create_route()
        .route_table_id(id)
        .destination_cidr_block(dest);
    let call = match target {
        Target::Gateway(g) => call.gateway_id(g),
        Target::Nat(n) => call.nat_gateway_id(n),
    };
    match call.send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = error::map(e);
            // On a table this create just made, an existing route is this call's own
            // (an SDK retry after a lost reply).
            if fresh && e.code.as_deref() == Some("RouteAlreadyExists") {
                Ok(())
            } else {
                Err(error::with_context(
                    e,
                    &format!("creating the route to {dest}"),
                ))
            }
        }
    }
}

async fn replace_route(
    aws: &Clients,
    id: &str,
    dest: &str,
    target: &Target,
) -> Result<(), ProviderError> {
    tracing::debug!(id, dest, ?target, "ReplaceRoute");
    let call = aws
        .ec2
        .replace_route()
        .route_table_id(id)
        .destination_cidr_block(dest);
    let call = match target {
        Target::Gateway(g) => call.gateway_id(g),
        Target::Nat(n) => call.nat_gateway_id(n),
    };
    call.send().await.map_err(|e| {
        error::with_context(error::map(e), &format!("replacing the route to {dest}"))
    })?;
    Ok(())
}

async fn delete_route(aws: &Clients, id: &str, dest: &str) -> Result<(), ProviderError> {
    tracing::debug!(id, dest, "DeleteRoute");
    match aws
        .ec2
        .delete_route()
        .route_table_id(id)
        .destination_cidr_block(dest)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = error::map(e);
            if gone(&e) {
                Ok(())
            } else {
                Err(error::with_context(
                    e,
                    &format!("deleting the route to {dest}"),
                ))
            }
        }
    }
}

/// Associate `subnet`; `None` when it is already associated with this table.
async fn associate(aws: &Clients, id: &str, subnet: &str) -> Result<Option<String>, ProviderError> {
    tracing::debug!(id, subnet, "AssociateRouteTable");
    match aws
        .ec2
        .associate_route_table()
        .route_table_id(id)
        .subnet_id(subnet)
        .send()
        .await
    {
        Ok(out) => Ok(out.association_id().map(str::to_string)),
        Err(e) => {
            let e = error::map(e);
            // Associated already: by an SDK retry after a lost reply, or by this call
            // when its own reply was lost (a server error).
            let uncertain = e.class == ErrorClass::Other;
            if uncertain || e.code.as_deref() == Some("Resource.AlreadyAssociated") {
                let live = describe_one(aws, id).await?;
                if live_associations(&live).contains_key(subnet) {
                    return Ok(None);
                }
            }
            Err(error::with_context(
                e,
                &format!("associating subnet {subnet}"),
            ))
        }
    }
}

async fn disassociate(aws: &Clients, association: &str) -> Result<(), ProviderError> {
    tracing::debug!(association, "DisassociateRouteTable");
    match aws
        .ec2
        .disassociate_route_table()
        .association_id(association)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = error::map(e);
            if gone(&e) {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_need_exactly_one_target() {
        let args = ec2::into_attrs(json!({"routes": [
            {"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"},
        ]}));
        let r = desired_routes(&args).expect("valid");
        assert_eq!(r["0.0.0.0/0"], Target::Gateway("igw-1".into()));
        let both = ec2::into_attrs(json!({"routes": [
            {"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1", "nat_gateway_id": "nat-1"},
        ]}));
        assert_eq!(
            desired_routes(&both).unwrap_err().class,
            ErrorClass::InvalidInput
        );
        let twice = ec2::into_attrs(json!({"routes": [
            {"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"},
            {"destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": "nat-1"},
        ]}));
        assert!(desired_routes(&twice)
            .unwrap_err()
            .message
            .contains("two routes"));
    }
}
