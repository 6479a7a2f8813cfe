module github.com/otelctl/otelctl/e2e/dashcheck

go 1.21

require github.com/grafana/grafana-foundation-sdk/go v0.0.22
