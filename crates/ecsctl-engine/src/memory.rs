//! An in-memory [`Provider`] for engine tests: objects with ids like `vpc-000001`, outputs
//! per the kind schema, tags honoured by `find` and `tagged`, injectable faults and delays,
//! a call log and per-API concurrency counters.
//!
//! It enforces referential sanity where cheap, so ordering bugs show: deleting an object
//! whose id or ARN another live object's arguments hold fails with `DependencyViolation`,
//! and creating or updating with the id or ARN of a deleted object fails with
//! `InvalidInput`.

use async_trait::async_trait;
use ecsctl_graph::{Address, Data, Kind};
use ecsctl_provider::{
    Attrs, Call, Created, DataQuery, ErrorClass, Live, Orphan, Provider, ProviderError, ReadItem,
};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// The provider operations, for faults, delays and the call log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Create,
    Find,
    Update,
    Delete,
    Read,
    Tagged,
    Data,
    /// Matches every method (in faults and delays only).
    Any,
}

/// Which calls a fault or delay applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Any,
    Kind(Kind),
    Address(Address),
}

impl Target {
    fn matches(&self, kind: Option<Kind>, address: Option<&Address>) -> bool {
        match self {
            Target::Any => true,
            Target::Kind(k) => kind == Some(*k),
            Target::Address(a) => address == Some(a),
        }
    }
}

/// What an injected fault does to the call it hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The call fails with this class and changes nothing.
    Fail(ErrorClass),
    /// The call takes effect, then returns an error (the reply was lost).
    LoseReply,
    /// The call takes effect, then never returns (the process died mid-call).
    Hang,
}

#[derive(Clone, Debug)]
struct Fault {
    target: Target,
    method: Method,
    /// Matching calls seen since the fault was added.
    seen: u32,
    /// The fault hits matching calls number `first..=last` (1-based).
    first: u32,
    last: u32,
    effect: Effect,
}

/// One call as the provider saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct CallRecord {
    pub method: Method,
    pub address: Option<Address>,
    pub kind: Option<Kind>,
    pub api: &'static str,
    pub start: Instant,
    /// `None` while the call is in flight (or hung).
    pub end: Option<Instant>,
    pub ok: bool,
}

/// An object the provider holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub id: String,
    pub kind: Kind,
    /// The address of the call that made it.
    pub address: Address,
    pub args: Attrs,
    pub outputs: Attrs,
    pub token: Option<String>,
    /// Creation order, to prefer the newest in tag look-ups.
    pub seq: u64,
}

impl Object {
    /// The strings other objects refer to this one by.
    fn handles(&self) -> Vec<String> {
        let mut h = vec![self.id.clone()];
        if let Some(Json::String(arn)) = self.outputs.get("arn") {
            h.push(arn.clone());
        }
        h
    }

    fn tag(&self, key: &str) -> Option<&str> {
        self.args.get("tags")?.get(key)?.as_str()
    }
}

#[derive(Default)]
struct Inner {
    objects: BTreeMap<String, Object>,
    /// Handles of deleted objects.
    dead: BTreeSet<String>,
    next_id: BTreeMap<Kind, u64>,
    seq: u64,
    faults: Vec<Fault>,
    delays: Vec<(Target, Method, Duration)>,
    calls: Vec<CallRecord>,
    in_flight: BTreeMap<&'static str, usize>,
    max_in_flight: BTreeMap<&'static str, usize>,
    total_in_flight: usize,
    max_total_in_flight: usize,
}

/// See the module docs.
#[derive(Default)]
pub struct MemoryProvider {
    inner: Mutex<Inner>,
}

/// Decrements the in-flight counters when a call ends or its future is dropped.
struct InFlight<'a> {
    provider: &'a MemoryProvider,
    api: &'static str,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut inner = self.provider.lock();
        if let Some(c) = inner.in_flight.get_mut(self.api) {
            *c = c.saturating_sub(1);
        }
        inner.total_in_flight = inner.total_in_flight.saturating_sub(1);
    }
}

