//! Seeded, reproducible fault decisions.
//!
//! A decision is a pure function of the seed, the call's `service:Action`, its occurrence
//! index and what is being decided, not of a shared random stream: the third `CreateVpc`
//! of a run meets the same fate whatever other calls ran concurrently with it.

/// What a roll decides (keeps the rolls for one call independent).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Roll {
    Throttle = 1,
    Lost = 2,
    RequestId = 3,
}

/// A number in `[0, 1)` for this seed, call key, occurrence and purpose.
pub(crate) fn roll(seed: u64, key: &str, n: u64, what: Roll) -> f64 {
    (mix(seed, key, n, what) >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether an event of probability `rate` happens on this roll: never at 0, always at 1.
pub(crate) fn happens(rate: f64, seed: u64, key: &str, n: u64, what: Roll) -> bool {
    rate > 0.0 && roll(seed, key, n, what) < rate
}

/// A request id in UUID form, reproducible like the decisions.
pub(crate) fn request_id(seed: u64, key: &str, n: u64) -> String {
    let a = mix(seed, key, n, Roll::RequestId);
    let b = splitmix64(a);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

fn mix(seed: u64, key: &str, n: u64, what: Roll) -> u64 {
    let mut x = splitmix64(seed ^ (what as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    x = splitmix64(x ^ fnv1a(key));
    splitmix64(x ^ n)
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(rate: f64, seed: u64) -> usize {
        (0..10_000)
            .filter(|&n| happens(rate, seed, "ec2:CreateVpc", n, Roll::Throttle))
            .count()
    }

    #[test]
    fn rate_is_respected() {
        assert_eq!(count(0.0, 7), 0);
        assert_eq!(count(1.0, 7), 10_000);
        let fifth = count(0.2, 7);
        assert!((1_800..2_200).contains(&fifth), "{fifth}");
    }

    #[test]
    fn same_seed_same_fates_other_seed_other_fates() {
        let fates = |seed| -> Vec<bool> {
            (0..64)
                .map(|n| happens(0.5, seed, "ecs:CreateService", n, Roll::Lost))
                .collect()
        };
        assert_eq!(fates(7), fates(7));
        assert_ne!(fates(7), fates(8));
    }

    #[test]
    fn purposes_and_keys_roll_independently() {
        let a: Vec<bool> = (0..64)
            .map(|n| happens(0.5, 1, "ec2:CreateVpc", n, Roll::Throttle))
            .collect();
        let b: Vec<bool> = (0..64)
            .map(|n| happens(0.5, 1, "ec2:CreateVpc", n, Roll::Lost))
            .collect();
        let c: Vec<bool> = (0..64)
            .map(|n| happens(0.5, 1, "ec2:CreateSubnet", n, Roll::Throttle))
            .collect();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn request_ids_look_like_uuids_and_differ() {
        let a = request_id(7, "ec2:CreateVpc", 0);
        let b = request_id(7, "ec2:CreateVpc", 1);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        assert_ne!(a, b);
        assert_eq!(a, request_id(7, "ec2:CreateVpc", 0));
    }
}
