//! The metrics and logs model against real encodings: request bodies the official Python SDK's
//! OTLP/HTTP exporters sent (tests/fixtures/otlp, made by its python_sdk.py), and messages built
//! with opentelemetry-proto (prost code generated from the official .proto files, with its own
//! serde), an encoder and decoder independent of ours.
//!
//! A field our model lost or mistagged shows up as a difference after a trip through ours:
//! opentelemetry-proto knows every field, so `theirs(ours(bytes)) == theirs(bytes)` checks all.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest as TheirLogs;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest as TheirMetrics;
use opentelemetry_proto::tonic::common::v1 as tc;
use opentelemetry_proto::tonic::logs::v1 as tl;
use opentelemetry_proto::tonic::metrics::v1 as tm;
use opentelemetry_proto::tonic::resource::v1 as tr;
use otelctl_otlp::logs::{ExportLogsServiceRequest, SeverityNumber};
use otelctl_otlp::metrics::{
    AggregationTemporality, Data, ExportMetricsServiceRequest, NumberValue,
};
use otelctl_otlp::{attribute, ExportRequest, Signal, Value};
use prost::Message;

const PY_METRICS: &[u8] = include_bytes!("fixtures/otlp/python_metrics.pb");
const PY_LOGS: &[u8] = include_bytes!("fixtures/otlp/python_logs.pb");

fn metric<'a>(
    req: &'a ExportMetricsServiceRequest,
    name: &str,
) -> &'a otelctl_otlp::metrics::Metric {
    req.metrics()
        .map(|(_, _, m)| m)
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no metric {name}"))
}

fn for_each_exemplar(
    m: &mut otelctl_otlp::metrics::Metric,
    mut f: impl FnMut(&mut otelctl_otlp::metrics::Exemplar),
) {
    let exemplars: Vec<&mut Vec<_>> = match m.data.as_mut() {
        Some(Data::Gauge(g)) => g.data_points.iter_mut().map(|p| &mut p.exemplars).collect(),
        Some(Data::Sum(s)) => s.data_points.iter_mut().map(|p| &mut p.exemplars).collect(),
        Some(Data::Histogram(h)) => h.data_points.iter_mut().map(|p| &mut p.exemplars).collect(),
        Some(Data::ExponentialHistogram(h)) => {
            h.data_points.iter_mut().map(|p| &mut p.exemplars).collect()
        }
        Some(Data::Summary(_)) | None => vec![],
    };
    exemplars.into_iter().flatten().for_each(&mut f);
}