fn id_prefix(kind: Kind) -> &'static str {
    use Kind::*;
    match kind {
        Vpc => "vpc",
        InternetGateway => "igw",
        Subnet => "subnet",
        RouteTable => "rtb",
        Eip => "eipalloc",
        NatGateway => "nat",
        HostedZone => "zone",
        DnsRecord => "record",
        SecurityGroup => "sg",
        IamRole => "role",
        IamInstanceProfile => "profile",
        EcsCluster => "cluster",
        LaunchTemplate => "lt",
        AutoscalingGroup => "asg",
        ScalingPolicy => "policy",
        Lb => "lb",
        LbTargetGroup => "tg",
        LbListener => "listener",
        LbListenerRule => "rule",
        LogGroup => "log",
        TaskDefinition => "td",
        EcsService => "svc",
    }
}

/// Every string anywhere in `v`.
fn strings<'a>(v: &'a Json, out: &mut Vec<&'a str>) {
    match v {
        Json::String(s) => out.push(s),
        Json::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Json::Object(m) => m.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

fn attr_strings(args: &Attrs) -> Vec<&str> {
    let mut out = Vec::new();
    args.values().for_each(|v| strings(v, &mut out));
    out
}

impl MemoryProvider {
    pub fn new() -> Self {
        MemoryProvider::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A test that panicked while holding the lock leaves consistent data behind.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add_fault(&self, target: Target, method: Method, first: u32, last: u32, effect: Effect) {
        self.lock().faults.push(Fault {
            target,
            method,
            seen: 0,
            first,
            last,
            effect,
        });
    }

    /// The next `times` matching calls fail with `class`, then they succeed again
    /// (e.g. `DependencyViolation` twice, then success).
    pub fn fail(&self, target: Target, method: Method, class: ErrorClass, times: u32) {
        self.add_fault(target, method, 1, times, Effect::Fail(class));
    }

    /// The `n`-th matching call from now (1-based) fails with `class`.
    pub fn fail_nth(&self, target: Target, method: Method, n: u32, class: ErrorClass) {
        self.add_fault(target, method, n, n, Effect::Fail(class));
    }

    /// The next matching call takes effect but its reply is lost (it returns an error).
    pub fn lose_reply(&self, target: Target, method: Method) {
        self.add_fault(target, method, 1, 1, Effect::LoseReply);
    }

    /// The next matching call takes effect, then never returns.
    pub fn hang(&self, target: Target, method: Method) {
        self.add_fault(target, method, 1, 1, Effect::Hang);
    }

    /// Every matching call takes `duration` (the longest matching delay applies).
    pub fn delay(&self, target: Target, method: Method, duration: Duration) {
        self.lock().delays.push((target, method, duration));
    }

    /// Make an object directly (no call is logged), as if an earlier apply had created it.
    pub fn insert(&self, address: &Address, args: Attrs) -> Created {
        let mut inner = self.lock();
        let obj = inner.make(address, args, None);
        Created {
            id: obj.id,
            outputs: obj.outputs,
        }
    }

    /// Every live object, by id.
    pub fn objects(&self) -> Vec<Object> {
        self.lock().objects.values().cloned().collect()
    }

    pub fn get(&self, id: &str) -> Option<Object> {
        self.lock().objects.get(id).cloned()
    }

    /// The live objects made by calls for `address`.
    pub fn live(&self, address: &Address) -> Vec<Object> {
        self.lock()
            .objects
            .values()
            .filter(|o| o.address == *address)
            .cloned()
            .collect()
    }

    /// The call log, in start order.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.lock().calls.clone()
    }

    /// How many calls of `method` were made for `target`.
    pub fn call_count(&self, method: Method, target: &Target) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| method == Method::Any || c.method == method)
            .filter(|c| target.matches(c.kind, c.address.as_ref()))
            .count()
    }

    /// The most calls ever in flight at once against `api`.
    pub fn max_concurrency(&self, api: &str) -> usize {
        self.lock().max_in_flight.get(api).copied().unwrap_or(0)
    }

    /// The most calls ever in flight at once, all APIs together.
    pub fn max_total_concurrency(&self) -> usize {
        self.lock().max_total_in_flight
    }

    /// Run one call: log it, count it in flight, apply delays and faults, then `op`.
    async fn call<T>(
        &self,
        method: Method,
        kind: Option<Kind>,
        address: Option<&Address>,
        op: impl FnOnce(&mut Inner) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let api = kind.map(|k| k.schema().api).unwrap_or("data");
        let (index, delay, effect) = {
            let mut inner = self.lock();
            let index = inner.calls.len();
            inner.calls.push(CallRecord {
                method,
                address: address.cloned(),
                kind,
                api,
                start: Instant::now(),
                end: None,
                ok: false,
            });
            *inner.in_flight.entry(api).or_default() += 1;
            let now = inner.in_flight[api];
            let max = inner.max_in_flight.entry(api).or_default();
            *max = (*max).max(now);
            inner.total_in_flight += 1;
            inner.max_total_in_flight = inner.max_total_in_flight.max(inner.total_in_flight);
            let delay = inner
                .delays
                .iter()
                .filter(|(t, m, _)| (*m == Method::Any || *m == method) && t.matches(kind, address))
                .map(|(_, _, d)| *d)
                .max()
                .unwrap_or_default();
            let mut effect = None;
            for f in inner.faults.iter_mut() {
                if (f.method == Method::Any || f.method == method)
                    && f.target.matches(kind, address)
                {
                    f.seen += 1;
                    if effect.is_none() && f.seen >= f.first && f.seen <= f.last {
                        effect = Some(f.effect);
                    }
                }
            }
            (index, delay, effect)
        };
        let _guard = InFlight {
            provider: self,
            api,
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let who = address.map(|a| a.to_string()).unwrap_or_else(|| api.into());
        let result = match effect {
            Some(Effect::Fail(class)) => Err(ProviderError::new(
                class,
                format!("injected {class} for {who}"),
            )
            .with_code(format!("{class:?}"))),
            _ => {
                let r = op(&mut self.lock());
                match (effect, r) {
                    (Some(Effect::LoseReply), Ok(_)) => Err(ProviderError::new(
                        ErrorClass::Other,
                        format!("connection reset while waiting for the reply for {who}"),
                    )),
                    (Some(Effect::Hang), _) => std::future::pending().await,
                    (_, r) => r,
                }
            }
        };
        let mut inner = self.lock();
        inner.calls[index].end = Some(Instant::now());
        inner.calls[index].ok = result.is_ok();
        result
    }
}

