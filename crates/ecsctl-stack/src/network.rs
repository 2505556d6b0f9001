//! `[network]`: the VPC block, availability zones, subnets (given or carved) and NAT.

use crate::cidr::{self, MAX_PREFIX, MIN_PREFIX};
use crate::keys;
use crate::reader::{cidr_list, report, section, Ctx, Got, Section, Span};
use crate::rules;
use crate::text::suggest;
use crate::{Azs, NatMode, Network};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

/// Fewest AZs: an Application Load Balancer needs subnets in two.
pub(crate) const MIN_AZS: usize = 2;
pub(crate) const MAX_AZS: usize = 6;
/// The largest prefix an ALB subnet may have (AWS requires at least a /27).
const ALB_MAX_PREFIX: u8 = 27;

const NAT_MODES: &[&str] = &["single", "per_az", "none"];

pub(crate) fn read(ctx: &mut Ctx<'_>, root: &Section<'_>, region: Option<&str>) -> Network {
    let default_vpc = Ipv4Net::new_assert(Ipv4Addr::new(10, 0, 0, 0), 16);
    let s = match section(ctx, root, "network") {
        Got::Val(s, _) => Some(s),
        Got::Absent => None,
        // Reported already; check the rest of the file against the defaults.
        Got::Bad => None,
    };
    if let Some(s) = &s {
        s.check_keys(ctx, keys::NETWORK);
    }
    let anchor = s.as_ref().and_then(|s| s.span.clone()).or(Some(0..0));

    let (vpc, vpc_span) = match s.as_ref().map(|s| read_vpc(ctx, s)) {
        Some(Got::Val(net, span)) => (Some(net), span),
        Some(Got::Bad) => (None, anchor.clone()),
        _ => (Some(default_vpc), anchor.clone()),
    };
    let azs = match s.as_ref() {
        Some(s) => read_azs(ctx, s, region),
        None => Some(Azs::Count(2)),
    };
    let nat = s.as_ref().map_or(NatMode::Single, |s| read_nat(ctx, s));

    let (public, private) = match s.as_ref() {
        Some(s) => (
            cidr_list(
                ctx,
                s,
                "public_subnets",
                "[\"10.0.0.0/24\", \"10.0.1.0/24\"]",
            ),
            cidr_list(
                ctx,
                s,
                "private_subnets",
                "[\"10.0.128.0/24\", \"10.0.129.0/24\"]",
            ),
        ),
        None => (Got::Absent, Got::Absent),
    };

    let mut network = Network {
        cidr: vpc.unwrap_or(default_vpc),
        azs: azs.clone().unwrap_or(Azs::Count(2)),
        public_subnets: Vec::new(),
        private_subnets: Vec::new(),
        nat,
    };

    match (public, private) {
        (Got::Absent, Got::Absent) => {
            if let (Some(vpc), Some(azs)) = (vpc, &azs) {
                match carve(&vpc, azs.count()) {
                    Ok((public, private)) => {
                        network.public_subnets = public;
                        network.private_subnets = private;
                    }
                    Err(p) => ctx.error(&vpc_span, p.reason, p.hint),
                }
            }
        }
        (Got::Val(_, span), Got::Absent) | (Got::Absent, Got::Val(_, span)) => {
            let (given, missing) = if s
                .as_ref()
                .is_some_and(|s| s.entry("public_subnets").is_some())
            {
                ("public_subnets", "private_subnets")
            } else {
                ("private_subnets", "public_subnets")
            };
            ctx.error(
                &span,
                format!("`{given}` is given in [network] but `{missing}` is not"),
                format!("give `{missing}` too (one block per availability zone), or neither to carve both from `cidr`"),
            );
        }
        (Got::Val(public, public_span), Got::Val(private, private_span)) => {
            if let Some(azs) = &azs {
                check_count(
                    ctx,
                    "public_subnets",
                    public.len(),
                    &public_span,
                    azs.count(),
                );
                check_count(
                    ctx,
                    "private_subnets",
                    private.len(),
                    &private_span,
                    azs.count(),
                );
            }
            check_subnets(ctx, vpc.as_ref(), &public, &private);
            network.public_subnets = public.into_iter().map(|(n, _)| n).collect();
            network.private_subnets = private.into_iter().map(|(n, _)| n).collect();
        }
        // One of the lists was wrong; that is reported already.
        _ => {}
    }
    network
}

