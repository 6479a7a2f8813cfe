//! Reading traces back from Tempo's HTTP API: by id (`/api/traces/<id>`, protobuf, the same
//! wire format as an export request) and by TraceQL search (`/api/search`).

use std::time::Instant;

use otelctl_net::{Client, Response};
use otelctl_otlp::{from_hex, ExportTraceServiceRequest};

fn get(port: u16, path: String, accept: &str, deadline: Instant) -> Result<Response, String> {
    let url = format!("http://127.0.0.1:{port}{path}");
    Client::shared()
        .and_then(|c| c.get(&url, Some(accept), deadline))
        .map_err(|e| e.to_string())
}

/// The trace with this id (`Ok(None)`: Tempo does not have it, yet).
pub fn trace_by_id(
    port: u16,
    trace_id_hex: &str,
    deadline: Instant,
) -> Result<Option<ExportTraceServiceRequest>, String> {
    let r = get(
        port,
        format!("/api/traces/{trace_id_hex}"),
        "application/protobuf",
        deadline,
    )?;
    match r.status {
        200 => ExportTraceServiceRequest::from_protobuf(&r.body)
            .map(Some)
            .map_err(|e| e.to_string()),
        404 => Ok(None),
        s => Err(format!(
            "Tempo answered HTTP {s} for trace {trace_id_hex}: {}",
            String::from_utf8_lossy(&r.body).trim()
        )),
    }
}

/// Percent-encodes a query-string value.
pub fn encode_query(text: &str) -> String {
    otelctl_config::formats::percent_encode(text)
}

/// Trace ids (32 lowercase hex characters) matching a TraceQL query between two Unix times.
pub fn search(
    port: u16,
    traceql: &str,
    start: u64,
    end: u64,
    limit: u32,
    deadline: Instant,
) -> Result<Vec<String>, String> {
    let path = format!(
        "/api/search?q={}&start={start}&end={end}&limit={limit}",
        encode_query(traceql)
    );
    let r = get(port, path, "application/json", deadline)?;
    if r.status != 200 {
        return Err(format!(
            "Tempo answered HTTP {} to a search: {}",
            r.status,
            String::from_utf8_lossy(&r.body).trim()
        ));
    }
    let body: serde_json::Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
    let ids = body
        .get("traces")
        .and_then(|t| t.as_array())
        .map(|traces| {
            traces
                .iter()
                .filter_map(|t| t.get("traceID").and_then(|i| i.as_str()))
                .map(normalise_id)
                .collect()
        })
        .unwrap_or_default();
    Ok(ids)
}

/// Tempo's search drops leading zeros from trace ids: pad back to 32 characters.
fn normalise_id(id: &str) -> String {
    let id = id.to_ascii_lowercase();
    match from_hex(&format!("{id:0>32}")) {
        Some(_) => format!("{id:0>32}"),
        None => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_traceql_and_pads_ids() {
        assert_eq!(
            encode_query("{ resource.service.name = \"a b\" }"),
            "%7B%20resource.service.name%20%3D%20%22a%20b%22%20%7D"
        );
        assert_eq!(normalise_id("ABC"), format!("{:0>32}", "abc"));
    }
}