#[test]
fn python_sdk_metrics_decode_with_every_field_kept() {
    let ours = ExportMetricsServiceRequest::from_protobuf(PY_METRICS).unwrap();
    let theirs = TheirMetrics::decode(PY_METRICS).unwrap();
    assert_eq!(TheirMetrics::decode(&*ours.to_protobuf()).unwrap(), theirs);

    let (rm, sm, _) = ours.metrics().next().unwrap();
    let res = &rm.resource.as_ref().unwrap().attributes;
    assert_eq!(
        attribute(res, "service.name"),
        Some(&Value::StringValue("fixture-app".into()))
    );
    let scope = sm.scope.as_ref().unwrap();
    assert_eq!(
        (scope.name.as_str(), scope.version.as_str()),
        ("fixture.meter", "1.2.3")
    );

    // A counter exported with delta temporality: a monotonic sum, one point per attribute set,
    // with exemplars from the sampled span it was recorded in.
    let requests = metric(&ours, "fixture.requests");
    assert_eq!(requests.unit, "{request}");
    assert_eq!(requests.description, "Requests served");
    let Some(Data::Sum(sum)) = &requests.data else {
        panic!("{:?}", requests.data.as_ref().map(Data::kind))
    };
    assert!(sum.is_monotonic);
    assert_eq!(
        sum.aggregation_temporality,
        AggregationTemporality::Delta as i32
    );
    let a = sum
        .data_points
        .iter()
        .find(|p| attribute(&p.attributes, "route") == Some(&Value::StringValue("/a".into())))
        .unwrap();
    assert_eq!(a.value, Some(NumberValue::AsInt(3)));
    assert!(!a.exemplars.is_empty());
    assert_eq!(a.exemplars[0].trace_id.len(), 16);
    assert_eq!(a.exemplars[0].span_id.len(), 8);

    let Some(Data::Sum(queue)) = &metric(&ours, "fixture.queue").data else {
        panic!()
    };
    assert!(!queue.is_monotonic);
    assert_eq!(
        queue.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    assert_eq!(queue.data_points[0].value, Some(NumberValue::AsInt(3)));

    let Some(Data::Histogram(h)) = &metric(&ours, "fixture.latency").data else {
        panic!()
    };
    let p = &h.data_points[0];
    assert_eq!(p.count, 3);
    assert_eq!(p.sum, Some(75.0));
    assert_eq!((p.min, p.max), (Some(12.5), Some(37.5)));
    assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
    assert_eq!(p.bucket_counts.iter().sum::<u64>(), 3);

    let Some(Data::ExponentialHistogram(e)) = &metric(&ours, "fixture.exp_latency").data else {
        panic!()
    };
    let p = &e.data_points[0];
    assert_eq!(p.count, 3);
    let positive = p.positive.as_ref().unwrap();
    assert_eq!(positive.bucket_counts.iter().sum::<u64>() + p.zero_count, 3);

    let Some(Data::Gauge(g)) = &metric(&ours, "fixture.temperature").data else {
        panic!()
    };
    assert_eq!(g.data_points[0].value, Some(NumberValue::AsDouble(21.5)));
    let Some(Data::Gauge(g)) = &metric(&ours, "fixture.memory").data else {
        panic!()
    };
    assert_eq!(g.data_points[0].value, Some(NumberValue::AsInt(1234567)));

    // requests: 2 attribute sets; latency, exp_latency, queue, temperature, memory: 1 each.
    assert_eq!(ours.data_point_count(), 7);
    assert_eq!(ours.item_count(), 7);

    // Both of our encodings give back what they were given.
    assert_eq!(
        ExportMetricsServiceRequest::from_json(&ours.to_json()).unwrap(),
        ours
    );
    assert_eq!(
        ExportMetricsServiceRequest::from_protobuf(&ours.to_protobuf()).unwrap(),
        ours
    );
    // opentelemetry-proto's JSON (numbers where OTLP/JSON has strings: accepted too) reads the
    // same, but for exemplar values: it nests them as `"value": {"asInt": ..}` (its `value` field
    // lacks the flatten its NumberDataPoint has), where OTLP/JSON has `asInt` beside `timeUnixNano`.
    let their_json = serde_json::to_vec(&theirs).unwrap();
    let mut without_exemplars = ours.clone();
    for rm in &mut without_exemplars.resource_metrics {
        for sm in &mut rm.scope_metrics {
            for m in &mut sm.metrics {
                for_each_exemplar(m, |e| e.value = None);
            }
        }
    }
    assert_eq!(
        ExportMetricsServiceRequest::from_json(&their_json).unwrap(),
        without_exemplars
    );
}

#[test]
fn python_sdk_logs_decode_with_every_field_kept() {
    let ours = ExportLogsServiceRequest::from_protobuf(PY_LOGS).unwrap();
    let theirs = TheirLogs::decode(PY_LOGS).unwrap();
    assert_eq!(TheirLogs::decode(&*ours.to_protobuf()).unwrap(), theirs);
    assert_eq!(ours.record_count(), 4);
    assert_eq!(ours.item_count(), 4);

    let records: Vec<_> = ours.records().collect();
    let (res, scope, outside) = records[0];
    assert_eq!(
        attribute(res, "service.name"),
        Some(&Value::StringValue("fixture-app".into()))
    );
    assert_eq!(scope.unwrap().name, "fixture.logger");
    assert_eq!(outside.severity_number, SeverityNumber::Info as i32);
    assert!(outside.trace_id.is_empty() || outside.trace_id == [0; 16]);
    assert_eq!(
        outside.body.as_ref().and_then(|b| b.value.clone()),
        Some(Value::StringValue("outside any span".into()))
    );

    let (_, _, warn) = records[1];
    assert_eq!(warn.severity_number, SeverityNumber::Warn as i32);
    assert_eq!(warn.severity_text, "WARN");
    assert_eq!(warn.trace_id.len(), 16);
    assert_eq!(warn.span_id.len(), 8);
    assert_eq!(warn.flags & 1, 1, "sampled");
    assert_eq!(
        attribute(&warn.attributes, "attempt"),
        Some(&Value::IntValue(2))
    );
    assert_eq!(
        warn.body.as_ref().and_then(|b| b.value.clone()),
        Some(Value::StringValue("slow request /a".into()))
    );
    let (_, _, error) = records[2];
    assert_eq!(error.severity_number, SeverityNumber::Error as i32);
    assert_eq!(error.trace_id, warn.trace_id);
    assert!(attribute(&error.attributes, "exception.type").is_some());
    assert!(error.observed_time_unix_nano > 0 && error.time_unix_nano > 0);

    assert_eq!(
        ExportLogsServiceRequest::from_json(&ours.to_json()).unwrap(),
        ours
    );
    let their_json = serde_json::to_vec(&theirs).unwrap();
    assert_eq!(
        ExportLogsServiceRequest::from_json(&their_json).unwrap(),
        ours
    );
}

fn kv(key: &str, v: tc::any_value::Value) -> tc::KeyValue {
    tc::KeyValue {
        key: key.into(),
        value: Some(tc::AnyValue { value: Some(v) }),
        // Profiles only (a reference into the profiles dictionary): not in our model.
        key_strindex: 0,
    }
}

fn resource() -> Option<tr::Resource> {
    Some(tr::Resource {
        attributes: vec![kv(
            "service.name",
            tc::any_value::Value::StringValue("svc".into()),
        )],
        dropped_attributes_count: 2,
        entity_refs: vec![],
    })
}

fn scope() -> Option<tc::InstrumentationScope> {
    Some(tc::InstrumentationScope {
        name: "lib".into(),
        version: "0.1".into(),
        attributes: vec![kv("s", tc::any_value::Value::BoolValue(true))],
        dropped_attributes_count: 1,
    })
}

/// Every metric type and every field opentelemetry-proto has, set to something not default.
fn every_metric_field() -> TheirMetrics {
    let attrs = || vec![kv("k", tc::any_value::Value::IntValue(-7))];
    let exemplar = |v| tm::Exemplar {
        filtered_attributes: attrs(),
        time_unix_nano: 11,
        span_id: vec![2; 8],
        trace_id: vec![1; 16],
        value: Some(v),
    };
    let number = |v| tm::NumberDataPoint {
        attributes: attrs(),
        start_time_unix_nano: 1,
        time_unix_nano: u64::MAX,
        exemplars: vec![
            exemplar(tm::exemplar::Value::AsDouble(0.25)),
            exemplar(tm::exemplar::Value::AsInt(i64::MIN)),
        ],
        flags: 1,
        value: Some(v),
    };
    let data = [
        tm::metric::Data::Gauge(tm::Gauge {
            data_points: vec![number(tm::number_data_point::Value::AsDouble(-1.5e300))],
        }),
        tm::metric::Data::Sum(tm::Sum {
            data_points: vec![
                number(tm::number_data_point::Value::AsInt(i64::MAX)),
                number(tm::number_data_point::Value::AsDouble(3.0)),
            ],
            aggregation_temporality: 1,
            is_monotonic: true,
        }),
        tm::metric::Data::Histogram(tm::Histogram {
            data_points: vec![tm::HistogramDataPoint {
                attributes: attrs(),
                start_time_unix_nano: 1,
                time_unix_nano: 2,
                count: 6,
                sum: Some(-0.0),
                bucket_counts: vec![1, 2, 3],
                explicit_bounds: vec![-1.0, 1.0],
                exemplars: vec![exemplar(tm::exemplar::Value::AsDouble(0.5))],
                flags: 1,
                min: Some(-2.0),
                max: Some(9.0),
            }],
            aggregation_temporality: 2,
        }),
        tm::metric::Data::ExponentialHistogram(tm::ExponentialHistogram {
            data_points: vec![tm::ExponentialHistogramDataPoint {
                attributes: attrs(),
                start_time_unix_nano: 1,
                time_unix_nano: 2,
                count: 9,
                sum: Some(4.5),
                scale: -3,
                zero_count: 1,
                positive: Some(tm::exponential_histogram_data_point::Buckets {
                    offset: -2,
                    bucket_counts: vec![1, 0, u64::MAX],
                }),
                negative: Some(tm::exponential_histogram_data_point::Buckets {
                    offset: 5,
                    bucket_counts: vec![3],
                }),
                flags: 1,
                exemplars: vec![exemplar(tm::exemplar::Value::AsInt(4))],
                min: Some(-8.0),
                max: Some(8.0),
                zero_threshold: 1e-9,
            }],
            aggregation_temporality: 1,
        }),
        tm::metric::Data::Summary(tm::Summary {
            data_points: vec![tm::SummaryDataPoint {
                attributes: attrs(),
                start_time_unix_nano: 1,
                time_unix_nano: 2,
                count: 10,
                sum: 55.5,
                quantile_values: vec![
                    tm::summary_data_point::ValueAtQuantile {
                        quantile: 0.5,
                        value: 5.0,
                    },
                    tm::summary_data_point::ValueAtQuantile {
                        quantile: 0.99,
                        value: 9.9,
                    },
                ],
                flags: 1,
            }],
        }),
    ];
    let metrics = data
        .into_iter()
        .enumerate()
        .map(|(i, d)| tm::Metric {
            name: format!("m{i}"),
            description: "d".into(),
            unit: "ms".into(),
            metadata: vec![kv("meta", tc::any_value::Value::StringValue("x".into()))],
            data: Some(d),
        })
        .collect();
    TheirMetrics {
        resource_metrics: vec![tm::ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![tm::ScopeMetrics {
                scope: scope(),
                metrics,
                schema_url: "https://opentelemetry.io/schemas/1.30.0".into(),
            }],
            schema_url: "https://opentelemetry.io/schemas/1.31.0".into(),
        }],
    }
}

