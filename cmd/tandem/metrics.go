package main

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"tandem/control/store"
	"tandem/rtpengine"
	"tandem/sipstack"
	callswitch "tandem/switch"
	"tandem/switch/webhook"
)

// Library packages keep their counters as atomics and hand out snapshots
// (CONTRIBUTING.md "Metrics"); statsCollector turns a snapshot into
// Prometheus metrics at scrape time, so the packet and message paths never
// touch Prometheus.
//
// Naming: tandem_<subsystem>_<field in snake case>; unsigned integers are
// counters (with _total), signed integers gauges; maps become one metric
// with a label, arrays one metric labelled through arrayLabel.
type statsCollector struct {
	subsystem string
	snapshot  func() any
	// mapLabel names the label of map fields (by field name); default "key".
	mapLabel map[string]string
	// arrayLabel names an array field's label and its values.
	arrayLabel map[string]func(i int) (label, value string)
	// gauges lists unsigned fields that are levels, not counts.
	gauges map[string]bool
	// skip lists fields exported otherwise (or not at all).
	skip map[string]bool
	// extra adds metrics the generic rules do not cover (histograms).
	extra func(v any, ch chan<- prometheus.Metric)
}

// Describe sends nothing: the collector is unchecked (its metrics follow
// the snapshot's fields).
func (c *statsCollector) Describe(chan<- *prometheus.Desc) {}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	v := c.snapshot()
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if !f.IsExported() || c.skip[f.Name] {
			continue
		}
		c.collectField(ch, f, rv.Field(i))
	}
	if c.extra != nil {
		c.extra(v, ch)
	}
}

func (c *statsCollector) collectField(ch chan<- prometheus.Metric, f reflect.StructField, v reflect.Value) {
	base := "tandem_" + c.subsystem + "_" + snake(f.Name)
	help := c.subsystem + " " + f.Name
	switch v.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if c.gauges[f.Name] {
			c.gauge(ch, base, help, float64(v.Uint()))
			return
		}
		c.counter(ch, base+"_total", help, float64(v.Uint()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if f.Type == reflect.TypeOf(time.Duration(0)) {
			c.counter(ch, base+"_seconds_total", help, time.Duration(v.Int()).Seconds())
			return
		}
		c.gauge(ch, base, help, float64(v.Int()))
	case reflect.Map:
		label := c.mapLabel[f.Name]
		if label == "" {
			label = "key"
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keyString(keys[i]) < keyString(keys[j]) })
		desc := prometheus.NewDesc(base+"_total", help, []string{label}, nil)
		for _, k := range keys {
			mv := v.MapIndex(k)
			if mv.Kind() < reflect.Uint || mv.Kind() > reflect.Uint64 {
				continue
			}
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(mv.Uint()), keyString(k))
		}
	case reflect.Array:
		lf := c.arrayLabel[f.Name]
		if lf == nil {
			return
		}
		var desc *prometheus.Desc
		for i := 0; i < v.Len(); i++ {
			label, value := lf(i)
			if desc == nil {
				desc = prometheus.NewDesc(base+"_total", help, []string{label}, nil)
			}
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v.Index(i).Uint()), value)
		}
	}
}

func (c *statsCollector) counter(ch chan<- prometheus.Metric, name, help string, v float64) {
	ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, nil, nil), prometheus.CounterValue, v)
}

func (c *statsCollector) gauge(ch chan<- prometheus.Metric, name, help string, v float64) {
	ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue, v)
}

func keyString(k reflect.Value) string {
	switch k.Kind() {
	case reflect.String:
		return k.String()
	case reflect.Int, reflect.Int64, reflect.Int32:
		return strconv.FormatInt(k.Int(), 10)
	}
	return ""
}

// snake turns "PacketsForwarded" into "packets_forwarded" and "TCPRefused"
// into "tcp_refused".
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// registerMetrics exports every component's counters on /metrics.
func (d *daemon) registerMetrics(sip *sipstack.Stack, media *rtpengine.Engine, hooks *webhook.Client, sw *callswitch.Switch, writer *store.CallWriter, st store.Store) {
	if c, ok := st.(interface{ CacheStats() store.CacheStats }); ok {
		d.reg.MustRegister(&statsCollector{
			subsystem: "store_cache", snapshot: func() any { return c.CacheStats() },
			skip: map[string]bool{"Entries": true},
			extra: func(v any, ch chan<- prometheus.Metric) {
				s := v.(store.CacheStats)
				ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("tandem_store_cache_entries", "Reads held in the store's read cache.", nil, nil), prometheus.GaugeValue, float64(s.Entries))
			},
		})
	}
	d.reg.MustRegister(
		&statsCollector{
			subsystem: "sip", snapshot: func() any { return sip.Stats() },
			mapLabel: map[string]string{"RequestsIn": "method", "RequestsOut": "method", "ResponsesIn": "class", "ResponsesOut": "class", "Refused": "reason"},
		},
		&statsCollector{
			subsystem: "media", snapshot: func() any { return media.Stats() },
			arrayLabel: map[string]func(int) (string, string){
				"Drops": func(i int) (string, string) { return "reason", rtpengine.DropReason(i).String() },
			},
		},
		&statsCollector{
			subsystem: "webhook", snapshot: func() any { return hooks.Stats() },
			mapLabel: map[string]string{"FetchFailures": "code"},
			skip:     map[string]bool{"Latency": true, "LatencySum": true, "LatencyN": true},
			extra: func(v any, ch chan<- prometheus.Metric) {
				s := v.(webhook.Stats)
				buckets := make(map[float64]uint64, len(s.Latency))
				for _, b := range s.Latency {
					buckets[b.UpperBound.Seconds()] = b.Count
				}
				ch <- prometheus.MustNewConstHistogram(
					prometheus.NewDesc("tandem_webhook_fetch_duration_seconds", "Webhook fetch latency (retries and redirects included).", nil, nil),
					s.LatencyN, s.LatencySum.Seconds(), buckets)
			},
		},
		&statsCollector{
			subsystem: "calls", snapshot: func() any { return sw.Stats() },
		},
		&statsCollector{
			subsystem: "store_call_writer", snapshot: func() any { return writer.Stats() },
			skip: map[string]bool{"Queued": true},
			extra: func(v any, ch chan<- prometheus.Metric) {
				s := v.(store.CallWriterStats)
				ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("tandem_store_call_writer_queued", "Call records waiting to be written.", nil, nil), prometheus.GaugeValue, float64(s.Queued))
			},
		},
	)
}