fn read_vpc(ctx: &mut Ctx<'_>, s: &Section<'_>) -> Got<Ipv4Net> {
    let (text, span) = match s.string(ctx, "cidr", "\"10.0.0.0/16\"") {
        Got::Val(t, span) => (t, span),
        Got::Absent => {
            return Got::Val(
                Ipv4Net::new_assert(Ipv4Addr::new(10, 0, 0, 0), 16),
                s.span.clone(),
            )
        }
        Got::Bad => return Got::Bad,
    };
    match cidr::parse(&text) {
        Ok(net) if (MIN_PREFIX..=MAX_PREFIX).contains(&net.prefix_len()) => Got::Val(net, span),
        Ok(net) => {
            ctx.error(
                &span,
                format!(
                    "the VPC block {net} is a /{}; AWS accepts VPC blocks from /{MIN_PREFIX} to /{MAX_PREFIX}",
                    net.prefix_len()
                ),
                "use a block such as `10.0.0.0/16`",
            );
            Got::Bad
        }
        Err(p) => {
            report(ctx, &span, "VPC block", &text, p);
            Got::Bad
        }
    }
}

fn read_azs(ctx: &mut Ctx<'_>, s: &Section<'_>, region: Option<&str>) -> Option<Azs> {
    let span = s.value_span("azs");
    let Some((_, item)) = s.entry("azs") else {
        return Some(Azs::Count(2));
    };
    let count_hint = format!(
        "use `azs = 2` (up to {MAX_AZS}); an Application Load Balancer needs subnets in at least {MIN_AZS} availability zones"
    );
    if item.as_integer().is_some() {
        let n = s.integer(ctx, "azs", "2").ok()?;
        if n < MIN_AZS as i64 || n > MAX_AZS as i64 {
            ctx.error(
                &span,
                format!("azs = {n} in [network] is outside {MIN_AZS} to {MAX_AZS}"),
                count_hint,
            );
            return None;
        }
        return Some(Azs::Count(n as usize));
    }
    if item.as_array().is_none() {
        ctx.error(
            &span,
            format!(
                "`azs` in [network] must be a count or a list of zone names, found {}",
                crate::reader::type_name(item)
            ),
            "for example `azs = 2` or `azs = [\"eu-west-2a\", \"eu-west-2b\"]`",
        );
        return None;
    }
    let names = s
        .string_array(ctx, "azs", "[\"eu-west-2a\", \"eu-west-2b\"]")
        .ok()?;
    let mut ok = true;
    let mut seen: Vec<&str> = Vec::new();
    let mut first_region: Option<&str> = None;
    for (name, name_span) in &names {
        let az_region = match rules::az_name(name) {
            Ok(r) => r,
            Err(p) => {
                report(ctx, name_span, "availability zone", name, p);
                ok = false;
                continue;
            }
        };
        if let Some(r) = region.filter(|r| *r != az_region) {
            ctx.error(
                name_span,
                format!("availability zone `{name}` is not in the stack's region {r}"),
                format!("use zones of {r}, e.g. `{r}a`"),
            );
            ok = false;
        } else if let Some(first) = first_region.filter(|f| *f != az_region) {
            ctx.error(
                name_span,
                format!(
                    "availability zone `{name}` is in {az_region} but the first zone is in {first}"
                ),
                "list zones of one region",
            );
            ok = false;
        }
        first_region.get_or_insert(az_region);
        if seen.contains(&name.as_str()) {
            ctx.error(
                name_span,
                format!("availability zone `{name}` is listed twice"),
                "list each zone once",
            );
            ok = false;
        }
        seen.push(name);
    }
    if names.len() < MIN_AZS || names.len() > MAX_AZS {
        ctx.error(
            &span,
            format!(
                "`azs` in [network] lists {} zone(s); between {MIN_AZS} and {MAX_AZS} are needed",
                names.len()
            ),
            count_hint,
        );
        ok = false;
    }
    ok.then(|| Azs::Names(names.into_iter().map(|(n, _)| n).collect()))
}

