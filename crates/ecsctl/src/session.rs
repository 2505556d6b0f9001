//! What several commands share: reading the stack file, finding and locking the state,
//! building the AWS provider, looking up data (AZs, AMI) and caching it in state.

use crate::cli::Global;
use anyhow::{anyhow, Context, Result};
use ecsctl_aws::AwsProvider;
use ecsctl_graph::Data;
use ecsctl_provider::{DataQuery, Provider};
use ecsctl_stack::{Ami, Azs, Stack};
use ecsctl_state::{Lock, State};
use std::path::PathBuf;
use std::sync::Arc;

/// Read and validate the stack file; on problems print every one and fail.
pub fn load_stack(g: &Global) -> Result<Stack> {
    ecsctl_stack::load(&g.file).map_err(|d| {
        eprint!("{}", d.render());
        anyhow!(
            "{} has {} problem{}; fix {} and run the command again",
            g.file.display(),
            d.0.len(),
            if d.0.len() == 1 { "" } else { "s" },
            if d.0.len() == 1 { "it" } else { "them" }
        )
    })
}

pub fn state_path(g: &Global) -> PathBuf {
    g.state
        .clone()
        .unwrap_or_else(|| ecsctl_state::default_path(&g.file))
}

/// The stack, its state (new if there is none) and the lock held while they are used.
pub struct Session {
    pub stack: Stack,
    pub state_path: PathBuf,
    pub state: State,
    _lock: Lock,
}

impl Session {
    pub fn open(g: &Global, operation: &str) -> Result<Session> {
        let stack = load_stack(g)?;
        let state_path = state_path(g);
        let lock = Lock::acquire(&state_path, operation, g.lock_timeout)?;
        let state = ecsctl_state::read_or_new(&state_path, &stack.name)?;
        Ok(Session {
            stack,
            state_path,
            state,
            _lock: lock,
        })
    }

    /// The AWS provider from the standard chain; fails early without a region.
    pub async fn provider(&self) -> Result<Arc<AwsProvider>> {
        let settings = ecsctl_aws::RetrySettings::default();
        let p = AwsProvider::connect(&self.stack.name, self.stack.region.as_deref(), &settings)
            .await
            .map_err(|e| anyhow!("{}; set `region` in [stack] or AWS_REGION", e.message))?;
        Ok(Arc::new(p))
    }

    /// Look up what the stack needs from the cloud (AZ names, the AMI, region, account)
    /// and remember it in state; without `refresh`, reuse what state remembers.
    pub async fn data(&mut self, provider: &dyn Provider, refresh: bool) -> Result<Data> {
        let cached = cached_data(&self.state);
        if !refresh && cached.region.is_some() {
            return Ok(cached);
        }
        let query = DataQuery {
            az_count: match &self.stack.network.azs {
                Azs::Count(n) => Some(*n),
                Azs::Names(_) => None,
            },
            ami_parameter: match &self.stack.cluster.ami {
                Ami::Ssm(p) => Some(p.clone()),
                Ami::Id(_) => None,
            },
        };
        let data = provider
            .data(&query)
            .await
            .context("looking up availability zones and the AMI")?;
        remember_data(&mut self.state, &data);
        Ok(data)
    }
}

pub fn cached_data(state: &State) -> Data {
    let map: serde_json::Map<String, serde_json::Value> = state
        .data
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::from_value(serde_json::Value::Object(map)).unwrap_or_default()
}

pub fn remember_data(state: &mut State, data: &Data) {
    if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(data) {
        for (k, v) in m {
            if !v.is_null() {
                state.data.insert(k, v);
            }
        }
    }
}

impl Session {
    /// Data lookups, expansion and the pure plan (or the destroy plan).
    pub async fn make_plan(
        &mut self,
        provider: &dyn Provider,
        refresh: bool,
        destroy: bool,
    ) -> Result<ecsctl_plan::Plan> {
        let hash = self.stack.source_hash.clone();
        let mut plan = if destroy {
            ecsctl_plan::plan_destroy(&self.state, &hash)
        } else {
            let data = self.data(provider, refresh).await?;
            let graph = ecsctl_graph::expand(&self.stack, &data);
            ecsctl_plan::plan(&graph, &self.state, &hash)?
        };
        plan.data = self.state.data.clone();
        Ok(plan)
    }
}
