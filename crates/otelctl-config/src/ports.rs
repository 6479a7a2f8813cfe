//! The six per-project ports, derived from a hash of the project root.
//!
//! `base = start + int(first 7 hex chars of sha256(root)) mod (end - start - 6)`, the same
//! arithmetic as `nix/lib/ports.nix`, so Nix and `otelctl` always agree. A fixed base
//! (`--base-port` / `OTELCTL_BASE_PORT`) replaces the hash.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::env::EnvVars;
use crate::error::{Error, Result, Source};
use crate::root::ProjectRoot;

/// Lowest base port accepted for `--base-port` (unprivileged ports only).
pub const MIN_BASE_PORT: u16 = 1024;
/// Highest base port accepted: the six ports must fit below 65536.
pub const MAX_BASE_PORT: u16 = 65535 - 6;
/// How many consecutive ports a project uses.
pub const PORT_COUNT: u16 = 6;

/// The range hashed bases are drawn from: `start <= base < end - 6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

impl Default for PortRange {
    fn default() -> Self {
        PortRange {
            start: 10000,
            end: 60000,
        }
    }
}

impl PortRange {
    /// Parses `A-B` (e.g. `10000-60000`).
    pub fn parse(text: &str, source: Source) -> Result<Self> {
        let invalid = || {
            Error::InvalidValue {
            what: "port range",
            value: text.to_string(),
            origin: source,
            expected: format!(
                "START-END with {MIN_BASE_PORT} <= START and START + {} < END <= 65535, e.g. 10000-60000",
                PORT_COUNT
            ),
        }
        };
        let (a, b) = text.trim().split_once('-').ok_or_else(invalid)?;
        let start: u16 = a.trim().parse().map_err(|_| invalid())?;
        let end: u16 = b.trim().parse().map_err(|_| invalid())?;
        if start < MIN_BASE_PORT || end <= start || end - start <= PORT_COUNT {
            return Err(invalid());
        }
        Ok(PortRange { start, end })
    }

    /// The hashed base for `root_bytes` in this range.
    pub fn derive_base(&self, root_bytes: &[u8]) -> u16 {
        let digest = Sha256::digest(root_bytes);
        // First 7 hex characters = the top 28 bits of the digest.
        let head = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) >> 4;
        let span = u32::from(self.end - self.start - PORT_COUNT);
        (u32::from(self.start) + head % span) as u16
    }
}

/// Parses and checks a fixed base port.
pub fn parse_base_port(text: &str, source: Source) -> Result<u16> {
    let invalid = || Error::InvalidValue {
        what: "base port",
        value: text.to_string(),
        origin: source,
        expected: format!("an integer from {MIN_BASE_PORT} to {MAX_BASE_PORT}"),
    };
    let n: u32 = text.trim().parse().map_err(|_| invalid())?;
    if n < u32::from(MIN_BASE_PORT) || n > u32::from(MAX_BASE_PORT) {
        return Err(invalid());
    }
    Ok(n as u16)
}

/// How the base was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseOrigin {
    Hashed,
    Fixed,
}

/// Per-service ports fixed by environment variables (`OTELCTL_COLLECTOR_PORT`, ...), used by
/// the system stack, whose fixed ports no single base can produce. Indexed by offset (+0..+5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortOverrides(pub [Option<u16>; 6]);

impl PortOverrides {
    /// The variable that fixes each port, in offset order.
    pub const VARIABLES: [&'static str; 6] = [
        EnvVars::OTELCTL_COLLECTOR_PORT,
        EnvVars::OTELCTL_TEMPO_OTLP_GRPC_PORT,
        EnvVars::OTELCTL_TEMPO_HTTP_PORT,
        EnvVars::OTELCTL_GRAFANA_PORT,
        EnvVars::OTELCTL_COLLECTOR_METRICS_PORT,
        EnvVars::OTELCTL_TEMPO_GRPC_PORT,
    ];