fn every_log_field() -> TheirLogs {
    let record = |sev: i32| tl::LogRecord {
        time_unix_nano: 5,
        observed_time_unix_nano: 6,
        severity_number: sev,
        severity_text: "Warning".into(),
        body: Some(tc::AnyValue {
            value: Some(tc::any_value::Value::KvlistValue(tc::KeyValueList {
                values: vec![
                    kv("msg", tc::any_value::Value::StringValue("hi".into())),
                    kv("raw", tc::any_value::Value::BytesValue(vec![0, 255])),
                    kv(
                        "list",
                        tc::any_value::Value::ArrayValue(tc::ArrayValue {
                            values: vec![tc::AnyValue {
                                value: Some(tc::any_value::Value::DoubleValue(0.1)),
                            }],
                        }),
                    ),
                ],
            })),
        }),
        attributes: vec![kv("a", tc::any_value::Value::IntValue(1))],
        dropped_attributes_count: 3,
        flags: 1,
        trace_id: vec![0xab; 16],
        span_id: vec![0xcd; 8],
        event_name: "browser.click".into(),
    };
    TheirLogs {
        resource_logs: vec![tl::ResourceLogs {
            resource: resource(),
            scope_logs: vec![tl::ScopeLogs {
                scope: scope(),
                log_records: vec![record(13), record(24)],
                schema_url: "s".into(),
            }],
            schema_url: "r".into(),
        }],
    }
}

