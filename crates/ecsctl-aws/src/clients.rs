//! SDK clients built once from the standard configuration chain.

use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

/// One client per AWS API the stack uses.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub iam: aws_sdk_iam::Client,
    pub route53: aws_sdk_route53::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub sts: aws_sdk_sts::Client,
    /// The region every client uses.
    pub region: String,
}

impl Clients {
    pub async fn from_env(region: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = region {
            loader = loader.region(aws_config::Region::new(r.to_string()));
        }
        let conf = loader.load().await;
        Self::from_conf(&conf)
    }

    pub fn from_conf(conf: &aws_types::SdkConfig) -> Self {
        Self::build(conf, None)
    }

    /// Like [`Clients::from_conf`], with an interceptor on every client (tests use it to
    /// give each test its own emulator account).
    pub fn from_conf_with(conf: &aws_types::SdkConfig, interceptor: SharedInterceptor) -> Self {
        Self::build(conf, Some(interceptor))
    }

    fn build(conf: &aws_types::SdkConfig, icpt: Option<SharedInterceptor>) -> Self {
        macro_rules! client {
            ($sdk:ident) => {{
                let mut b = $sdk::config::Builder::from(conf);
                if let Some(i) = &icpt {
                    b.push_interceptor(i.clone());
                }
                $sdk::Client::from_conf(b.build())
            }};
        }
        Clients {
            ec2: client!(aws_sdk_ec2),
            ecs: client!(aws_sdk_ecs),
            autoscaling: client!(aws_sdk_autoscaling),
            elbv2: client!(aws_sdk_elasticloadbalancingv2),
            iam: client!(aws_sdk_iam),
            route53: client!(aws_sdk_route53),
            ssm: client!(aws_sdk_ssm),
            logs: client!(aws_sdk_cloudwatchlogs),
            sts: client!(aws_sdk_sts),
            region: conf.region().map(|r| r.to_string()).unwrap_or_default(),
        }
    }
}
