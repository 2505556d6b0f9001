//! What the provider tests against moto share: a provider in an account of its own, calls
//! at an address, tags as the expansion writes them, and reads of a few items.

#![allow(dead_code)]

use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use ecsctl_aws::{AwsProvider, Clients, RetrySettings};
use ecsctl_graph::{Address, Kind};
use ecsctl_provider::{Attrs, Call, Live, Options, Provider, Quiet, ReadItem};
use ecsctl_testing::{next_account, AccountHeader, Moto};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;

pub struct Env {
    pub p: AwsProvider,
    pub stack: String,
    /// The emulator account this provider works in (each test has its own).
    pub account: String,
    pub opts: Options,
}

pub fn attrs(v: Json) -> Attrs {
    v.as_object().cloned().expect("an object")
}

pub fn addr(s: &str) -> Address {
    s.parse().expect("address")
}

impl Env {
    /// A provider for `stack` in a fresh emulator account, with quick retries.
    pub async fn new(stack: &str) -> Env {
        let account = next_account();
        let conf = Moto::get().sdk_config().await;
        let clients = Clients::from_conf_settings(
            &conf,
            &RetrySettings::quick(),
            &[SharedInterceptor::new(AccountHeader(account.clone()))],
        );
        Env {
            p: AwsProvider::new(stack, clients),
            stack: stack.to_string(),
            account,
            opts: Options::default(),
        }
    }

    pub fn call<'a>(&'a self, address: &'a Address) -> Call<'a> {
        Call {
            address,
            progress: &Quiet,
            options: &self.opts,
        }
    }

    /// The tags the expansion gives a resource at `address` named `name`.
    pub fn tags(&self, address: &Address, name: &str) -> Json {
        json!({
            "Name": name,
            "ecsctl:stack": self.stack,
            "ecsctl:address": address.to_string(),
            "Environment": "dev",
        })
    }

    pub async fn read(
        &self,
        kind: Kind,
        items: &[(&Address, &str, &Attrs)],
    ) -> BTreeMap<Address, Option<Live>> {
        let items: Vec<ReadItem> = items
            .iter()
            .map(|(a, id, args)| ReadItem {
                address: (*a).clone(),
                id: id.to_string(),
                args: (*args).clone(),
                outputs: Attrs::new(),
            })
            .collect();
        self.p.read(kind, &items).await.expect("read")
    }

    pub async fn read_one(&self, a: &Address, id: &str, args: &Attrs) -> Option<Live> {
        self.read(a.kind, &[(a, id, args)])
            .await
            .remove(a)
            .expect("an answer")
    }
}

impl Env {
    /// The same, not waiting for services to become stable (moto runs no tasks).
    pub fn no_wait(mut self) -> Env {
        self.opts.wait_for_services = false;
        self
    }
}