impl Inner {
    fn make(&mut self, address: &Address, args: Attrs, token: Option<&str>) -> Object {
        let kind = address.kind;
        let n = self.next_id.entry(kind).or_insert(0);
        *n += 1;
        let n = *n;
        let id = format!("{}-{n:06}", id_prefix(kind));
        let mut outputs = Attrs::new();
        for name in kind.schema().outputs {
            let v = match *name {
                "id" => continue,
                "arn" => json!(format!("arn:aws:memory:eu-west-2:123456789012:{kind}/{id}")),
                "dns_name" => json!(format!("{id}.memory.internal")),
                "zone_id" => json!(format!("Z{n:012}")),
                "latest_version" | "revision" => json!(1),
                "public_ip" => json!(format!("198.51.100.{}", n % 250)),
                "association_ids" | "name_servers" => json!([]),
                other => json!(format!("{other}-{id}")),
            };
            outputs.insert(name.to_string(), v);
        }
        self.seq += 1;
        let obj = Object {
            id: id.clone(),
            kind,
            address: address.clone(),
            args,
            outputs,
            token: token.map(str::to_string),
            seq: self.seq,
        };
        self.objects.insert(id, obj.clone());
        obj
    }

    /// Refuse arguments that hold the id or ARN of a deleted object.
    fn check_refs(&self, address: &Address, args: &Attrs) -> Result<(), ProviderError> {
        match attr_strings(args)
            .into_iter()
            .find(|s| self.dead.contains(*s))
        {
            Some(s) => Err(ProviderError::new(
                ErrorClass::InvalidInput,
                format!("{s} does not exist (it was deleted)"),
            )
            .with_code("InvalidParameterValue")
            .at(address)),
            None => Ok(()),
        }
    }

