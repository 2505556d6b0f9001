//! IPv4 CIDR blocks: strict parsing (no host bits), overlap, and carving subnets out of
//! the VPC block when the file gives none.

use crate::rules::Problem;
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

/// Smallest and largest prefix AWS accepts for a VPC or a subnet block.
pub(crate) const MIN_PREFIX: u8 = 16;
pub(crate) const MAX_PREFIX: u8 = 28;

/// Parses `a.b.c.d/n`, rejecting a block with host bits set (AWS does too).
pub(crate) fn parse(s: &str) -> Result<Ipv4Net, Problem> {
    let net: Ipv4Net = match s.trim().parse() {
        Ok(n) => n,
        Err(_) => {
            let hint = if s.parse::<Ipv4Addr>().is_ok() {
                format!("add the prefix length, e.g. `{s}/24` (or `{s}/32` for one address)")
            } else if s.contains(':') {
                "only IPv4 blocks are supported, e.g. `10.0.0.0/16`".to_string()
            } else {
                "write an IPv4 block as `address/prefix`, e.g. `10.0.0.0/16`".to_string()
            };
            return Err(Problem {
                reason: "it is not a CIDR block".into(),
                hint,
            });
        }
    };
    if s.trim() != s {
        return Err(Problem {
            reason: "it has spaces around it".into(),
            hint: format!("write it as `{}`", s.trim()),
        });
    }
    if net.trunc() != net {
        return Err(Problem {
            reason: format!(
                "it has host bits set: the /{} block containing {} starts at {}",
                net.prefix_len(),
                net.addr(),
                net.network()
            ),
            hint: format!("use `{}`", net.trunc()),
        });
    }
    Ok(net)
}

/// Whether the two blocks share any address.
pub(crate) fn overlap(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The prefix of the blocks carved from a VPC: /24 for a /16 to /20 VPC, else four bits
/// longer than the VPC (16 blocks).
pub(crate) fn carve_prefix(vpc: &Ipv4Net) -> u8 {
    if vpc.prefix_len() <= 20 {
        24
    } else {
        vpc.prefix_len() + 4
    }
}

/// Public and private subnets for `azs` zones: public `i` is block `i`, private `i` is
/// block `half + i`. Fails when the VPC is too small.
pub(crate) fn carve(vpc: &Ipv4Net, azs: usize) -> Result<(Vec<Ipv4Net>, Vec<Ipv4Net>), Problem> {
    let prefix = carve_prefix(vpc);
    let too_small = || {
        Problem {
        reason: format!(
            "the VPC block {vpc} is too small to carve a public and a private subnet for {azs} availability zone(s)"
        ),
        hint: "use a VPC block of /24 or larger, or list `public_subnets` and `private_subnets` yourself"
            .into(),
    }
    };
    if prefix > MAX_PREFIX {
        return Err(too_small());
    }
    let blocks: Vec<Ipv4Net> = vpc.subnets(prefix).map_err(|_| too_small())?.collect();
    let half = blocks.len() / 2;
    if azs > half {
        return Err(too_small());
    }
    let public = blocks[..azs].to_vec();
    let private = blocks[half..half + azs].to_vec();
    Ok((public, private))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn parse_rejects_host_bits_and_suggests_the_network() {
        assert_eq!(parse("10.0.0.0/16").unwrap(), net("10.0.0.0/16"));
        let e = parse("10.0.0.1/16").unwrap_err();
        assert_eq!(e.hint, "use `10.0.0.0/16`");
        assert!(e.reason.contains("host bits"));
        assert!(parse("10.0.0.0")
            .unwrap_err()
            .hint
            .contains("`10.0.0.0/24`"));
        assert!(parse("10.0.0.0/33").is_err());
        assert!(parse("fd00::/8").unwrap_err().hint.contains("IPv4"));
        assert!(parse(" 10.0.0.0/16").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn overlap_is_symmetric() {
        assert!(overlap(&net("10.0.0.0/16"), &net("10.0.5.0/24")));
        assert!(overlap(&net("10.0.5.0/24"), &net("10.0.0.0/16")));
        assert!(!overlap(&net("10.0.0.0/24"), &net("10.0.1.0/24")));
    }

    #[test]
    fn carve_a_16_into_24s_split_in_halves() {
        let (public, private) = carve(&net("10.0.0.0/16"), 2).unwrap();
        assert_eq!(public, vec![net("10.0.0.0/24"), net("10.0.1.0/24")]);
        assert_eq!(private, vec![net("10.0.128.0/24"), net("10.0.129.0/24")]);
    }

    #[test]
    fn carve_a_20_and_a_24() {
        let (public, private) = carve(&net("172.16.0.0/20"), 3).unwrap();
        assert_eq!(public[2], net("172.16.2.0/24"));
        assert_eq!(private[0], net("172.16.8.0/24"));
        let (public, private) = carve(&net("192.168.1.0/24"), 6).unwrap();
        assert_eq!(public[0], net("192.168.1.0/28"));
        assert_eq!(private[5], net("192.168.1.208/28"));
    }

    #[test]
    fn carve_reports_a_vpc_too_small() {
        let e = carve(&net("10.0.0.0/25"), 2).unwrap_err();
        assert!(e.reason.contains("too small"));
    }
}