    /// Reads the overrides through `lookup` (the environment, in practice).
    pub fn read(mut lookup: impl FnMut(&'static str) -> Result<Option<String>>) -> Result<Self> {
        let mut overrides = PortOverrides::default();
        for (slot, name) in overrides.0.iter_mut().zip(Self::VARIABLES) {
            if let Some(text) = lookup(name)? {
                *slot = Some(parse_port(&text, Source::Env(name))?);
            }
        }
        Ok(overrides)
    }

    pub fn is_empty(&self) -> bool {
        *self == PortOverrides::default()
    }
}

/// Parses one TCP port (1..=65535).
pub fn parse_port(text: &str, source: Source) -> Result<u16> {
    match text.trim().parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Error::InvalidValue {
            what: "port",
            value: text.to_string(),
            origin: source,
            expected: "an integer from 1 to 65535".to_string(),
        }),
    }
}

/// A project's ports; field order is the `--json` key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ports {
    pub root: String,
    pub base: u16,
    pub collector_otlp_http: u16,
    pub tempo_otlp_grpc: u16,
    pub tempo_http: u16,
    pub grafana_http: u16,
    pub collector_metrics: u16,
    pub tempo_grpc: u16,
    #[serde(skip)]
    pub origin: BaseOrigin,
    /// Which ports were fixed by a per-service variable (offset order).
    #[serde(skip)]
    pub overridden: [bool; 6],
}

impl Ports {
    /// Ports from a fixed base, or hashed from the root within `range`.
    pub fn for_root(root: &ProjectRoot, fixed_base: Option<u16>, range: PortRange) -> Self {
        let (base, origin) = match fixed_base {
            Some(base) => (base, BaseOrigin::Fixed),
            None => (range.derive_base(root.as_bytes()), BaseOrigin::Hashed),
        };
        Ports {
            root: root.display(),
            base,
            collector_otlp_http: base,
            tempo_otlp_grpc: base + 1,
            tempo_http: base + 2,
            grafana_http: base + 3,
            collector_metrics: base + 4,
            tempo_grpc: base + 5,
            origin,
            overridden: [false; 6],
        }
    }

    /// Applies per-service overrides on top of the derived ports.
    pub fn with_overrides(mut self, overrides: &PortOverrides) -> Self {
        let slots = [
            &mut self.collector_otlp_http,
            &mut self.tempo_otlp_grpc,
            &mut self.tempo_http,
            &mut self.grafana_http,
            &mut self.collector_metrics,
            &mut self.tempo_grpc,
        ];
        for (i, (slot, value)) in slots.into_iter().zip(overrides.0).enumerate() {
            if let Some(port) = value {
                *slot = port;
                self.overridden[i] = true;
            }
        }
        self
    }

    /// Each port with a human name, in offset order.
    pub fn named(&self) -> [(&'static str, u16); 6] {
        [
            ("Collector OTLP/HTTP", self.collector_otlp_http),
            ("Tempo OTLP gRPC ingest", self.tempo_otlp_grpc),
            ("Tempo HTTP API", self.tempo_http),
            ("Grafana HTTP", self.grafana_http),
            ("Collector internal metrics", self.collector_metrics),
            ("Tempo internal gRPC", self.tempo_grpc),
        ]
    }
}

/// Whether something already listens on `127.0.0.1:port` (we cannot bind it).
pub fn in_use_on_loopback(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_err()
}

/// A process listening on a TCP port.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Holder {
    pub pid: u32,
    /// `/proc/<pid>/comm`: the program name (at most 15 bytes).
    pub name: String,
    /// The command line, arguments joined by spaces.
    pub cmdline: String,
}

