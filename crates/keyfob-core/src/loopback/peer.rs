//! Whose connection is this? Every local user can connect to a port on 127.0.0.1, so
//! Keyfob's loopback listeners answer only connections opened by the user Keyfob runs as:
//! another user could otherwise fetch the one-time start address (and with it the link's
//! `state`) or deliver a callback for their own account, linking it into yours.
//!
//! On Linux the owner of the peer's socket is in `/proc/net/tcp` (IPv4) and `/proc/net/tcp6`
//! (IPv6, and IPv4 sockets of dual-stack clients as `::ffff:127.0.0.1`): the row whose local
//! end is the peer and whose remote end is us carries the uid that created the socket.
//!
//! Other platforms have no check yet: every local connection is answered, as before. What
//! they offer: Windows' `GetExtendedTcpTable` (`TCP_TABLE_OWNER_PID_ALL`) names the peer's
//! process, whose token names its user; macOS and the BSDs have no unprivileged table of
//! other users' sockets (`proc_pidfdinfo` covers only the caller's own processes, so a
//! socket found in none of them would be foreign).

// Elsewhere the parser is compiled (and tested) but unused.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::net::{IpAddr, SocketAddr};

/// Whether the connection from `peer` to our `local` end was opened by the user Keyfob runs
/// as. Fails closed on Linux: a socket that cannot be found, or tables that cannot be read,
/// count as another user's.
pub(super) async fn is_same_user(local: SocketAddr, peer: SocketAddr) -> bool {
    #[cfg(target_os = "linux")]
    {
        let Ok(tables) = tokio::task::spawn_blocking(read_tables).await else {
            return false;
        };
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        owner_is(&socket_owners(&tables, peer, local), euid)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (local, peer);
        true
    }
}

/// The kernel's TCP tables, IPv4 then IPv6. tcp6 is absent when IPv6 is disabled; tcp
/// alone then holds every row.
#[cfg(target_os = "linux")]
fn read_tables() -> String {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The decision: one owner at least, and every owner found is `uid`.
fn owner_is(owners: &[u32], uid: u32) -> bool {
    !owners.is_empty() && owners.iter().all(|&o| o == uid)
}

/// The uids of the rows of `/proc/net/tcp{,6}` text whose local end is `local` and remote
/// end is `remote` (an IPv4-mapped IPv6 address matches its IPv4 address). Header and
/// malformed lines are skipped.
fn socket_owners(table: &str, local: SocketAddr, remote: SocketAddr) -> Vec<u32> {
    table
        .lines()
        .filter_map(parse_row)
        .filter(|row| same_end(row.local, local) && same_end(row.remote, remote))
        .map(|row| row.uid)
        .collect()
}

struct Row {
    local: SocketAddr,
    remote: SocketAddr,
    uid: u32,
}

/// One row: `sl: local remote st tx:rx tr:when retrnsmt uid timeout inode ...`.
fn parse_row(line: &str) -> Option<Row> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() < 8 || !fields[0].ends_with(':') {
        return None;
    }
    Some(Row {
        local: parse_end(fields[1])?,
        remote: parse_end(fields[2])?,
        uid: fields[7].parse().ok()?,
    })
}

