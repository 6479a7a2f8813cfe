//! The OTLP metrics model: `ExportMetricsServiceRequest` and everything under it, one set of
//! types for protobuf (prost) and OTLP/JSON, with the trace model's conventions.
//!
//! Field tags follow opentelemetry-proto (`metrics/v1/metrics.proto`,
//! `collector/metrics/v1/metrics_service.proto`). In JSON, a `Metric`'s data is the one key
//! of `gauge`, `sum`, `histogram`, `exponentialHistogram` or `summary`, and a number is
//! `asDouble` (a JSON number, or `"NaN"`/`"Infinity"`/`"-Infinity"`) or `asInt` (a decimal
//! string); every `fixed64` count is a decimal string; exemplar ids are hex.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::{
    enum_int, hex_id, i64_text, is_zero_u32, u64_text, InstrumentationScope, KeyValue, Resource,
    F64, I64,
};

/// `ExportMetricsServiceRequest`: what an OTLP metrics exporter sends.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportMetricsServiceRequest {
    #[prost(message, repeated, tag = "1")]
    pub resource_metrics: Vec<ResourceMetrics>,
}

/// `ExportMetricsServiceResponse`: what a receiver answers.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportMetricsServiceResponse {
    #[prost(message, optional, tag = "1")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_success: Option<ExportMetricsPartialSuccess>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportMetricsPartialSuccess {
    #[prost(int64, tag = "1")]
    #[serde(with = "i64_text")]
    pub rejected_data_points: i64,
    #[prost(string, tag = "2")]
    pub error_message: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceMetrics {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_metrics: Vec<ScopeMetrics>,
    #[prost(string, tag = "3")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub schema_url: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScopeMetrics {
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    #[prost(string, tag = "3")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub schema_url: String,
}

/// One metric: a name, and its points as one of five kinds of data.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[prost(string, tag = "3")]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub unit: String,
    #[prost(oneof = "Data", tags = "5, 7, 9, 10, 11")]
    #[serde(flatten)]
    pub data: Option<Data>,
    #[prost(message, repeated, tag = "12")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<KeyValue>,
}

/// A metric's data (the `data` oneof of `Metric`).
#[derive(Clone, PartialEq, prost::Oneof, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Data {
    #[prost(message, tag = "5")]
    Gauge(Gauge),
    #[prost(message, tag = "7")]
    Sum(Sum),
    #[prost(message, tag = "9")]
    Histogram(Histogram),
    #[prost(message, tag = "10")]
    ExponentialHistogram(ExponentialHistogram),
    #[prost(message, tag = "11")]
    Summary(Summary),
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Gauge {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Sum {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
    #[prost(enumeration = "AggregationTemporality", tag = "2")]
    #[serde(deserialize_with = "temporality")]
    pub aggregation_temporality: i32,
    #[prost(bool, tag = "3")]
    pub is_monotonic: bool,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Histogram {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<HistogramDataPoint>,
    #[prost(enumeration = "AggregationTemporality", tag = "2")]
    #[serde(deserialize_with = "temporality")]
    pub aggregation_temporality: i32,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExponentialHistogram {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<ExponentialHistogramDataPoint>,
    #[prost(enumeration = "AggregationTemporality", tag = "2")]
    #[serde(deserialize_with = "temporality")]
    pub aggregation_temporality: i32,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<SummaryDataPoint>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AggregationTemporality {
    Unspecified = 0,
    Delta = 1,
    Cumulative = 2,
}

impl AggregationTemporality {
    /// Every value's name (its proto name without `AGGREGATION_TEMPORALITY_`, lower case).
    pub const NAMES: &'static [(&'static str, i32)] =
        &[("unspecified", 0), ("delta", 1), ("cumulative", 2)];

    /// The name of `value` (`cumulative`); `unspecified` for a value OTLP does not define.
    pub fn name_of(value: i32) -> &'static str {
        crate::name_in(Self::NAMES, value)
    }
}

/// `DataPointFlags`: bit 0 says the point has no recorded value (a staleness marker).
pub const FLAG_NO_RECORDED_VALUE: u32 = 1;

/// A gauge's or a sum's point.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberDataPoint {
    #[prost(message, repeated, tag = "7")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "2")]
    #[serde(with = "u64_text", skip_serializing_if = "is_zero_u64")]
    pub start_time_unix_nano: u64,
    #[prost(fixed64, tag = "3")]
    #[serde(with = "u64_text")]
    pub time_unix_nano: u64,
    #[prost(oneof = "NumberValue", tags = "4, 6")]
    #[serde(flatten)]
    pub value: Option<NumberValue>,
    #[prost(message, repeated, tag = "5")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exemplars: Vec<Exemplar>,
    #[prost(uint32, tag = "8")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub flags: u32,
}