/// Who listens on `port` (any local address, IPv4 or IPv6): the socket's inode from
/// `/proc/net/tcp{,6}`, then the process whose `/proc/<pid>/fd` holds `socket:[inode]`.
/// `Ok(None)`: nothing listens. `Err(inode)`: something listens but its process is not
/// visible to us (another user's, or another PID namespace).
pub fn holder(port: u16) -> Result<Option<Holder>, u64> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if f.len() < 10 || f[3] != "0A" {
                continue; // 0A: LISTEN
            }
            let local_port = f[1]
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                if let Ok(inode) = f[9].parse::<u64>() {
                    inodes.push(inode);
                }
            }
        }
    }
    let Some(&first) = inodes.first() else {
        return Ok(None);
    };
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Err(first);
    };
    for entry in procs.filter_map(|e| e.ok()) {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.filter_map(|e| e.ok()).any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| {
                let t = target.to_string_lossy();
                inodes.iter().any(|i| {
                    t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']'))
                        == Some(&i.to_string())
                })
            })
        });
        if holds {
            let read = |f: &str| std::fs::read(entry.path().join(f)).unwrap_or_default();
            let name = String::from_utf8_lossy(&read("comm")).trim().to_string();
            let cmdline = String::from_utf8_lossy(&read("cmdline"))
                .split('\0')
                .filter(|a| !a.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            return Ok(Some(Holder { pid, name, cmdline }));
        }
    }
    Err(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::root::RootSource;

    #[test]
    fn finds_the_process_holding_a_port() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = holder(port).unwrap().expect("we listen");
        assert_eq!(h.pid, std::process::id());
        drop(l);
        assert_eq!(holder(port), Ok(None));
    }

    fn ports(root: &str) -> Ports {
        Ports::for_root(
            &ProjectRoot::new_unchecked(root, RootSource::Flag),
            None,
            PortRange::default(),
        )
    }

    #[test]
    fn known_root_gives_known_base() {
        // sha256("/work/project") starts 65d80d2; 10000 + 0x65d80d2 % 49994 = 13938.
        let p = ports("/work/project");
        assert_eq!(p.base, 13938);
        assert_eq!(p.collector_otlp_http, 13938);
        assert_eq!(p.tempo_grpc, 13943);
    }

    #[test]
    fn base_stays_inside_the_range_for_a_narrow_range() {
        let range = PortRange::parse("20000-20007", Source::Flag("--port-range")).unwrap();
        for root in ["/a", "/b", "/c/d", "/ü", "/with space"] {
            let base = range.derive_base(root.as_bytes());
            assert_eq!(base, 20000, "only one base fits in a range of 7");
        }
    }

    #[test]
    fn overrides_replace_single_ports() {
        let overrides = PortOverrides::read(|name| {
            Ok(match name {
                "OTELCTL_COLLECTOR_PORT" => Some("4318".into()),
                "OTELCTL_TEMPO_HTTP_PORT" => Some("3200".into()),
                _ => None,
            })
        })
        .unwrap();
        let p = ports("/work/project").with_overrides(&overrides);
        assert_eq!(
            (p.collector_otlp_http, p.tempo_http, p.grafana_http),
            (4318, 3200, 13941)
        );
        assert_eq!(p.overridden, [true, false, true, false, false, false]);
        let err = PortOverrides::read(|_| Ok(Some("0".into()))).unwrap_err();
        assert!(err.to_string().contains("$OTELCTL_COLLECTOR_PORT"), "{err}");
    }

    #[test]
    fn range_and_base_port_reject_bad_values() {
        for bad in [
            "",
            "abc",
            "100-200",
            "20000-20006",
            "30000-20000",
            "1-2-3",
            "10000-70000",
        ] {
            assert!(
                PortRange::parse(bad, Source::Flag("--port-range")).is_err(),
                "{bad}"
            );
        }
        for bad in ["", "x", "1023", "65530", "-5", "1e4"] {
            assert!(
                parse_base_port(bad, Source::Env("OTELCTL_BASE_PORT")).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            parse_base_port("1024", Source::Flag("--base-port")).unwrap(),
            1024
        );
        assert_eq!(
            parse_base_port("65529", Source::Flag("--base-port")).unwrap(),
            65529
        );
    }
}