#[test]
fn every_metric_type_and_field_survives_our_protobuf_and_json() {
    let theirs = every_metric_field();
    let bytes = theirs.encode_to_vec();
    let ours = ExportMetricsServiceRequest::from_protobuf(&bytes).unwrap();
    assert_eq!(TheirMetrics::decode(&*ours.to_protobuf()).unwrap(), theirs);
    let back = ExportMetricsServiceRequest::from_json(&ours.to_json()).unwrap();
    assert_eq!(TheirMetrics::decode(&*back.to_protobuf()).unwrap(), theirs);
    assert_eq!(ours.data_point_count(), 6);
    let kinds: Vec<_> = ours
        .metrics()
        .map(|(_, _, m)| m.data.as_ref().unwrap().kind())
        .collect();
    assert_eq!(
        kinds,
        [
            "gauge",
            "sum",
            "histogram",
            "exponentialHistogram",
            "summary"
        ]
    );
}

#[test]
fn every_log_field_survives_our_protobuf_and_json() {
    let theirs = every_log_field();
    let ours = ExportLogsServiceRequest::from_protobuf(&theirs.encode_to_vec()).unwrap();
    assert_eq!(TheirLogs::decode(&*ours.to_protobuf()).unwrap(), theirs);
    let back = ExportLogsServiceRequest::from_json(&ours.to_json()).unwrap();
    assert_eq!(TheirLogs::decode(&*back.to_protobuf()).unwrap(), theirs);
    let their_json = serde_json::to_vec(&theirs).unwrap();
    assert_eq!(
        ExportLogsServiceRequest::from_json(&their_json).unwrap(),
        ours
    );
}