/// The value of a [`NumberDataPoint`] (`asDouble` or `asInt`).
#[derive(Clone, Copy, PartialEq, prost::Oneof, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NumberValue {
    #[prost(double, tag = "4")]
    #[serde(serialize_with = "f64_json::serialize")]
    AsDouble(f64),
    #[prost(sfixed64, tag = "6")]
    #[serde(serialize_with = "i64_text::serialize")]
    AsInt(i64),
}

/// A sample point an aggregation came from, with the span it was recorded in.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exemplar {
    #[prost(message, repeated, tag = "7")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filtered_attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "2")]
    #[serde(with = "u64_text")]
    pub time_unix_nano: u64,
    #[prost(oneof = "ExemplarValue", tags = "3, 6")]
    #[serde(flatten)]
    pub value: Option<ExemplarValue>,
    #[prost(bytes = "vec", tag = "4")]
    #[serde(with = "hex_id", skip_serializing_if = "Vec::is_empty")]
    pub span_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "5")]
    #[serde(with = "hex_id", skip_serializing_if = "Vec::is_empty")]
    pub trace_id: Vec<u8>,
}

/// The value of an [`Exemplar`] (`asDouble` or `asInt`; other tags than a point's).
#[derive(Clone, Copy, PartialEq, prost::Oneof, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ExemplarValue {
    #[prost(double, tag = "3")]
    #[serde(serialize_with = "f64_json::serialize")]
    AsDouble(f64),
    #[prost(sfixed64, tag = "6")]
    #[serde(serialize_with = "i64_text::serialize")]
    AsInt(i64),
}

/// A histogram's point: counts in buckets with explicit bounds.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HistogramDataPoint {
    #[prost(message, repeated, tag = "9")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "2")]
    #[serde(with = "u64_text", skip_serializing_if = "is_zero_u64")]
    pub start_time_unix_nano: u64,
    #[prost(fixed64, tag = "3")]
    #[serde(with = "u64_text")]
    pub time_unix_nano: u64,
    #[prost(fixed64, tag = "4")]
    #[serde(with = "u64_text")]
    pub count: u64,
    #[prost(double, optional, tag = "5")]
    #[serde(with = "opt_f64_json", skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
    #[prost(fixed64, repeated, tag = "6")]
    #[serde(with = "u64_text_vec")]
    pub bucket_counts: Vec<u64>,
    #[prost(double, repeated, tag = "7")]
    #[serde(with = "f64_json_vec")]
    pub explicit_bounds: Vec<f64>,
    #[prost(message, repeated, tag = "8")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exemplars: Vec<Exemplar>,
    #[prost(uint32, tag = "10")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub flags: u32,
    #[prost(double, optional, tag = "11")]
    #[serde(with = "opt_f64_json", skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[prost(double, optional, tag = "12")]
    #[serde(with = "opt_f64_json", skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// An exponential histogram's point: base-2 exponential buckets at a `scale`.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExponentialHistogramDataPoint {
    #[prost(message, repeated, tag = "1")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "2")]
    #[serde(with = "u64_text", skip_serializing_if = "is_zero_u64")]
    pub start_time_unix_nano: u64,
    #[prost(fixed64, tag = "3")]
    #[serde(with = "u64_text")]
    pub time_unix_nano: u64,
    #[prost(fixed64, tag = "4")]
    #[serde(with = "u64_text")]
    pub count: u64,
    #[prost(double, optional, tag = "5")]
    #[serde(with = "opt_f64_json", skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
    #[prost(sint32, tag = "6")]
    pub scale: i32,
    #[prost(fixed64, tag = "7")]
    #[serde(with = "u64_text")]
    pub zero_count: u64,
    #[prost(message, optional, tag = "8")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub positive: Option<Buckets>,
    #[prost(message, optional, tag = "9")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative: Option<Buckets>,
    #[prost(uint32, tag = "10")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub flags: u32,
    #[prost(message, repeated, tag = "11")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exemplars: Vec<Exemplar>,
    #[prost(double, optional, tag = "12")]
    #[serde(with = "opt_f64_json", skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[prost(double, optional, tag = "13")]
    #[serde(with = "opt_f64_json", skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[prost(double, tag = "14")]
    #[serde(with = "f64_json", skip_serializing_if = "is_zero_f64")]
    pub zero_threshold: f64,
}

/// `ExponentialHistogramDataPoint.Buckets`: counts of consecutive buckets from `offset`.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Buckets {
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    #[prost(uint64, repeated, tag = "2")]
    #[serde(with = "u64_text_vec")]
    pub bucket_counts: Vec<u64>,
}

