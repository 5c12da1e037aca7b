//! The private engine's own network bridge.
//!
//! Two dockerds with default networking both want `docker0`. cogpack's engine gets a bridge of
//! its own (`--bridge NAME`), which dockerd requires to exist: `up` creates it with an address
//! that overlaps nothing the host has, and `down` removes it.

use std::net::Ipv4Addr;
use std::process::Stdio;

use super::DaemonError;

/// Creates `name` with a free `172.31.N.1/24` (starting at `seed`) unless it exists; returns
/// its address. An existing bridge is used as it is.
/// `wrapper` prefixes every `ip` command (the network namespace dockerd will run in).
pub async fn ensure(name: &str, seed: u8, wrapper: &[String]) -> Result<String, DaemonError> {
    let addrs = host_ipv4(wrapper).await?;
    if let Some((_, cidr)) = addrs.iter().find(|(dev, _)| dev == name) {
        return Ok(cidr.clone());
    }
    let taken: Vec<(Ipv4Addr, u8)> = addrs.iter().filter_map(|(_, c)| parse_cidr(c)).collect();
    let third = (0..=255u16)
        .map(|i| ((seed as u16 + i) % 256) as u8)
        .find(|n| {
            let net = Ipv4Addr::new(172, 31, *n, 0);
            !taken.iter().any(|(a, len)| overlaps(net, 24, *a, *len))
        })
        .ok_or_else(|| DaemonError::Network {
            what: format!("no free 172.31.N.0/24 for the bridge {name}"),
        })?;
    let cidr = format!("172.31.{third}.1/24");
    ip(wrapper, &["link", "add", name, "type", "bridge"]).await?;
    let configured = async {
        ip(wrapper, &["addr", "add", &cidr, "dev", name]).await?;
        ip(wrapper, &["link", "set", name, "up"]).await
    }
    .await;
    if let Err(e) = configured {
        // Leave nothing half-made behind.
        let _ = ip(wrapper, &["link", "del", name]).await;
        return Err(e);
    }
    Ok(cidr)
}

/// Removes the bridge (no error when it is absent).
pub async fn remove(name: &str) -> Result<(), DaemonError> {
    let addrs = host_ipv4(&[]).await.unwrap_or_default();
    let exists = addrs.iter().any(|(dev, _)| dev == name)
        || std::path::Path::new("/sys/class/net").join(name).exists();
    if exists {
        ip(&[], &["link", "del", name]).await?;
    }
    Ok(())
}

/// `(device, a.b.c.d/len)` for every IPv4 address of the host.
async fn host_ipv4(wrapper: &[String]) -> Result<Vec<(String, String)>, DaemonError> {
    let out = ip(wrapper, &["-o", "-4", "addr", "show"]).await?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let _index = f.next()?;
            let dev = f.next()?.trim_end_matches(':').to_owned();
            let _family = f.next()?;
            Some((dev, f.next()?.to_owned()))
        })
        .collect())
}

fn parse_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (a, len) = s.split_once('/')?;
    Some((a.parse().ok()?, len.parse().ok()?))
}

fn overlaps(a: Ipv4Addr, alen: u8, b: Ipv4Addr, blen: u8) -> bool {
    let len = alen.min(blen) as u32;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    (u32::from(a) & mask) == (u32::from(b) & mask)
}

async fn ip(wrapper: &[String], args: &[&str]) -> Result<String, DaemonError> {
    let mut argv: Vec<&str> = wrapper.iter().map(String::as_str).collect();
    argv.push("ip");
    argv.extend_from_slice(args);
    let out = tokio::process::Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| DaemonError::Network {
            what: format!("`ip {}` could not start: {e}\nhelp: apt-get install iproute2", args.join(" ")),
        })?;
    if !out.status.success() {
        return Err(DaemonError::Network {
            what: format!(
                "`ip {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_is_by_the_shorter_prefix() {
        let net = Ipv4Addr::new(172, 31, 5, 0);
        assert!(overlaps(net, 24, Ipv4Addr::new(172, 31, 5, 9), 24));
        assert!(overlaps(net, 24, Ipv4Addr::new(172, 16, 0, 1), 12));
        assert!(!overlaps(net, 24, Ipv4Addr::new(172, 31, 6, 1), 24));
        assert!(!overlaps(net, 24, Ipv4Addr::new(192, 0, 2, 2), 24));
        assert_eq!(parse_cidr("10.0.0.1/8"), Some((Ipv4Addr::new(10, 0, 0, 1), 8)));
    }
}
