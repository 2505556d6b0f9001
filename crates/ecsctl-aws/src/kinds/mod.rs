//! One module per resource kind. Each implements [`Handler`] for its kind; `handler`
//! dispatches.

use crate::Clients;
use async_trait::async_trait;
use ecsctl_graph::{Address, Kind};
use ecsctl_provider::{Attrs, Call, Created, Live, Orphan, ProviderError, ReadItem};
use std::collections::BTreeMap;

pub mod data;

/// The operations of one resource kind. Arguments and outputs follow
/// `ecsctl_graph::kinds` for the kind.
#[async_trait]
pub trait Handler: Send + Sync {
    async fn create(
        &self,
        aws: &Clients,
        call: &Call<'_>,
        args: &Attrs,
        token: &str,
    ) -> Result<Created, ProviderError>;
    async fn find(
        &self,
        aws: &Clients,
        call: &Call<'_>,
        args: &Attrs,
        token: &str,
    ) -> Result<Option<Created>, ProviderError>;
    async fn update(
        &self,
        aws: &Clients,
        call: &Call<'_>,
        id: &str,
        old: &Attrs,
        new: &Attrs,
        outputs: &Attrs,
    ) -> Result<Attrs, ProviderError>;
    async fn delete(
        &self,
        aws: &Clients,
        call: &Call<'_>,
        id: &str,
        args: &Attrs,
        outputs: &Attrs,
    ) -> Result<(), ProviderError>;
    async fn read(
        &self,
        aws: &Clients,
        items: &[ReadItem],
    ) -> Result<BTreeMap<Address, Option<Live>>, ProviderError>;
    async fn tagged(&self, aws: &Clients, stack: &str) -> Result<Vec<Orphan>, ProviderError>;
}

pub fn handler(kind: Kind) -> &'static dyn Handler {
    match kind {
        _ => todo_kind(kind),
    }
}

fn todo_kind(kind: Kind) -> &'static dyn Handler {
    panic!("no AWS handler for {kind} yet")
}
