//! IPv4 range arithmetic: parsing CIDRs, carving subnets, and finding overlaps among many
//! ranges quickly.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Why a CIDR string was rejected: the message and a hint.
pub(crate) struct CidrError {
    pub message: String,
    pub hint: String,
    /// The network the user most likely meant (host bits cleared), when there is one.
    pub meant: Option<Ipv4Net>,
}

/// Parses `a.b.c.d/n` with the host bits clear.
pub(crate) fn parse_cidr(text: &str) -> Result<Ipv4Net, CidrError> {
    let error = |message: String, hint: &str| CidrError { message, hint: hint.to_string(), meant: None };
    let Some((address, prefix)) = text.split_once('/') else {
        return Err(match text.parse::<Ipv4Addr>() {
            Ok(_) => error(
                format!("`{text}` is an address, not a range"),
                &format!("add the prefix length, e.g. \"{text}/16\""),
            ),
            Err(_) => error(format!("`{text}` is not an IPv4 CIDR"), "write it as a.b.c.d/n, e.g. \"10.0.0.0/16\""),
        });
    };
    if address.contains(':') {
        return Err(error(format!("`{text}` is IPv6; ringform plans IPv4 networks only"), "use an IPv4 range"));
    }
    let Ok(address) = address.parse::<Ipv4Addr>() else {
        return Err(error(
            format!("`{address}` in `{text}` is not an IPv4 address"),
            "write it as a.b.c.d/n, e.g. \"10.0.0.0/16\"",
        ));
    };
    let net = prefix
        .parse::<u8>()
        .ok()
        .and_then(|p| Ipv4Net::new(address, p).ok())
        .ok_or_else(|| error(format!("`/{prefix}` in `{text}` is not a prefix length"), "use /0 to /32"))?;
    if net.trunc() != net {
        let meant = net.trunc();
        return Err(CidrError {
            message: format!("`{text}` has host bits set"),
            hint: format!("did you mean {meant}?"),
            meant: Some(meant),
        });
    }
    Ok(net)
}

/// Splits `net` into `2^ceil(log2(n))` equal parts and returns the first `n`, or `None` when
/// the parts would be smaller than a single address.
pub(crate) fn split(net: Ipv4Net, n: usize) -> Option<Vec<Ipv4Net>> {
    let parts = n.max(1).checked_next_power_of_two()?;
    let prefix = u32::from(net.prefix_len()) + parts.trailing_zeros();
    let prefix = u8::try_from(prefix).ok().filter(|&p| p <= 32)?;
    Some(net.subnets(prefix).ok()?.take(n).collect())
}

/// The first half of `net` (Azure's default node subnet), `None` for a /32.
pub(crate) fn first_half(net: Ipv4Net) -> Option<Ipv4Net> {
    split(net, 2).and_then(|halves| halves.first().copied())
}

/// The last /`prefix` of `net`, `None` when `net` is smaller.
pub(crate) fn last(net: Ipv4Net, prefix: u8) -> Option<Ipv4Net> {
    if net.prefix_len() > prefix {
        return None;
    }
    let size = 1u64 << (32 - u32::from(prefix));
    let start = u64::from(u32::from(net.broadcast())) + 1 - size;
    Ipv4Net::new(Ipv4Addr::from(u32::try_from(start).ok()?), prefix).ok()
}

pub(crate) fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Every overlapping pair among `ranges`, each once, as `(i, j)` indices with `i < j`.
/// Sorts by first address and sweeps, keeping only the ranges still open, so the cost is
/// `n log n` plus the number of pairs found rather than `n²`.
pub(crate) fn overlapping_pairs(ranges: &[Ipv4Net]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_by_key(|&i| (u32::from(ranges[i].network()), i));
    let mut open: Vec<usize> = Vec::new();
    let mut pairs = Vec::new();
    for i in order {
        let start = u32::from(ranges[i].network());
        open.retain(|&j| u32::from(ranges[j].broadcast()) >= start);
        pairs.extend(open.iter().map(|&j| (i.min(j), i.max(j))));
        open.push(i);
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_explains() {
        assert_eq!(parse_cidr("10.0.0.0/16").ok(), Some(net("10.0.0.0/16")));
        let host_bits = parse_cidr("10.0.3.0/16").err().unwrap();
        assert_eq!(host_bits.hint, "did you mean 10.0.0.0/16?");
        assert_eq!(host_bits.meant, Some(net("10.0.0.0/16")));
        assert!(parse_cidr("10.0.0.0").err().unwrap().hint.contains("10.0.0.0/16"));
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("10.0.0.0/x").is_err());
        assert!(parse_cidr("fd00::/8").is_err());
        assert!(parse_cidr("300.0.0.0/8").is_err());
        assert!(parse_cidr("").is_err());
    }

    #[test]
    fn splits_in_powers_of_two() {
        assert_eq!(
            split(net("172.21.0.0/16"), 3).unwrap(),
            vec![net("172.21.0.0/18"), net("172.21.64.0/18"), net("172.21.128.0/18")]
        );
        assert_eq!(split(net("10.0.0.0/16"), 2).unwrap(), vec![net("10.0.0.0/17"), net("10.0.128.0/17")]);
        assert_eq!(split(net("10.0.0.0/16"), 1).unwrap(), vec![net("10.0.0.0/16")]);
        assert_eq!(split(net("10.0.0.0/31"), 3), None);
        assert_eq!(split(net("0.0.0.0/0"), usize::MAX), None);
        assert_eq!(first_half(net("10.1.0.0/16")), Some(net("10.1.0.0/17")));
        assert_eq!(first_half(net("10.1.0.1/32")), None);
        assert_eq!(last(net("10.1.0.0/16"), 27), Some(net("10.1.255.224/27")));
        assert_eq!(last(net("0.0.0.0/0"), 27), Some(net("255.255.255.224/27")));
        assert_eq!(last(net("10.1.0.0/28"), 27), None);
    }

    #[test]
    fn finds_each_overlapping_pair_once() {
        let ranges =
            [net("10.0.0.0/8"), net("192.168.0.0/16"), net("10.1.0.0/16"), net("10.1.2.0/24"), net("11.0.0.0/8")];
        let mut pairs = overlapping_pairs(&ranges);
        pairs.sort();
        assert_eq!(pairs, vec![(0, 2), (0, 3), (2, 3)]);
        assert_eq!(overlapping_pairs(&[net("10.0.0.0/16"), net("10.0.0.0/16")]), vec![(0, 1)]);
        assert!(overlaps(net("10.0.0.0/8"), net("10.9.0.0/16")));
        assert!(!overlaps(net("10.0.0.0/16"), net("10.1.0.0/16")));
    }
}
