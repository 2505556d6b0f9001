//! The AWS provider: the one implementation of [`ecsctl_provider::Provider`] that talks to
//! AWS, through the official SDK. One module per resource kind under `kinds/`, each a
//! [`kinds::Handler`]; this file only dispatches.

mod args;
mod clients;
mod error;
pub mod identity;
pub mod kinds;
mod read_set;
pub mod retry;
pub mod safe_create;
mod wait;

pub use clients::{CallCounter, CallStats, Clients, RetrySettings};
pub use read_set::ReadSet;

use crate::kinds::Req;
use async_trait::async_trait;
use ecsctl_graph::{Address, Data, Kind};
use ecsctl_provider::{
    Attrs, Call, Created, DataQuery, ErrorClass, Live, Orphan, Provider, ProviderError, ReadItem,
    Scan,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The AWS provider for one stack.
pub struct AwsProvider {
    pub clients: Clients,
    /// The stack name (`ecsctl:stack` tag value).
    pub stack: String,
    /// Whose credentials these are, when [`AwsProvider::connect`] checked them.
    pub identity: Option<identity::Identity>,
}

impl AwsProvider {
    /// A provider for `stack` over ready-made clients (tests, custom configuration).
    pub fn new(stack: &str, clients: Clients) -> Self {
        AwsProvider {
            clients,
            stack: stack.to_string(),
            identity: None,
        }
    }

    /// Clients from the standard chain (env, profile, SSO, IMDS); `AWS_ENDPOINT_URL` points
    /// every service at an emulator. `region` overrides the chain's region. Default retries.
    pub async fn from_env(stack: &str, region: Option<&str>) -> Self {
        Self::from_env_with(stack, region, &RetrySettings::default()).await
    }

    /// Like [`AwsProvider::from_env`] with an explicit retry policy.
    pub async fn from_env_with(
        stack: &str,
        region: Option<&str>,
        settings: &RetrySettings,
    ) -> Self {
        Self::new(stack, Clients::from_env(region, settings).await)
    }

    /// The AWS API calls this provider has made so far, per service. Take a snapshot
    /// before and after an operation and use [`CallStats::since`] for its cost.
    pub fn call_stats(&self) -> CallStats {
        self.clients.calls.snapshot()
    }

    /// What the CLI calls: like [`AwsProvider::from_env_with`], but fails with a clear
    /// error (class `InvalidInput`) when no region is configured anywhere, instead of
    /// failing on the first call.
    pub async fn connect(
        stack: &str,
        region: Option<&str>,
        settings: &RetrySettings,
    ) -> Result<Self, ProviderError> {
        let conf = clients::load_env(region).await;
        if conf.region().is_none_or(|r| r.as_ref().is_empty()) {
            return Err(ProviderError::new(
                ErrorClass::InvalidInput,
                "no AWS region: set `region` in the [stack] table, AWS_REGION, or a region in \
                 the AWS profile",
            ));
        }
        let who = identity::check(&conf).await?;
        let mut provider = Self::new(stack, Clients::from_conf_settings(&conf, settings, &[]));
        provider.identity = Some(who);
        Ok(provider)
    }
}

/// One job of a scan.
enum Job {
    Read(Kind, Result<BTreeMap<Address, Option<Live>>, ProviderError>),
    Tagged(Kind, Result<Vec<Orphan>, ProviderError>),
}

impl AwsProvider {
    /// Read `items` and list the resources tagged for `stack` of the kinds `listed`, every
    /// kind in its own task, over one [`ReadSet`] so calls several kinds share (ELBv2 tags,
    /// the IAM listing, ECS services) are made once, and kinds whose read lists by the stack
    /// tag find their tagged resources in the same call.
    async fn scan_kinds(
        &self,
        items: BTreeMap<Kind, Vec<ReadItem>>,
        stack: Option<&str>,
        listed: &[Kind],
    ) -> Scan {
        let listed: Vec<Kind> = if stack.is_some() {
            listed.to_vec()
        } else {
            Vec::new()
        };
        let asked: Vec<Kind> = items.keys().copied().collect();
        let mut reads = asked.clone();
        for kind in &listed {
            if kinds::dispatch::handler(*kind).finds_tagged_in_read() && !reads.contains(kind) {
                reads.push(*kind);
            }
        }
        let set = Arc::new(ReadSet::new(items, stack));
        let mut tasks = tokio::task::JoinSet::new();
        let mut jobs = HashMap::new();
        for kind in reads {
            let (set, clients) = (set.clone(), self.clients.clone());
            let handle = tasks.spawn(async move {
                let r = kinds::dispatch::handler(kind)
                    .read(&clients, &set, set.items(kind))
                    .await;
                Job::Read(kind, r)
            });
            jobs.insert(handle.id(), (kind, true));
        }
        for kind in listed.iter().copied() {
            if kinds::dispatch::handler(kind).finds_tagged_in_read() {
                continue;
            }
            let (set, clients) = (set.clone(), self.clients.clone());
            let handle = tasks.spawn(async move {
                let stack = set.stack().unwrap_or_default();
                let r = kinds::dispatch::handler(kind)
                    .tagged(&clients, &set, stack)
                    .await;
                Job::Tagged(kind, r)
            });
            jobs.insert(handle.id(), (kind, false));
        }
        let mut scan = Scan::default();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Job::Read(kind, r)) => {
                    if listed.contains(&kind)
                        && kinds::dispatch::handler(kind).finds_tagged_in_read()
                    {
                        let tagged = match &r {
                            Ok(_) => Ok(set.take_tagged(kind)),
                            Err(e) => Err(e.clone()),
                        };
                        scan.tagged.insert(kind, tagged);
                    }
                    // Not when it was read only to list it by tag.
                    if asked.contains(&kind) {
                        scan.live.insert(kind, r);
                    }
                }
                Ok(Job::Tagged(kind, r)) => {
                    scan.tagged.insert(kind, r);
                }
                Err(e) => {
                    let (kind, read) = jobs.get(&e.id()).copied().unwrap_or((Kind::Vpc, true));
                    let err = ProviderError::new(
                        ErrorClass::Other,
                        format!("reading every {kind} failed unexpectedly (a bug in ecsctl): {e}"),
                    );
                    if read {
                        if listed.contains(&kind) {
                            scan.tagged.insert(kind, Err(err.clone()));
                        }
                        if asked.contains(&kind) {
                            scan.live.insert(kind, Err(err));
                        }
                    } else {
                        scan.tagged.insert(kind, Err(err));
                    }
                }
            }
        }
        scan
    }
}