/// `ADDR:PORT` in the kernel's hex: the port in plain hex, the address as 32-bit words each
/// printed in the machine's byte order (so `0100007F` is 127.0.0.1 on little-endian hosts).
fn parse_end(text: &str) -> Option<SocketAddr> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let mut bytes = Vec::with_capacity(16);
    for i in (0..addr.len()).step_by(8) {
        let word = u32::from_str_radix(addr.get(i..i + 8)?, 16).ok()?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    let ip = match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
        16 => IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn same_end(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && canonical(a.ip()) == canonical(b.ip())
}

/// An IPv4-mapped IPv6 address as its IPv4 address; anything else as it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

// The fixtures are little-endian machines' text: x86-64 and arm64, where Keyfob runs.
#[cfg(test)]
mod tests {
    use super::*;

    /// A listener on 127.0.0.1:59453 (E83D) with one IPv4 client on port 44460 (ADAC) owned
    /// by uid 1000, the accepted end owned by uid 0, and unrelated rows.
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:E83D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1255013 1 0000000012cc1ebb 100 0 0 10 0
   1: 0100007F:ADAC 0100007F:E83D 01 00000000:00000000 00:00000000 00000000  1000        0 1255016 1 0000000047124642 20 0 0 10 -1
   2: 0100007F:E83D 0100007F:ADAC 01 00000000:00000000 00:00000000 00000000     0        0 1255015 1 0000000047124641 20 0 0 10 -1
   3: 020200C0:A8D4 507100CB:01BB 01 00000000:00000000 00:00000000 00000000     0        0 1246617 1 000000005aec2aad 20 4 1 80 -1
";

    /// A dual-stack client (::ffff:127.0.0.1 port 44461, ADAD) of the same listener owned by
    /// uid 65534, and an IPv6 pair on ::1 (ports 42523 and 36090) owned by uid 1000.
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:A61B 00000000000000000000000000000000:0000 0A 00000000:00000001 00:00000000 00000000  1000        0 1255017 2 0000000087476bda 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:ADAD 0000000000000000FFFF00000100007F:E83D 01 00000000:00000000 00:00000000 00000000 65534        0 1255014 2 0000000040664c74 20 0 0 10 -1
   2: 00000000000000000000000001000000:A61B 00000000000000000000000001000000:8CFA 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000055937b1f 20 0 0 10 -1
   3: 00000000000000000000000001000000:8CFA 00000000000000000000000001000000:A61B 01 00000000:00000000 00:00000000 00000000  1000        0 1255018 2 00000000d157e9e5 20 0 0 10 -1
";

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn owners(peer: &str, local: &str) -> Vec<u32> {
        socket_owners(&format!("{TCP}\n{TCP6}"), addr(peer), addr(local))
    }

    #[test]
    fn the_peers_own_row_names_its_owner_not_the_accepted_end() {
        assert_eq!(owners("127.0.0.1:44460", "127.0.0.1:59453"), [1000]);
        assert!(owner_is(
            &owners("127.0.0.1:44460", "127.0.0.1:59453"),
            1000
        ));
        assert!(!owner_is(&owners("127.0.0.1:44460", "127.0.0.1:59453"), 0));
    }

    #[test]
    fn an_ipv4_mapped_tcp6_row_matches_an_ipv4_peer() {
        // The listener sees an IPv4 peer; the client's socket is in tcp6.
        assert_eq!(owners("127.0.0.1:44461", "127.0.0.1:59453"), [65534]);
        assert!(!owner_is(
            &owners("127.0.0.1:44461", "127.0.0.1:59453"),
            1000
        ));
        assert_eq!(
            owners("[::ffff:127.0.0.1]:44461", "127.0.0.1:59453"),
            [65534]
        );
    }

    #[test]
    fn plain_ipv6_rows_are_read_too() {
        assert_eq!(owners("[::1]:36090", "[::1]:42523"), [1000]);
        // The not yet accepted end (inode 0, uid 0) is the listener's, not the peer's.
        assert_eq!(owners("[::1]:42523", "[::1]:36090"), [0]);
    }

    #[test]
    fn an_unknown_peer_or_a_split_owner_is_not_the_user() {
        assert!(owners("127.0.0.1:1", "127.0.0.1:59453").is_empty());
        assert!(!owner_is(&[], 1000));
        assert!(!owner_is(&[1000, 0], 1000));
        assert!(owner_is(&[1000], 1000));
    }

    #[test]
    fn headers_and_malformed_rows_are_skipped() {
        assert!(parse_row("  sl  local_address rem_address   st tx_queue").is_none());
        assert!(parse_row("   1: 0100007F:ZZZZ 0100007F:E83D 01 0:0 0:0 0 1000 0 1").is_none());
        assert!(parse_row("   1: 0100007F:ADAC 0100007F:E83D 01 0:0 0:0 0 x 0 1").is_none());
        assert!(parse_row("   1: 01007F:ADAC 0100007F:E83D 01 0:0 0:0 0 1000 0 1").is_none());
        assert!(parse_row("").is_none());
    }
}
