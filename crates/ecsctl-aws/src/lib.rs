//! The AWS provider: the one implementation of [`ecsctl_provider::Provider`] that talks to
//! AWS, through the official SDK. One module per resource kind under `kinds/`, each a
//! [`kinds::Handler`]; this file only dispatches.

mod args;
mod clients;
mod error;
pub mod kinds;
pub mod safe_create;
mod wait;

pub use clients::{CallCounter, CallStats, Clients, RetrySettings};

use async_trait::async_trait;
use ecsctl_graph::{Address, Data, Kind};
use ecsctl_provider::{
    Attrs, Call, Created, DataQuery, Live, Orphan, Provider, ProviderError, ReadItem,
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
                ecsctl_provider::ErrorClass::InvalidInput,
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
        kinds::handler(kind).read(&self.clients, items).await
    }

    async fn tagged(&self, kind: Kind, stack: &str) -> Result<Vec<Orphan>, ProviderError> {
        kinds::handler(kind).tagged(&self.clients, stack).await
    }

    async fn data(&self, query: &DataQuery) -> Result<Data, ProviderError> {
        kinds::data::lookup(&self.clients, query).await
    }
}