fn read_nat(ctx: &mut Ctx<'_>, s: &Section<'_>) -> NatMode {
    let Got::Val(mode, span) = s.string(ctx, "nat", "\"single\"") else {
        return NatMode::Single;
    };
    match mode.as_str() {
        "single" => NatMode::Single,
        "per_az" => NatMode::PerAz,
        "none" => NatMode::None,
        other => {
            let hint = match suggest(other, NAT_MODES) {
                Some(m) => format!("did you mean `{m}`?"),
                None => "use `single` (one NAT gateway), `per_az` (one per zone) or `none`".into(),
            };
            ctx.error(
                &span,
                format!("`nat` in [network] is `{other}`; it must be one of single, per_az, none"),
                hint,
            );
            NatMode::Single
        }
    }
}

fn check_count(ctx: &mut Ctx<'_>, key: &str, n: usize, span: &Span, azs: usize) {
    if n != azs {
        ctx.error(
            span,
            format!("`{key}` in [network] has {n} block(s) but there are {azs} availability zones"),
            format!("give exactly one block per availability zone ({azs})"),
        );
    }
}

/// Each given subnet: a valid size, inside the VPC, big enough for the ALB when public,
/// overlapping no other.
fn check_subnets(
    ctx: &mut Ctx<'_>,
    vpc: Option<&Ipv4Net>,
    public: &[(Ipv4Net, Span)],
    private: &[(Ipv4Net, Span)],
) {
    let all: Vec<(&str, usize, &Ipv4Net, &Span)> = public
        .iter()
        .enumerate()
        .map(|(i, (n, s))| ("public_subnets", i, n, s))
        .chain(
            private
                .iter()
                .enumerate()
                .map(|(i, (n, s))| ("private_subnets", i, n, s)),
        )
        .collect();
    for (idx, (key, _, net, span)) in all.iter().enumerate() {
        let prefix = net.prefix_len();
        if !(MIN_PREFIX..=MAX_PREFIX).contains(&prefix) {
            ctx.error(
                span,
                format!("subnet {net} in `{key}` is a /{prefix}; AWS accepts subnets from /{MIN_PREFIX} to /{MAX_PREFIX}"),
                "use a block such as `10.0.1.0/24`",
            );
            continue;
        }
        if let Some(vpc) = vpc {
            if !vpc.contains(*net) {
                ctx.error(
                    span,
                    format!("subnet {net} in `{key}` is outside the VPC block {vpc}"),
                    format!("use a block inside {vpc}, or widen `cidr`"),
                );
                continue;
            }
        }
        if *key == "public_subnets" && prefix > ALB_MAX_PREFIX {
            ctx.error(
                span,
                format!("public subnet {net} is too small for the load balancer, which needs a /{ALB_MAX_PREFIX} or larger"),
                "use a /27 or larger block, e.g. a /24",
            );
        }
        if let Some((other_key, other_i, other, _)) =
            all[..idx].iter().find(|(_, _, o, _)| cidr::overlap(o, net))
        {
            ctx.error(
                span,
                format!(
                    "subnet {net} in `{key}` overlaps {other} (`{other_key}` element {})",
                    other_i + 1
                ),
                "give every subnet its own block",
            );
        }
    }
}