    /// Look up a live object of `kind` by id.
    fn live(&self, kind: Kind, id: &str) -> Option<&Object> {
        self.objects.get(id).filter(|o| o.kind == kind)
    }
}

#[async_trait]
impl Provider for MemoryProvider {
    async fn create(
        &self,
        call: &Call<'_>,
        args: &Attrs,
        token: &str,
    ) -> Result<Created, ProviderError> {
        let a = call.address;
        self.call(Method::Create, Some(a.kind), Some(a), |inner| {
            inner.check_refs(a, args)?;
            // Idempotency: a repeated token returns the first object.
            if let Some(o) = inner
                .objects
                .values()
                .find(|o| o.kind == a.kind && o.token.as_deref() == Some(token))
            {
                return Ok(Created {
                    id: o.id.clone(),
                    outputs: o.outputs.clone(),
                });
            }
            let o = inner.make(a, args.clone(), Some(token));
            Ok(Created {
                id: o.id,
                outputs: o.outputs,
            })
        })
        .await
    }

    async fn find(
        &self,
        call: &Call<'_>,
        args: &Attrs,
        token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let a = call.address;
        self.call(Method::Find, Some(a.kind), Some(a), |inner| {
            let of_kind = || inner.objects.values().filter(|o| o.kind == a.kind);
            let by_token = of_kind().find(|o| o.token.as_deref() == Some(token));
            let wanted_address = args
                .get("tags")
                .and_then(|t| t.get("ecsctl:address"))
                .and_then(Json::as_str);
            let wanted_stack = args
                .get("tags")
                .and_then(|t| t.get("ecsctl:stack"))
                .and_then(Json::as_str);
            let by_tags = || {
                of_kind()
                    .filter(|o| {
                        wanted_address.is_some()
                            && o.tag("ecsctl:address") == wanted_address
                            && o.tag("ecsctl:stack") == wanted_stack
                    })
                    .max_by_key(|o| o.seq)
            };
            let by_name = || {
                let name = args.get("name").filter(|n| n.is_string())?;
                of_kind()
                    .filter(|o| !a.kind.schema().taggable && o.args.get("name") == Some(name))
                    .max_by_key(|o| o.seq)
            };
            Ok(by_token.or_else(by_tags).or_else(by_name).map(|o| Created {
                id: o.id.clone(),
                outputs: o.outputs.clone(),
            }))
        })
        .await
    }

    async fn update(
        &self,
        call: &Call<'_>,
        id: &str,
        _old: &Attrs,
        new: &Attrs,
        _outputs: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        let a = call.address;
        self.call(Method::Update, Some(a.kind), Some(a), |inner| {
            inner.check_refs(a, new)?;
            let Some(o) = inner.objects.get_mut(id).filter(|o| o.kind == a.kind) else {
                return Err(ProviderError::new(
                    ErrorClass::NotFound,
                    format!("{} {id} does not exist", a.kind),
                )
                .at(a));
            };
            o.args = new.clone();
            if let Some(v) = o.outputs.get_mut("latest_version") {
                *v = json!(v.as_i64().unwrap_or(1) + 1);
            }
            Ok(o.outputs.clone())
        })
        .await
    }