/// A summary's point: count, sum and quantiles (from Prometheus-style summaries).
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SummaryDataPoint {
    #[prost(message, repeated, tag = "7")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "2")]
    #[serde(with = "u64_text", skip_serializing_if = "is_zero_u64")]
    pub start_time_unix_nano: u64,
    #[prost(fixed64, tag = "3")]
    #[serde(with = "u64_text")]
    pub time_unix_nano: u64,
    #[prost(fixed64, tag = "4")]
    #[serde(with = "u64_text")]
    pub count: u64,
    #[prost(double, tag = "5")]
    #[serde(with = "f64_json")]
    pub sum: f64,
    #[prost(message, repeated, tag = "6")]
    pub quantile_values: Vec<ValueAtQuantile>,
    #[prost(uint32, tag = "8")]
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub flags: u32,
}

/// `SummaryDataPoint.ValueAtQuantile`.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ValueAtQuantile {
    #[prost(double, tag = "1")]
    #[serde(with = "f64_json")]
    pub quantile: f64,
    #[prost(double, tag = "2")]
    #[serde(with = "f64_json")]
    pub value: f64,
}

// ---- counting and walking ---------------------------------------------------------------------

impl Data {
    /// How many points this data holds.
    pub fn data_point_count(&self) -> usize {
        match self {
            Data::Gauge(g) => g.data_points.len(),
            Data::Sum(s) => s.data_points.len(),
            Data::Histogram(h) => h.data_points.len(),
            Data::ExponentialHistogram(h) => h.data_points.len(),
            Data::Summary(s) => s.data_points.len(),
        }
    }

    /// The kind's name as OTLP/JSON spells its key: `gauge`, `sum`, `histogram`,
    /// `exponentialHistogram`, `summary`.
    pub fn kind(&self) -> &'static str {
        match self {
            Data::Gauge(_) => "gauge",
            Data::Sum(_) => "sum",
            Data::Histogram(_) => "histogram",
            Data::ExponentialHistogram(_) => "exponentialHistogram",
            Data::Summary(_) => "summary",
        }
    }

    /// The aggregation temporality (`Unspecified` for gauges and summaries, which have none).
    pub fn temporality(&self) -> i32 {
        match self {
            Data::Sum(s) => s.aggregation_temporality,
            Data::Histogram(h) => h.aggregation_temporality,
            Data::ExponentialHistogram(h) => h.aggregation_temporality,
            Data::Gauge(_) | Data::Summary(_) => AggregationTemporality::Unspecified as i32,
        }
    }
}

impl Metric {
    /// How many points this metric holds (0 when it has no data).
    pub fn data_point_count(&self) -> usize {
        self.data.as_ref().map_or(0, Data::data_point_count)
    }
}

impl NumberValue {
    /// The value as a double (an `asInt` converted).
    pub fn as_f64(self) -> f64 {
        match self {
            NumberValue::AsDouble(d) => d,
            NumberValue::AsInt(i) => i as f64,
        }
    }
}

impl ExportMetricsServiceRequest {
    /// Every metric with the resource and scope it came under, in order.
    pub fn metrics(&self) -> impl Iterator<Item = (&ResourceMetrics, &ScopeMetrics, &Metric)> {
        self.resource_metrics.iter().flat_map(|rm| {
            rm.scope_metrics
                .iter()
                .flat_map(move |sm| sm.metrics.iter().map(move |m| (rm, sm, m)))
        })
    }

    /// How many data points the request holds: what `rejected_data_points` counts.
    pub fn data_point_count(&self) -> usize {
        self.metrics().map(|(_, _, m)| m.data_point_count()).sum()
    }

    /// A request holding one resource with one scope of metrics.
    pub fn single(
        resource: Vec<KeyValue>,
        scope: InstrumentationScope,
        metrics: Vec<Metric>,
    ) -> Self {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: resource,
                    dropped_attributes_count: 0,
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(scope),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }
}

crate::encodings!(ExportMetricsServiceRequest);

// ---- JSON: the oneofs -------------------------------------------------------------------------

/// A `Metric` as JSON has it: each kind of data its own key, at most one present.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct MetricJson {
    name: String,
    description: String,
    unit: String,
    gauge: Option<Gauge>,
    sum: Option<Sum>,
    histogram: Option<Histogram>,
    exponential_histogram: Option<ExponentialHistogram>,
    summary: Option<Summary>,
    metadata: Vec<KeyValue>,
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = MetricJson::deserialize(d)?;
        let mut data = [
            j.gauge.map(Data::Gauge),
            j.sum.map(Data::Sum),
            j.histogram.map(Data::Histogram),
            j.exponential_histogram.map(Data::ExponentialHistogram),
            j.summary.map(Data::Summary),
        ]
        .into_iter()
        .flatten();
        let first = data.next();
        if data.next().is_some() {
            return Err(de::Error::custom(format!(
                "metric {:?} has more than one of gauge, sum, histogram, exponentialHistogram, summary",
                j.name
            )));
        }
        Ok(Metric {
            name: j.name,
            description: j.description,
            unit: j.unit,
            data: first,
            metadata: j.metadata,
        })
    }
}

