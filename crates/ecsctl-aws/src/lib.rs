//! The AWS provider: the one implementation of [`ecsctl_provider::Provider`] that talks to
//! AWS, through the official SDK. One module per resource kind under `kinds/`, each a
//! [`kinds::Handler`]; this file only dispatches.

mod args;
mod clients;
mod error;
pub mod kinds;
mod wait;

pub use clients::Clients;

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
    /// Clients from the standard chain (env, profile, SSO, IMDS); `AWS_ENDPOINT_URL` points
    /// every service at an emulator. `region` overrides the chain's region.
    pub async fn from_env(stack: &str, region: Option<&str>) -> Self {
        AwsProvider {
            clients: Clients::from_env(region).await,
            stack: stack.to_string(),
        }
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
        kinds::handler(call.address.kind)
            .create(&self.clients, call, args, token)
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
