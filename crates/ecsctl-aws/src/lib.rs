//! The AWS provider: the one implementation of [`ecsctl_provider::Provider`] that talks to
//! AWS, through the official SDK. One module per resource kind under `kinds/`, each a
//! [`kinds::Handler`]; this file only dispatches.

mod args;
mod clients;
mod error;
pub mod kinds;
mod read_set;
pub mod safe_create;
mod wait;

pub use clients::{CallCounter, CallStats, Clients, RetrySettings};
pub use read_set::ReadSet;

use async_trait::async_trait;
use ecsctl_graph::{Address, Data, Kind};
use ecsctl_provider::{
    Attrs, Call, Created, DataQuery, ErrorClass, Live, Orphan, Provider, ProviderError, ReadAll,
    ReadItem,
};
use std::collections::BTreeMap;

/// The AWS provider for one stack.
pub struct AwsProvider {
    pub clients: Clients,
    /// The stack name (`ecsctl:stack` tag value).
    pub stack: String,
}

impl AwsProvider {
    /// A provider for `stack` over ready-made clients (tests, custom configuration).
    pub fn new(stack: &str, clients: Clients) -> Self {
        AwsProvider {
            clients,
            stack: stack.to_string(),
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
        let provider = Self::from_env_with(stack, region, settings).await;
        if provider.clients.region.is_empty() {
            return Err(ProviderError::new(
                ErrorClass::InvalidInput,
                "no AWS region: set `region` in the [stack] table, AWS_REGION, or a region in \
                 the AWS profile",
            ));
        }
        Ok(provider)
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
        safe_create::create(
            kinds::handler(call.address.kind),
            &self.clients,
            call,
            args,
            token,
        )
        .await
        .map_err(|e| e.at(call.address))
    }

    async fn find(
        &self,
        call: &Call<'_>,
        args: &Attrs,
        token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        kinds::handler(call.address.kind)
            .find(&self.clients, call, args, token)
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
        kinds::handler(call.address.kind)
            .update(&self.clients, call, id, old, new, outputs)
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
        kinds::handler(call.address.kind)
            .delete(&self.clients, call, id, args, outputs)
            .await
            .map_err(|e| e.at(call.address))
    }

    async fn read(
        &self,
        kind: Kind,
        items: &[ReadItem],
    ) -> Result<BTreeMap<Address, Option<Live>>, ProviderError> {
        let mut all = self
            .read_all(BTreeMap::from([(kind, items.to_vec())]))
            .await;
        all.remove(&kind).unwrap_or_else(|| Ok(BTreeMap::new()))
    }

    /// Every kind concurrently, each in its own task, over one [`ReadSet`] so the calls
    /// several kinds share (ELBv2 tags, the IAM listing, ECS services) are made once.
    async fn read_all(&self, items: BTreeMap<Kind, Vec<ReadItem>>) -> ReadAll {
        let set = std::sync::Arc::new(ReadSet::new(items));
        let mut tasks = tokio::task::JoinSet::new();
        let mut kinds = std::collections::HashMap::new();
        for (kind, _) in set.kinds() {
            let (set, clients) = (set.clone(), self.clients.clone());
            let handle = tasks.spawn(async move {
                let r = kinds::handler(kind)
                    .read(&clients, &set, set.items(kind))
                    .await;
                (kind, r)
            });
            kinds.insert(handle.id(), kind);
        }
        let mut out = ReadAll::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((kind, r)) => {
                    out.insert(kind, r);
                }
                Err(e) => {
                    let kind = kinds.get(&e.id()).copied().unwrap_or(Kind::Vpc);
                    let err = ProviderError::new(
                        ErrorClass::Other,
                        format!("reading every {kind} failed unexpectedly (a bug in ecsctl): {e}"),
                    );
                    out.insert(kind, Err(err));
                }
            }
        }
        out
    }

    async fn tagged(&self, kind: Kind, stack: &str) -> Result<Vec<Orphan>, ProviderError> {
        kinds::handler(kind).tagged(&self.clients, stack).await
    }

    async fn data(&self, query: &DataQuery) -> Result<Data, ProviderError> {
        kinds::data::lookup(&self.clients, query).await
    }
}
