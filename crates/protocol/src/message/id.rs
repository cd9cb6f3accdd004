//! offsetMsgId: `storeHost ip ‖ port:i32 ‖ commit-log offset:i64`, uppercase hex.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The broker's message id for a record at `phys_offset` stored by `store_host`.
pub fn offset_msg_id(store_host: SocketAddr, phys_offset: i64) -> String {
    let mut bytes = Vec::with_capacity(28);
    match store_host.ip() {
        IpAddr::V4(ip) => bytes.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => bytes.extend_from_slice(&ip.octets()),
    }
    bytes.extend_from_slice(&(store_host.port() as i32).to_be_bytes());
    bytes.extend_from_slice(&phys_offset.to_be_bytes());
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xF) as usize] as char);
    }
    s
}

/// Decodes an offsetMsgId back into the store address and commit-log offset.
pub fn decode_offset_msg_id(id: &str) -> Option<(SocketAddr, i64)> {
    if !id.is_ascii() || !(id.len() == 32 || id.len() == 56) {
        return None;
    }
    let bytes: Vec<u8> = (0..id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&id[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let ip_len = if bytes.len() == 16 { 4 } else { 16 };
    let ip = if ip_len == 4 {
        IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(&bytes[..4]).ok()?))
    } else {
        IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&bytes[..16]).ok()?))
    };
    let port = i32::from_be_bytes(bytes[ip_len..ip_len + 4].try_into().ok()?);
    let offset = i64::from_be_bytes(bytes[ip_len + 4..ip_len + 12].try_into().ok()?);
    Some((SocketAddr::new(ip, u16::try_from(port).ok()?), offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_upstream_example() {
        let addr: SocketAddr = "10.0.0.1:10911".parse().unwrap();
        assert_eq!(offset_msg_id(addr, 0), "0A00000100002A9F0000000000000000");
        assert_eq!(
            decode_offset_msg_id("0A00000100002A9F0000000000000010"),
            Some((addr, 16))
        );
        assert_eq!(decode_offset_msg_id("zz"), None);
    }
}