#[test]
fn metrics_json_follows_the_otlp_json_rules() {
    let ours =
        ExportMetricsServiceRequest::from_protobuf(&every_metric_field().encode_to_vec()).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&ours.to_json()).unwrap();
    let metrics = &json["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
    let gauge = &metrics[0]["gauge"]["dataPoints"][0];
    assert_eq!(gauge["asDouble"], -1.5e300);
    assert_eq!(gauge["timeUnixNano"], "18446744073709551615");
    assert_eq!(
        gauge["exemplars"][0]["traceId"],
        "01010101010101010101010101010101"
    );
    assert_eq!(gauge["exemplars"][0]["spanId"], "0202020202020202");
    assert_eq!(gauge["exemplars"][1]["asInt"], "-9223372036854775808");
    let sum = &metrics[1]["sum"];
    assert_eq!(sum["aggregationTemporality"], 1);
    assert_eq!(sum["isMonotonic"], true);
    assert_eq!(sum["dataPoints"][0]["asInt"], "9223372036854775807");
    let hist = &metrics[2]["histogram"]["dataPoints"][0];
    assert_eq!(hist["count"], "6");
    assert_eq!(hist["bucketCounts"], serde_json::json!(["1", "2", "3"]));
    assert_eq!(hist["explicitBounds"], serde_json::json!([-1.0, 1.0]));
    let exp = &metrics[3]["exponentialHistogram"]["dataPoints"][0];
    assert_eq!(exp["scale"], -3);
    assert_eq!(exp["positive"]["offset"], -2);
    assert_eq!(exp["positive"]["bucketCounts"][2], "18446744073709551615");
    let summary = &metrics[4]["summary"]["dataPoints"][0];
    assert_eq!(summary["quantileValues"][1]["quantile"], 0.99);
    for (i, m) in metrics.as_array().unwrap().iter().enumerate() {
        let keys = [
            "gauge",
            "sum",
            "histogram",
            "exponentialHistogram",
            "summary",
        ];
        let present: Vec<_> = keys.iter().filter(|k| m.get(**k).is_some()).collect();
        assert_eq!(present, [&keys[i]], "metric {i}: exactly one data key");
    }
}