#[async_trait]
impl Provider for AwsProvider {
    async fn create(
        &self,
        call: &Call<'_>,
        args: &Attrs,
        token: &str,
    ) -> Result<Created, ProviderError> {
        // A lost reply neither loses nor duplicates the resource: see `safe_create`.
        let req = Req::create(&self.clients, call, args, token);
        safe_create::create(kinds::dispatch::handler(call.address.kind), &req)
            .await
            .map_err(|e| e.at(call.address))
    }

    async fn find(
        &self,
        call: &Call<'_>,
        args: &Attrs,
        token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        kinds::dispatch::handler(call.address.kind)
            .find(&Req::create(&self.clients, call, args, token))
            .await
            .map_err(|e| e.at(call.address))
    }

    async fn update(
        &self,
        call: &Call<'_>,
        id: &str,
        old: &Attrs,
        new: &Attrs,
        outputs: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        kinds::dispatch::handler(call.address.kind)
            .update(&Req::update(&self.clients, call, id, old, new, outputs))
            .await
            .map_err(|e| e.at(call.address))
    }

    async fn delete(
        &self,
        call: &Call<'_>,
        id: &str,
        args: &Attrs,
        outputs: &Attrs,
    ) -> Result<(), ProviderError> {
        kinds::dispatch::handler(call.address.kind)
            .delete(&Req::delete(&self.clients, call, id, args, outputs))
            .await
            .map_err(|e| e.at(call.address))
    }

    async fn read(
        &self,
        kind: Kind,
        items: &[ReadItem],
    ) -> Result<BTreeMap<Address, Option<Live>>, ProviderError> {
        let items = BTreeMap::from([(kind, items.to_vec())]);
        let mut scan = self.scan_kinds(items, None, &[]).await;
        scan.live
            .remove(&kind)
            .unwrap_or_else(|| Ok(BTreeMap::new()))
    }

    async fn scan(&self, items: BTreeMap<Kind, Vec<ReadItem>>, stack: Option<&str>) -> Scan {
        let taggable: Vec<Kind> = Kind::ALL
            .iter()
            .copied()
            .filter(|k| k.schema().taggable)
            .collect();
        self.scan_kinds(items, stack, &taggable).await
    }

    async fn tagged(&self, kind: Kind, stack: &str) -> Result<Vec<Orphan>, ProviderError> {
        let mut scan = self.scan_kinds(BTreeMap::new(), Some(stack), &[kind]).await;
        scan.tagged.remove(&kind).unwrap_or_else(|| Ok(Vec::new()))
    }

    async fn data(&self, query: &DataQuery) -> Result<Data, ProviderError> {
        let known = self.identity.as_ref().map(|i| i.account.as_str());
        kinds::data::lookup(&self.clients, query, known).await
    }
}