    async fn delete(
        &self,
        call: &Call<'_>,
        id: &str,
        _args: &Attrs,
        _outputs: &Attrs,
    ) -> Result<(), ProviderError> {
        let a = call.address;
        self.call(Method::Delete, Some(a.kind), Some(a), |inner| {
            let Some(obj) = inner.live(a.kind, id) else {
                return Ok(());
            };
            let handles = obj.handles();
            let holder = inner.objects.values().find(|o| {
                o.id != id
                    && attr_strings(&o.args)
                        .iter()
                        .any(|s| handles.iter().any(|h| h == s))
            });
            if let Some(h) = holder {
                return Err(ProviderError::new(
                    ErrorClass::DependencyViolation,
                    format!(
                        "{} {id} has a dependent object: {} {} ({}) still uses it",
                        a.kind, h.kind, h.id, h.address
                    ),
                )
                .with_code("DependencyViolation")
                .at(a));
            }
            if let Some(o) = inner.objects.remove(id) {
                inner.dead.extend(o.handles());
            }
            Ok(())
        })
        .await
    }

    async fn read(
        &self,
        kind: Kind,
        items: &[ReadItem],
    ) -> Result<BTreeMap<Address, Option<Live>>, ProviderError> {
        self.call(Method::Read, Some(kind), None, |inner| {
            Ok(items
                .iter()
                .map(|item| {
                    let live = inner.live(kind, &item.id).map(|o| Live {
                        args: o.args.clone(),
                        outputs: o.outputs.clone(),
                    });
                    (item.address.clone(), live)
                })
                .collect())
        })
        .await
    }

    async fn tagged(&self, kind: Kind, stack: &str) -> Result<Vec<Orphan>, ProviderError> {
        self.call(Method::Tagged, Some(kind), None, |inner| {
            Ok(inner
                .objects
                .values()
                .filter(|o| o.kind == kind && o.tag("ecsctl:stack") == Some(stack))
                .map(|o| Orphan {
                    address: o
                        .tag("ecsctl:address")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or_else(|| o.address.clone()),
                    id: o.id.clone(),
                })
                .collect())
        })
        .await
    }

