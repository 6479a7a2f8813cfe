//! Is `otelctl up --embedded` running for these ports? For `status` and `wait`: the viewer's
//! API answers with the embedded header (the Grafana port +3 is not Grafana), and the receiver
//! (+0) accepts an empty export. One embedded server plays all three roles: receiver, store
//! and viewer.

use std::time::Instant;

use otelctl_config::detect::probe_collector;
use otelctl_net::Client;

use super::viewer::EMBEDDED_HEADER;

/// `Ok` when the embedded server answers on `viewer_port` and its receiver on
/// `receiver_port` accepts an empty export; `Err` says what is missing.
pub fn probe(receiver_port: u16, viewer_port: u16, deadline: Instant) -> Result<(), String> {
    let url = format!("http://127.0.0.1:{viewer_port}/api/traces");
    let client = Client::shared().map_err(|e| e.to_string())?;
    match client.get(&url, None, deadline) {
        Ok(r) if r.status == 200 && r.header(EMBEDDED_HEADER).is_some() => {}
        Ok(_) => {
            return Err(format!(
                "127.0.0.1:{viewer_port} is not otelctl's embedded viewer"
            ))
        }
        Err(e) => {
            return Err(format!(
                "no embedded viewer on 127.0.0.1:{viewer_port}: {e}"
            ))
        }
    }
    probe_collector(receiver_port, deadline)
}
