//! One refresh's reads, shared between kinds. Some AWS calls answer for several kinds at
//! once: ELBv2's DescribeTags takes the ARNs of load balancers, target groups, listeners and
//! rules together; IAM's GetAccountAuthorizationDetails lists every role with its instance
//! profiles; ECS's DescribeServices says which task definition revisions are in use. A
//! [`ReadSet`] holds every item of the refresh and makes each shared call at most once, when
//! the first kind that needs it asks. The calls themselves belong to the families and
//! kinds (`elb`, `iam_role`, `ecs_service`, `ecs_cluster`), which hand them in: this
//! module knows no kind.

use aws_sdk_ecs::types::{Cluster, Service};
use aws_sdk_elasticloadbalancingv2::types::{Listener, LoadBalancer, TargetGroup};
use aws_sdk_iam::types::RoleDetail;
use ecsctl_graph::Kind;
use ecsctl_provider::{Orphan, ProviderError, ReadItem};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;
use tokio::sync::OnceCell;

/// ELBv2 tags by ARN, without `aws:` tags.
pub(crate) type ElbTags = HashMap<String, Vec<(String, String)>>;

/// Every item of one refresh, and the calls several kinds share.
#[derive(Default)]
pub struct ReadSet {
    items: BTreeMap<Kind, Vec<ReadItem>>,
    /// The stack whose tagged resources the scan looks for, if any.
    stack: Option<String>,
    /// What readers that list by the stack tag found, by kind.
    tagged: Mutex<BTreeMap<Kind, Vec<Orphan>>>,
    elb_tags: OnceCell<Result<ElbTags, ProviderError>>,
    iam_roles: OnceCell<Result<Option<Vec<RoleDetail>>, ProviderError>>,
    ecs_services: OnceCell<Result<Vec<Service>, ProviderError>>,
    ecs_clusters: OnceCell<Result<Vec<Cluster>, ProviderError>>,
    elb_lbs: OnceCell<Result<Vec<LoadBalancer>, ProviderError>>,
    elb_tgs: OnceCell<Result<Vec<TargetGroup>, ProviderError>>,
    elb_listeners: OnceCell<Result<Vec<Listener>, ProviderError>>,
}

impl ReadSet {
    /// A set reading `items` and, given a stack, finding what is tagged for it.
    pub fn new(items: BTreeMap<Kind, Vec<ReadItem>>, stack: Option<&str>) -> Self {
        ReadSet {
            items,
            stack: stack.map(str::to_string),
            ..Default::default()
        }
    }

    /// The stack whose tagged resources this scan looks for.
    pub fn stack(&self) -> Option<&str> {
        self.stack.as_deref()
    }

    /// A reader that listed `kind` by the stack tag reports what it found.
    pub(crate) fn found_tagged(&self, kind: Kind, found: Vec<Orphan>) {
        let mut tagged = self.tagged.lock().unwrap_or_else(|e| e.into_inner());
        tagged.entry(kind).or_default().extend(found);
    }

    /// What readers reported for `kind` (nothing when none listed it).
    pub(crate) fn take_tagged(&self, kind: Kind) -> Vec<Orphan> {
        let mut tagged = self.tagged.lock().unwrap_or_else(|e| e.into_inner());
        tagged.remove(&kind).unwrap_or_default()
    }

    /// The items of `kind` in this refresh.
    pub fn items(&self, kind: Kind) -> &[ReadItem] {
        self.items.get(&kind).map(Vec::as_slice).unwrap_or_default()
    }

    /// The kinds in this refresh, with their items.
    pub fn kinds(&self) -> impl Iterator<Item = (Kind, &[ReadItem])> {
        self.items.iter().map(|(k, v)| (*k, v.as_slice()))
    }

    /// The tags of every ELBv2 resource of the refresh, in one DescribeTags call per 20
    /// ARNs. Fails `NotFound` when one of them is gone (the API refuses the whole call);
    /// readers then ask for the tags of what they found themselves.
    pub(crate) async fn elb_tags<F, Fut>(&self, describe: F) -> &Result<ElbTags, ProviderError>
    where
        F: FnOnce(Vec<String>) -> Fut,
        Fut: Future<Output = Result<ElbTags, ProviderError>>,
    {
        self.elb_tags
            .get_or_init(|| async {
                let arns: Vec<String> = [
                    Kind::Lb,
                    Kind::LbTargetGroup,
                    Kind::LbListener,
                    Kind::LbListenerRule,
                ]
                .into_iter()
                .flat_map(|k| self.items(k).iter().map(|i| i.id.clone()))
                .collect();
                describe(arns).await
            })
            .await
    }

    /// Every role of the account with its policies, tags and instance profiles (one
    /// GetAccountAuthorizationDetails listing, 1,000 roles a page); `None` when the caller
    /// may not list them.
    pub(crate) async fn iam_roles<F, Fut>(
        &self,
        list: F,
    ) -> &Result<Option<Vec<RoleDetail>>, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<Vec<RoleDetail>>, ProviderError>>,
    {
        self.iam_roles.get_or_init(list).await
    }

    /// The services of the refresh that still exist, with their tags; with a stack, every
    /// service of its clusters too (see `ecs_service::scan`).
    pub(crate) async fn ecs_services<F, Fut>(&self, scan: F) -> &Result<Vec<Service>, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<Service>, ProviderError>>,
    {
        self.ecs_services.get_or_init(scan).await
    }

    /// Every cluster of the account with tags and settings; `None` unless the scan looks
    /// for a stack's resources (the listing is made for orphan discovery, readers reuse it).
    pub(crate) async fn ecs_clusters<F, Fut>(
        &self,
        list: F,
    ) -> Result<Option<&[Cluster]>, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<Cluster>, ProviderError>>,
    {
        self.scanned(&self.ecs_clusters, list).await
    }

    /// Every load balancer of the account (one listing); `None` without a stack.
    pub(crate) async fn elb_load_balancers<F, Fut>(
        &self,
        list: F,
    ) -> Result<Option<&[LoadBalancer]>, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<LoadBalancer>, ProviderError>>,
    {
        self.scanned(&self.elb_lbs, list).await
    }

    /// Every target group of the account (one listing); `None` without a stack.
    pub(crate) async fn elb_target_groups<F, Fut>(
        &self,
        list: F,
    ) -> Result<Option<&[TargetGroup]>, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<TargetGroup>, ProviderError>>,
    {
        self.scanned(&self.elb_tgs, list).await
    }

    /// Every listener of the stack's load balancers (one listing); `None` without a stack.
    pub(crate) async fn elb_listeners<F, Fut>(
        &self,
        list: F,
    ) -> Result<Option<&[Listener]>, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<Listener>, ProviderError>>,
    {
        self.scanned(&self.elb_listeners, list).await
    }

    /// A listing made once per scan with a stack, `None` without one.
    async fn scanned<'a, T, F, Fut>(
        &'a self,
        cell: &'a OnceCell<Result<Vec<T>, ProviderError>>,
        list: F,
    ) -> Result<Option<&'a [T]>, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<T>, ProviderError>>,
    {
        if self.stack.is_none() {
            return Ok(None);
        }
        match cell.get_or_init(list).await {
            Ok(found) => Ok(Some(found)),
            Err(e) => Err(e.clone()),
        }
    }
}