/// `asDouble` / `asInt` as JSON has them (at most one): `None` when neither is present.
fn number<E: de::Error>(
    as_double: Option<F64>,
    as_int: Option<I64>,
) -> Result<Option<Result<f64, i64>>, E> {
    match (as_double, as_int) {
        (Some(_), Some(_)) => Err(E::custom("a number has both asDouble and asInt")),
        (Some(d), None) => Ok(Some(Ok(d.0))),
        (None, Some(i)) => Ok(Some(Err(i.0))),
        (None, None) => Ok(None),
    }
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct NumberDataPointJson {
    attributes: Vec<KeyValue>,
    #[serde(with = "u64_text")]
    start_time_unix_nano: u64,
    #[serde(with = "u64_text")]
    time_unix_nano: u64,
    as_double: Option<F64>,
    as_int: Option<I64>,
    exemplars: Vec<Exemplar>,
    flags: u32,
}

impl<'de> Deserialize<'de> for NumberDataPoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = NumberDataPointJson::deserialize(d)?;
        Ok(NumberDataPoint {
            attributes: j.attributes,
            start_time_unix_nano: j.start_time_unix_nano,
            time_unix_nano: j.time_unix_nano,
            value: number(j.as_double, j.as_int)?.map(|v| match v {
                Ok(d) => NumberValue::AsDouble(d),
                Err(i) => NumberValue::AsInt(i),
            }),
            exemplars: j.exemplars,
            flags: j.flags,
        })
    }
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ExemplarJson {
    filtered_attributes: Vec<KeyValue>,
    #[serde(with = "u64_text")]
    time_unix_nano: u64,
    as_double: Option<F64>,
    as_int: Option<I64>,
    #[serde(with = "hex_id")]
    span_id: Vec<u8>,
    #[serde(with = "hex_id")]
    trace_id: Vec<u8>,
}

impl<'de> Deserialize<'de> for Exemplar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = ExemplarJson::deserialize(d)?;
        Ok(Exemplar {
            filtered_attributes: j.filtered_attributes,
            time_unix_nano: j.time_unix_nano,
            value: number(j.as_double, j.as_int)?.map(|v| match v {
                Ok(d) => ExemplarValue::AsDouble(d),
                Err(i) => ExemplarValue::AsInt(i),
            }),
            span_id: j.span_id,
            trace_id: j.trace_id,
        })
    }
}

// ---- serde helpers ----------------------------------------------------------------------------

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

fn temporality<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    enum_int(d, "AGGREGATION_TEMPORALITY_", AggregationTemporality::NAMES)
}

/// A double: a JSON number, or the proto3 JSON mapping's strings for NaN and infinities (a
/// bare `null`, what serde_json writes for them, would not decode).
mod f64_json {
    use super::*;
    use serde::Serializer;
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_str("NaN")
        } else if v.is_infinite() {
            s.serialize_str(if *v > 0.0 { "Infinity" } else { "-Infinity" })
        } else {
            s.serialize_f64(*v)
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(F64::deserialize(d)?.0)
    }
}

mod opt_f64_json {
    use super::*;
    use serde::Serializer;
    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => f64_json::serialize(v, s),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(Option::<F64>::deserialize(d)?.map(|v| v.0))
    }
}

mod f64_json_vec {
    use super::*;
    use serde::ser::{SerializeSeq, Serializer};
    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        struct One(f64);
        impl Serialize for One {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                f64_json::serialize(&self.0, s)
            }
        }
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            seq.serialize_element(&One(*x))?;
        }
        seq.end()
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Option::<Vec<F64>>::deserialize(d)?
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.0)
            .collect())
    }
}

/// Repeated 64-bit counts: decimal strings out, strings or numbers in.
mod u64_text_vec {
    use super::*;
    use serde::ser::{SerializeSeq, Serializer};
    pub fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            seq.serialize_element(&x.to_string())?;
        }
        seq.end()
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        struct U(u64);
        impl<'de> Deserialize<'de> for U {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                u64_text::deserialize(d).map(U)
            }
        }
        Ok(Option::<Vec<U>>::deserialize(d)?
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.0)
            .collect())
    }
}