    async fn data(&self, query: &DataQuery) -> Result<Data, ProviderError> {
        self.call(Method::Data, None, None, |_| {
            Ok(Data {
                azs: query.az_count.map(|n| {
                    (0..n)
                        .map(|i| format!("eu-west-2{}", char::from(b'a' + (i % 26) as u8)))
                        .collect()
                }),
                ami_id: query
                    .ami_parameter
                    .as_ref()
                    .map(|_| "ami-0123456789abcdef0".to_string()),
                region: Some("eu-west-2".to_string()),
                account_id: Some("123456789012".to_string()),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecsctl_provider::{Options, Quiet};

    fn attrs(v: Json) -> Attrs {
        v.as_object().cloned().unwrap_or_default()
    }

    fn tags(address: &str) -> Json {
        json!({"Name": "t", "ecsctl:stack": "t", "ecsctl:address": address})
    }

    async fn create(
        p: &MemoryProvider,
        a: &Address,
        args: Json,
        token: &str,
    ) -> Result<Created, ProviderError> {
        let options = Options::default();
        let call = Call {
            address: a,
            progress: &Quiet,
            options: &options,
        };
        p.create(&call, &attrs(args), token).await
    }

    async fn delete(p: &MemoryProvider, a: &Address, id: &str) -> Result<(), ProviderError> {
        let options = Options::default();
        let call = Call {
            address: a,
            progress: &Quiet,
            options: &options,
        };
        p.delete(&call, id, &Attrs::new(), &Attrs::new()).await
    }

    #[tokio::test]
    async fn ids_and_outputs_follow_the_kind_schema() {
        let p = MemoryProvider::new();
        let vpc = Address::new(Kind::Vpc, "main");
        let c = create(&p, &vpc, json!({"tags": tags("vpc.main")}), "t1")
            .await
            .unwrap();
        assert_eq!(c.id, "vpc-000001");
        let role = Address::new(Kind::IamRole, "x");
        let c = create(&p, &role, json!({}), "t2").await.unwrap();
        assert_eq!(c.id, "role-000001");
        assert!(c.outputs["arn"]
            .as_str()
            .unwrap()
            .ends_with("iam_role/role-000001"));
        // Same token: the same object (idempotency).
        let again = create(&p, &role, json!({}), "t2").await.unwrap();
        assert_eq!(again.id, "role-000001");
        assert_eq!(p.objects().len(), 2);
    }

    #[tokio::test]
    async fn deleting_a_referenced_object_is_a_dependency_violation() {
        let p = MemoryProvider::new();
        let vpc = Address::new(Kind::Vpc, "main");
        let sub = Address::new(Kind::Subnet, "a");
        let v = create(&p, &vpc, json!({}), "t1").await.unwrap();
        let s = create(&p, &sub, json!({"vpc_id": v.id}), "t2")
            .await
            .unwrap();
        let err = delete(&p, &vpc, &v.id).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::DependencyViolation);
        assert!(err.message.contains(&s.id), "{err}");
        delete(&p, &sub, &s.id).await.unwrap();
        delete(&p, &vpc, &v.id).await.unwrap();
        // Already gone is success; using a deleted id is refused.
        delete(&p, &vpc, &v.id).await.unwrap();
        let err = create(&p, &sub, json!({"vpc_id": v.id}), "t3")
            .await
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::InvalidInput);
    }

    #[tokio::test]
    async fn faults_hit_the_counted_calls_only() {
        let p = MemoryProvider::new();
        let vpc = Address::new(Kind::Vpc, "main");
        p.fail(
            Target::Kind(Kind::Vpc),
            Method::Create,
            ErrorClass::Throttled,
            2,
        );
        for _ in 0..2 {
            let e = create(&p, &vpc, json!({}), "t").await.unwrap_err();
            assert_eq!(e.class, ErrorClass::Throttled);
        }
        assert!(create(&p, &vpc, json!({}), "t").await.is_ok());
        p.lose_reply(Target::Address(vpc.clone()), Method::Create);
        assert!(create(&p, &vpc, json!({}), "u").await.is_err());
        assert_eq!(p.objects().len(), 2, "the lost-reply create took effect");
        assert_eq!(p.call_count(Method::Create, &Target::Any), 4);
        assert!(p.calls().iter().all(|c| c.end.is_some()));
    }

    #[tokio::test]
    async fn find_uses_the_token_then_the_tags() {
        let p = MemoryProvider::new();
        let vpc = Address::new(Kind::Vpc, "main");
        let made = create(&p, &vpc, json!({"tags": tags("vpc.main")}), "tok")
            .await
            .unwrap();
        let options = Options::default();
        let call = Call {
            address: &vpc,
            progress: &Quiet,
            options: &options,
        };
        let by_token = p.find(&call, &Attrs::new(), "tok").await.unwrap();
        assert_eq!(by_token.map(|c| c.id), Some(made.id.clone()));
        let by_tags = p
            .find(&call, &attrs(json!({"tags": tags("vpc.main")})), "other")
            .await
            .unwrap();
        assert_eq!(by_tags.map(|c| c.id), Some(made.id.clone()));
        let none = p
            .find(&call, &attrs(json!({"tags": tags("vpc.other")})), "other")
            .await
            .unwrap();
        assert_eq!(none, None);
        let orphans = p.tagged(Kind::Vpc, "t").await.unwrap();
        assert_eq!(
            orphans,
            vec![Orphan {
                address: vpc,
                id: made.id
            }]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_counted_per_api() {
        let p = std::sync::Arc::new(MemoryProvider::new());
        p.delay(Target::Any, Method::Any, Duration::from_secs(1));
        let mut tasks = Vec::new();
        for i in 0..3 {
            let p = p.clone();
            tasks.push(tokio::spawn(async move {
                let a = Address::indexed(Kind::Subnet, "s", i);
                create(&p, &a, json!({}), &format!("t{i}")).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(p.max_concurrency("ec2"), 3);
        assert_eq!(p.max_concurrency("iam"), 0);
        assert_eq!(p.max_total_concurrency(), 3);
    }
}
