//! Is `otelctl up --embedded` running for these ports? The one probe of the embedded server,
//! for `status`, `wait`, `doctor`, `traces` and `import`: the viewer's API answers with the
//! embedded header (the Grafana port +3 is not Grafana), and the receiver (+0) accepts an empty
//! export. One embedded server plays all three roles: receiver, store and viewer.

use std::time::Instant;

use otelctl_config::detect::probe_collector;
use otelctl_http::Response;
use otelctl_net::{Client, HttpError};

use super::viewer::EMBEDDED_HEADER;

/// What answers on a viewer port.
#[derive(Debug)]
pub enum Viewer {
    /// otelctl's embedded viewer: its answer to `/api/search?limit=1` (the store's counters
    /// and at most one trace).
    Embedded(Response),
    /// Something else answered (e.g. the full stack's Grafana), with this status.
    Other(u16),
    /// Nothing listens there.
    Nothing,
}

/// Asks `viewer_port` for one search result. `Err` when the port did not answer properly (a
/// timeout, a broken answer): neither "embedded" nor "nothing" can be told then.
pub fn viewer(viewer_port: u16, deadline: Instant) -> Result<Viewer, HttpError> {
    let url = format!("http://127.0.0.1:{viewer_port}/api/search?limit=1");
    match Client::shared()?.get(&url, None, deadline) {
        Ok(r) if r.status == 200 && r.header(EMBEDDED_HEADER).is_some() => Ok(Viewer::Embedded(r)),
        Ok(r) => Ok(Viewer::Other(r.status)),
        Err(HttpError::Refused { .. }) => Ok(Viewer::Nothing),
        Err(e) => Err(e),
    }
}

/// `Ok` when the embedded server answers on `viewer_port` and its receiver on
/// `receiver_port` accepts an empty export; `Err` says what is missing.
pub fn probe(receiver_port: u16, viewer_port: u16, deadline: Instant) -> Result<(), String> {
    match viewer(viewer_port, deadline) {
        Ok(Viewer::Embedded(_)) => {}
        Ok(Viewer::Other(status)) => {
            return Err(format!(
            "127.0.0.1:{viewer_port} answers (HTTP {status}) but is not otelctl's embedded viewer"
        ))
        }
        Ok(Viewer::Nothing) => return Err(format!("nothing listens on 127.0.0.1:{viewer_port}")),
        Err(e) => {
            return Err(format!(
                "no embedded viewer on 127.0.0.1:{viewer_port}: {e}"
            ))
        }
    }
    probe_collector(receiver_port, deadline)
}