/// OTLP/JSON as the specification writes it (opentelemetry-proto's examples use this shape):
/// enum names, 64-bit integers as strings, and fields we do not know, which are ignored.
#[test]
fn spec_shaped_json_decodes() {
    let metrics = br#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},
      "scopeMetrics":[{"scope":{"name":"my.library","version":"1.0.0"},"metrics":[
        {"name":"my.counter","unit":"1","description":"I am a Counter","sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE","isMonotonic":true,
          "dataPoints":[{"asDouble":5,"startTimeUnixNano":"1544712660300000000","timeUnixNano":"1544712660300000000","attributes":[{"key":"my.counter.attr","value":{"stringValue":"some value"}}]}]}},
        {"name":"my.gauge","gauge":{"dataPoints":[{"asDouble":"NaN","timeUnixNano":"1544712660300000000"},{"asInt":"-3","timeUnixNano":1}]}},
        {"name":"my.histogram","histogram":{"aggregationTemporality":1,"dataPoints":[{"startTimeUnixNano":"1","timeUnixNano":"2","count":2,"sum":2,"bucketCounts":[1,"1"],"explicitBounds":[1],"min":0,"max":2,"futureField":[]}]}},
        {"name":"my.exponential.histogram","exponentialHistogram":{"aggregationTemporality":"delta","dataPoints":[{"timeUnixNano":"2","count":"3","scale":0,"zeroCount":"1","positive":{"offset":1,"bucketCounts":["0","2"]}}]}}
      ]}]}]}"#;
    let req = ExportMetricsServiceRequest::from_json(metrics).unwrap();
    assert_eq!(req.data_point_count(), 5);
    let Some(Data::Gauge(g)) = &metric(&req, "my.gauge").data else {
        panic!()
    };
    assert!(matches!(g.data_points[0].value, Some(NumberValue::AsDouble(v)) if v.is_nan()));
    assert_eq!(g.data_points[1].value, Some(NumberValue::AsInt(-3)));
    let Some(Data::Sum(s)) = &metric(&req, "my.counter").data else {
        panic!()
    };
    assert_eq!(s.aggregation_temporality, 2);
    let Some(Data::ExponentialHistogram(e)) = &metric(&req, "my.exponential.histogram").data else {
        panic!()
    };
    assert_eq!(e.aggregation_temporality, 1);
    assert_eq!(
        e.data_points[0].positive.as_ref().unwrap().bucket_counts,
        [0, 2]
    );

    let logs = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},
      "scopeLogs":[{"scope":{"name":"my.library"},"logRecords":[
        {"timeUnixNano":"1544712660300000000","observedTimeUnixNano":"1544712660300000000","severityNumber":10,"severityText":"Information",
         "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","body":{"stringValue":"Example log record"},
         "attributes":[{"key":"string.attribute","value":{"stringValue":"some string"}}]},
        {"severityNumber":"SEVERITY_NUMBER_FATAL","observedTimeUnixNano":"7","traceId":"","spanId":""}
      ]}]}]}"#;
    let req = ExportLogsServiceRequest::from_json(logs).unwrap();
    assert_eq!(req.record_count(), 2);
    let records: Vec<_> = req.records().map(|(_, _, r)| r).collect();
    assert_eq!(
        otelctl_otlp::to_hex(&records[0].trace_id),
        "5b8efff798038103d269b633813fc60c"
    );
    assert_eq!(records[1].severity_number, 21);
    assert!(records[1].trace_id.is_empty());
    assert_eq!(records[1].effective_time_unix_nano(), 7);
    let json: serde_json::Value = serde_json::from_slice(&req.to_json()).unwrap();
    let r = &json["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    assert_eq!(r["traceId"], "5b8efff798038103d269b633813fc60c");
    assert_eq!(r["timeUnixNano"], "1544712660300000000");
    assert_eq!(r["severityNumber"], 10);
    assert!(json["resourceLogs"][0]["scopeLogs"][0]["logRecords"][1]
        .get("traceId")
        .is_none());
}

#[test]
fn malformed_metrics_and_logs_are_errors() {
    for bad in [
        &br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","gauge":{},"sum":{}}]}]}]}"#[..],
        br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","gauge":{"dataPoints":[{"asInt":"1","asDouble":1}]}}]}]}]}"#,
        br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","sum":{"aggregationTemporality":"SIDEWAYS"}}]}]}]}"#,
        br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","histogram":{"dataPoints":[{"bucketCounts":["-1"]}]}}]}]}]}"#,
    ] {
        assert!(
            ExportMetricsServiceRequest::from_json(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    for bad in [
        &br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}"#[..],
        br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"SEVERITY_NUMBER_LOUD"}]}]}]}"#,
        br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"-5"}]}]}]}"#,
    ] {
        assert!(ExportLogsServiceRequest::from_json(bad).is_err());
    }
    assert!(ExportMetricsServiceRequest::from_protobuf(&[0x0a, 0xff, 0xff]).is_err());
    assert!(ExportLogsServiceRequest::from_protobuf(&[0x0a, 0x05, 0x12]).is_err());
}

#[test]
fn severities_and_signals_by_name() {
    assert_eq!(SeverityNumber::parse("warn"), Some(13));
    assert_eq!(SeverityNumber::parse("WARNING"), Some(13));
    assert_eq!(SeverityNumber::parse("SEVERITY_NUMBER_ERROR2"), Some(18));
    assert_eq!(SeverityNumber::parse("9"), Some(9));
    assert_eq!(SeverityNumber::parse("25"), None);
    assert_eq!(SeverityNumber::parse("loud"), None);
    assert_eq!(SeverityNumber::short_name(15), "WARN");
    assert_eq!(SeverityNumber::short_name(0), "UNSPECIFIED");
    for s in Signal::ALL {
        assert_eq!(Signal::from_name(s.name()), Some(s));
        assert_eq!(s.http_path(), format!("/v1/{s}"));
    }
    assert_eq!(
        <ExportMetricsServiceRequest as ExportRequest>::response(2, "no".into())
            .partial_success
            .unwrap()
            .rejected_data_points,
        2
    );
    assert!(
        <ExportLogsServiceRequest as ExportRequest>::response(0, String::new())
            .partial_success
            .is_none()
    );
}
