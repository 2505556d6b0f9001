//! One module per resource kind. Each implements [`Handler`] for its kind;
//! [`dispatch::handler`] picks the one for a kind.

use crate::read_set::ReadSet;
use crate::Clients;
use async_trait::async_trait;
use ecsctl_graph::Address;
use ecsctl_provider::{Attrs, Call, Created, Live, Orphan, ProviderError, ReadItem};
use std::collections::BTreeMap;

pub mod autoscaling_group;
pub(crate) mod capacity;
pub mod data;
pub mod dispatch;
pub mod dns_record;
pub(crate) mod ec2;
pub(crate) mod ec2_object;
pub mod ecs_cluster;
pub mod ecs_service;
pub mod eip;
pub(crate) mod elb;
pub mod hosted_zone;
pub mod iam_instance_profile;
pub mod iam_propagation;
pub mod iam_role;
pub mod internet_gateway;
pub mod launch_template;
pub mod lb;
pub mod lb_listener;
pub mod lb_listener_rule;
pub mod lb_target_group;
pub mod log_group;
pub mod nat_gateway;
pub mod route_table;
pub mod scaling_policy;
pub mod security_group;
pub mod subnet;
pub mod task_definition;
pub mod vpc;

/// What every kind's calls return.
pub type Res<T> = Result<T, ProviderError>;
/// What a kind's `read` returns: per address, the object as AWS has it, `None` if gone.
pub type Reads = BTreeMap<Address, Option<Live>>;

/// One call of a kind's create, find, update or delete.
#[derive(Clone, Copy)]
pub struct Req<'a> {
    pub aws: &'a Clients,
    /// The address, progress notes and options of the call.
    pub call: &'a Call<'a>,
    /// The object's id (update, delete; empty for create and find).
    pub id: &'a str,
    /// Create and find: the desired arguments; update: the new ones; delete: the recorded.
    pub args: &'a Attrs,
    /// Update: the arguments as recorded before (empty otherwise).
    pub old: &'a Attrs,
    /// Update, delete: the recorded outputs (empty otherwise).
    pub outputs: &'a Attrs,
    /// Create and find: the idempotency token of the create (empty otherwise).
    pub token: &'a str,
}

static NONE: std::sync::LazyLock<Attrs> = std::sync::LazyLock::new(Attrs::new);

impl<'a> Req<'a> {
    pub fn create(aws: &'a Clients, call: &'a Call<'a>, args: &'a Attrs, token: &'a str) -> Self {
        Req {
            aws,
            call,
            id: "",
            args,
            old: &NONE,
            outputs: &NONE,
            token,
        }
    }

    pub fn update(
        aws: &'a Clients,
        call: &'a Call<'a>,
        id: &'a str,
        old: &'a Attrs,
        new: &'a Attrs,
        outputs: &'a Attrs,
    ) -> Self {
        Req {
            aws,
            call,
            id,
            args: new,
            old,
            outputs,
            token: "",
        }
    }

    pub fn delete(
        aws: &'a Clients,
        call: &'a Call<'a>,
        id: &'a str,
        args: &'a Attrs,
        outputs: &'a Attrs,
    ) -> Self {
        Req {
            aws,
            call,
            id,
            args,
            old: &NONE,
            outputs,
            token: "",
        }
    }
}

/// The operations of one resource kind. Arguments and outputs follow
/// `ecsctl_graph::kinds` for the kind.
#[async_trait]
pub trait Handler: Send + Sync {
    async fn create(&self, req: &Req<'_>) -> Res<Created>;
    /// The object an earlier create for this address made (by token or tags), finished.
    async fn find(&self, req: &Req<'_>) -> Res<Option<Created>>;
    async fn update(&self, req: &Req<'_>) -> Res<Attrs>;
    async fn delete(&self, req: &Req<'_>) -> Res<()>;
    /// Read back `items` (all of this kind); `set` holds every item of the refresh and the
    /// calls several kinds share.
    async fn read(&self, aws: &Clients, set: &ReadSet, items: &[ReadItem]) -> Res<Reads>;
    /// The resources of this kind tagged for `stack` (known ones included). Kinds whose
    /// `read` lists by the stack tag ([`Handler::finds_tagged_in_read`]) report to `set`
    /// there and keep this default.
    async fn tagged(&self, _aws: &Clients, _set: &ReadSet, _stack: &str) -> Res<Vec<Orphan>> {
        Ok(Vec::new())
    }
    /// True when `read`, given a set with a stack, also finds this kind's tagged resources
    /// (one listing by tag serves both).
    fn finds_tagged_in_read(&self) -> bool {
        false
    }
}