/// Carves the subnets and checks the public ones are big enough for the load balancer.
fn carve(vpc: &Ipv4Net, azs: usize) -> Result<(Vec<Ipv4Net>, Vec<Ipv4Net>), rules::Problem> {
    let (public, private) = cidr::carve(vpc, azs)?;
    if cidr::carve_prefix(vpc) > ALB_MAX_PREFIX {
        return Err(rules::Problem {
            reason: format!(
                "the VPC block {vpc} is too small: carved subnets would be /{} but the load balancer needs /{ALB_MAX_PREFIX} or larger",
                cidr::carve_prefix(vpc)
            ),
            hint: "use a VPC block of /23 or larger, or list `public_subnets` and `private_subnets` yourself".into(),
        });
    }
    Ok((public, private))
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;
    use crate::{Azs, NatMode};

    fn nets(v: &[ipnet::Ipv4Net]) -> Vec<String> {
        v.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn given_subnets_are_kept() {
        let src = stack_with(
            "[network]\ncidr = \"10.1.0.0/16\"\nazs = 3\npublic_subnets = [\"10.1.0.0/24\", \"10.1.1.0/24\", \"10.1.2.0/24\"]\n\
             private_subnets = [\"10.1.10.0/24\", \"10.1.11.0/24\", \"10.1.12.0/24\"]\nnat = \"per_az\"\n",
        );
        let n = ok(&src).network;
        assert_eq!(n.azs, Azs::Count(3));
        assert_eq!(
            nets(&n.private_subnets),
            ["10.1.10.0/24", "10.1.11.0/24", "10.1.12.0/24"]
        );
        assert_eq!(n.nat, NatMode::PerAz);
    }

    #[test]
    fn carved_subnets_follow_the_vpc() {
        let src = stack_with("[network]\ncidr = \"172.16.0.0/20\"\nazs = 3\n");
        let n = ok(&src).network;
        assert_eq!(
            nets(&n.public_subnets),
            ["172.16.0.0/24", "172.16.1.0/24", "172.16.2.0/24"]
        );
        assert_eq!(
            nets(&n.private_subnets),
            ["172.16.8.0/24", "172.16.9.0/24", "172.16.10.0/24"]
        );
        let src = stack_with("[network]\ncidr = \"10.0.0.0/22\"\n");
        let n = ok(&src).network;
        assert_eq!(nets(&n.public_subnets), ["10.0.0.0/26", "10.0.0.64/26"]);
        assert_eq!(nets(&n.private_subnets), ["10.0.2.0/26", "10.0.2.64/26"]);
    }

    #[test]
    fn vpc_cidr_with_host_bits() {
        let src = stack_with("[network]\ncidr = \"10.0.0.1/16\"\n");
        check(
            &only(&src),
            &src,
            "\"10.0.0.1/16\"",
            "invalid VPC block `10.0.0.1/16`: it has host bits set",
            "use `10.0.0.0/16`",
        );
    }

    #[test]
    fn vpc_cidr_malformed_or_out_of_range() {
        let src = stack_with("[network]\ncidr = \"10.0.0.0\"\n");
        check(
            &only(&src),
            &src,
            "\"10.0.0.0\"",
            "invalid VPC block `10.0.0.0`: it is not a CIDR block",
            "`10.0.0.0/24`",
        );
        let src = stack_with("[network]\ncidr = \"10.0.0.0/8\"\n");
        check(
            &only(&src),
            &src,
            "\"10.0.0.0/8\"",
            "AWS accepts VPC blocks from /16 to /28",
            "",
        );
    }

    #[test]
    fn vpc_too_small_to_carve() {
        let src = stack_with("[network]\ncidr = \"10.0.0.0/24\"\n");
        check(
            &only(&src),
            &src,
            "\"10.0.0.0/24\"",
            "carved subnets would be /28",
            "/23 or larger",
        );
        let src = stack_with("[network]\ncidr = \"10.0.0.0/26\"\n");
        check(
            &only(&src),
            &src,
            "\"10.0.0.0/26\"",
            "too small to carve",
            "",
        );
    }

    #[test]
    fn subnets_outside_the_vpc_and_overlapping() {
        let src = stack_with(
            "[network]\npublic_subnets = [\"10.0.0.0/24\", \"10.1.0.0/24\"]\nprivate_subnets = [\"10.0.2.0/24\", \"10.0.0.128/25\"]\n",
        );
        let e = errors(&src);
        assert_eq!(e.len(), 2, "{}", crate::Diagnostics(e.clone()).render());
        check(
            &e[0],
            &src,
            "\"10.1.0.0/24\"",
            "subnet 10.1.0.0/24 in `public_subnets` is outside the VPC block 10.0.0.0/16",
            "inside 10.0.0.0/16",
        );
        check(&e[1], &src, "\"10.0.0.128/25\"", "subnet 10.0.0.128/25 in `private_subnets` overlaps 10.0.0.0/24 (`public_subnets` element 1)", "own block");
    }

    #[test]
    fn subnet_count_must_match_the_azs() {
        let src = stack_with(
            "[network]\nazs = 3\npublic_subnets = [\"10.0.0.0/24\", \"10.0.1.0/24\"]\nprivate_subnets = [\"10.0.2.0/24\", \"10.0.3.0/24\", \"10.0.4.0/24\"]\n",
        );
        check(
            &only(&src),
            &src,
            "[\"10.0.0.0/24\"",
            "`public_subnets` in [network] has 2 block(s) but there are 3 availability zones",
            "one block per availability zone",
        );
    }

    #[test]
    fn both_subnet_lists_or_neither() {
        let src = stack_with("[network]\npublic_subnets = [\"10.0.0.0/24\", \"10.0.1.0/24\"]\n");
        check(
            &only(&src),
            &src,
            "[\"10.0.0.0/24\"",
            "`public_subnets` is given in [network] but `private_subnets` is not",
            "or neither",
        );
        let src = stack_with("[network]\nprivate_subnets = [\"10.0.0.0/24\", \"10.0.1.0/24\"]\n");
        check(
            &only(&src),
            &src,
            "[\"10.0.0.0/24\"",
            "`private_subnets` is given in [network] but `public_subnets` is not",
            "",
        );
    }

    #[test]
    fn public_subnets_must_fit_the_load_balancer() {
        let src = stack_with(
            "[network]\npublic_subnets = [\"10.0.0.0/28\", \"10.0.1.0/24\"]\nprivate_subnets = [\"10.0.2.0/24\", \"10.0.3.0/24\"]\n",
        );
        check(
            &only(&src),
            &src,
            "\"10.0.0.0/28\"",
            "too small for the load balancer",
            "/27",
        );
    }

    #[test]
    fn az_counts() {
        let src = stack_with("[network]\nazs = 1\n");
        check(
            &only(&src),
            &src,
            "1\n",
            "azs = 1 in [network] is outside 2 to 6",
            "at least 2 availability zones",
        );
        let src = stack_with("[network]\nazs = 7\n");
        check(&only(&src), &src, "7", "outside 2 to 6", "");
        let src = stack_with("[network]\nazs = \"2\"\n");
        check(
            &only(&src),
            &src,
            "\"2\"",
            "must be a count or a list of zone names, found a string",
            "azs = 2",
        );
    }

    #[test]
    fn az_names() {
        let src = "[stack]\nname = \"a\"\nregion = \"eu-west-2\"\n[network]\nazs = [\"eu-west-2a\", \"eu-west-2c\"]\n".to_string() + SERVICE;
        assert_eq!(
            ok(&src).network.azs,
            Azs::Names(vec!["eu-west-2a".into(), "eu-west-2c".into()])
        );
        let src = "[stack]\nname = \"a\"\nregion = \"eu-west-2\"\n[network]\nazs = [\"eu-west-2a\", \"eu-west-1b\"]\n".to_string() + SERVICE;
        check(
            &only(&src),
            &src,
            "\"eu-west-1b\"",
            "availability zone `eu-west-1b` is not in the stack's region eu-west-2",
            "`eu-west-2a`",
        );
        let src = stack_with("[network]\nazs = [\"eu-west-2a\", \"us-east-1b\"]\n");
        check(
            &only(&src),
            &src,
            "\"us-east-1b\"",
            "is in us-east-1 but the first zone is in eu-west-2",
            "one region",
        );
        let src = stack_with("[network]\nazs = [\"eu-west-2a\", \"eu-west-2a\"]\n");
        check(
            &only(&src),
            &src,
            "\"eu-west-2a\"]",
            "availability zone `eu-west-2a` is listed twice",
            "once",
        );
        let src = stack_with("[network]\nazs = [\"eu-west-2a\", \"london\"]\n");
        check(
            &only(&src),
            &src,
            "\"london\"",
            "invalid availability zone `london`",
            "`eu-west-2a`",
        );
        let src = stack_with("[network]\nazs = [\"eu-west-2a\"]\n");
        check(
            &only(&src),
            &src,
            "[\"eu-west-2a\"]",
            "lists 1 zone(s); between 2 and 6 are needed",
            "",
        );
    }

    #[test]
    fn nat_modes() {
        let src = stack_with("[network]\nnat = \"per-az\"\n");
        check(
            &only(&src),
            &src,
            "\"per-az\"",
            "`nat` in [network] is `per-az`; it must be one of single, per_az, none",
            "did you mean `per_az`?",
        );
        let src = stack_with("[network]\nnat = \"none\"\n");
        assert_eq!(ok(&src).network.nat, NatMode::None);
    }
}
