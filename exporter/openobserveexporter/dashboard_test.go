package openobserveexporter

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/openobservetest"
)

// The field contract: OpenObserve's prebuilt CloudTrail dashboard (testdata/CloudTrail.dashboard.json,
// see PROVENANCE.md) must find every field it queries, with the right value, in what this
// exporter sends for real events.

type dashboardPanel struct {
	tab, title string
	sql        string
	columns    []string
}

func loadDashboard(t *testing.T) []dashboardPanel {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "CloudTrail.dashboard.json"))
	require.NoError(t, err)
	type column struct {
		Column string `json:"column"`
	}
	var d struct {
		Tabs []struct {
			Name   string `json:"name"`
			Panels []struct {
				Title   string `json:"title"`
				Queries []struct {
					Query  string `json:"query"`
					Fields struct {
						Stream    string   `json:"stream"`
						X         []column `json:"x"`
						Y         []column `json:"y"`
						Z         []column `json:"z"`
						Breakdown []column `json:"breakdown"`
						Filter    struct {
							Conditions []column `json:"conditions"`
						} `json:"filter"`
					} `json:"fields"`
				} `json:"queries"`
			} `json:"panels"`
		} `json:"tabs"`
	}
	require.NoError(t, json.Unmarshal(data, &d))
	var panels []dashboardPanel
	for _, tab := range d.Tabs {
		for _, p := range tab.Panels {
			for _, q := range p.Queries {
				require.Equal(t, "aws_orgs_cloudtrail", q.Fields.Stream)
				var cols []string
				for _, group := range [][]column{q.Fields.X, q.Fields.Y, q.Fields.Z, q.Fields.Breakdown, q.Fields.Filter.Conditions} {
					for _, c := range group {
						if !slices.Contains(cols, c.Column) {
							cols = append(cols, c.Column)
						}
					}
				}
				panels = append(panels, dashboardPanel{tab: tab.Name, title: p.Title, sql: q.Query, columns: cols})
			}
		}
	}
	return panels
}

var (
	sqlStrings  = regexp.MustCompile(`'[^']*'|"[^"]*"`)
	sqlIdent    = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	sqlAlias    = regexp.MustCompile(`(?i)\bas\s+"([^"]+)"`)
	sqlKeywords = map[string]bool{
		"select": true, "as": true, "from": true, "group": true, "by": true, "order": true, "asc": true,
		"desc": true, "where": true, "in": true, "and": true, "or": true, "not": true, "limit": true,
		"count": true, "histogram": true, "str_match": true, "str_match_ignore_case": true,
	}
)

// sqlColumns returns the identifiers of a panel's SQL that are columns: not keywords,
// functions, the stream or the aliases the query defines.
func sqlColumns(sql string) []string {
	aliases := map[string]bool{}
	for _, m := range sqlAlias.FindAllStringSubmatch(sql, -1) {
		aliases[m[1]] = true
	}
	var cols []string
	for _, id := range sqlIdent.FindAllString(sqlStrings.ReplaceAllString(sql, " "), -1) {
		if !sqlKeywords[strings.ToLower(id)] && !aliases[id] && !slices.Contains(cols, id) {
			cols = append(cols, id)
		}
	}
	return cols
}

// dashboardFields are the 25 fields REFERENCE §3 lists.
var dashboardFields = []string{
	"_timestamp", "recipientaccountid", "eventid", "eventname", "eventsource", "awsregion", "eventcategory",
	"eventtype", "readonly", "managementevent", "useridentity_arn", "useridentity_type", "useridentity_accesskeyid",
	"useridentity_principalid", "useridentity_invokedby", "useridentity_accountid", "useridentity_sessioncontext",
	"requestparameters_bucketname", "requestparameters_serviceid", "responseelements_consolelogin",
	"sourceipaddress", "useragent", "loggroup", "logstream", "subscriptionfilters",
}

func TestDashboardQueriesUseTheDocumentedFields(t *testing.T) {
	panels := loadDashboard(t)
	require.Len(t, panels, 39)
	var all []string
	for _, p := range panels {
		assert.ElementsMatch(t, p.columns, sqlColumns(p.sql), "%s: the query's columns are the panel's fields", p.title)
		for _, c := range p.columns {
			if !slices.Contains(all, c) {
				all = append(all, c)
			}
		}
	}
	assert.ElementsMatch(t, dashboardFields, all)
}

// syntheticServiceID is the one synthetic record of the tests: no real record in the corpora
// carries requestParameters.serviceId, which the "Resource Accessed by Service ID" panel
// counts. It is shaped like an AWS Cloud Map RegisterInstance call.
const syntheticServiceID = `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEEXAMPLE","arn":"arn:aws:iam::111122223333:user/example","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEEXAMPLE","userName":"example"},"eventTime":"2024-05-01T10:00:00Z","eventSource":"servicediscovery.amazonaws.com","eventName":"RegisterInstance","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.10","userAgent":"aws-cli/2.15.0","requestParameters":{"serviceId":"srv-example0000000001","instanceId":"i-0example"},"responseElements":{"operationId":"op-example"},"requestID":"00000000-0000-4000-8000-000000000001","eventID":"00000000-0000-4000-8000-000000000002","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`

func TestDashboardFindsEveryFieldItQueries(t *testing.T) {
	panels := loadDashboard(t)
	paths := allRealRecords(t)
	paths["synthetic"] = []testRecord{{json: []byte(syntheticServiceID)}}

	srv := wideServer(t)
	h := newHarness(t, srv, func(cfg *Config) {
		wideWindow(cfg)
		cfg.Stream = "aws_orgs_cloudtrail"
	})

	present := map[string]map[string]bool{} // path → columns with data
	for _, path := range []string{"eventbridge", "cloudwatch", "bare", "synthetic"} {
		records := paths[path]
		before := srv.RowCount("default", "aws_orgs_cloudtrail")
		ld, order := buildLogsOrdered(t, records, buildOptions{})
		require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))
		rows := srv.Rows("default", "aws_orgs_cloudtrail")[before:]
		require.Len(t, rows, len(records), path)

		present[path] = map[string]bool{}
		for n, i := range order {
			rec, row := records[i], rows[n]
			want := expectedDashboardValues(t, rec)
			require.Equal(t, want["eventid"], row["eventid"], "%s: rows arrive in order", path)
			for _, f := range dashboardFields {
				w, ok := want[f]
				if !ok {
					assert.NotContains(t, row, f, "%s record %d", path, i)
					continue
				}
				if assert.Contains(t, row, f, "%s record %d", path, i) {
					assert.True(t, sameValue(w, row[f]) || w == row[f], "%s record %d, %s: want %v, got %v", path, i, f, w, row[f])
					present[path][f] = true
				}
			}
		}
	}

	withData := func(pathsToUse ...string) int {
		n := 0
		for _, p := range panels {
			ok := true
			for _, c := range p.columns {
				found := false
				for _, path := range pathsToUse {
					found = found || present[path][c]
				}
				ok = ok && found
			}
			if ok {
				n++
			}
		}
		return n
	}
	t.Logf("panels with data: EventBridge path %d/39, CloudWatch Logs path %d/39, bare records %d/39, all %d/39",
		withData("eventbridge"), withData("cloudwatch"), withData("bare"), withData("eventbridge", "cloudwatch", "bare", "synthetic"))
	assert.Equal(t, 39, withData("eventbridge", "cloudwatch", "bare", "synthetic"), "every panel has data")
	// What a source cannot provide stays missing: the CloudWatch Logs envelope fields only
	// exist on that path, and no real EventBridge event here is a console login.
	for _, f := range dashboardFields {
		switch f {
		case "loggroup", "logstream", "subscriptionfilters":
			assert.True(t, present["cloudwatch"][f], f)
			assert.False(t, present["eventbridge"][f] || present["bare"][f], f)
		case "requestparameters_serviceid":
			assert.True(t, present["synthetic"][f], f)
		default:
			assert.True(t, present["eventbridge"][f] || present["cloudwatch"][f] || present["bare"][f], f)
		}
	}

	mfaFalse := 0
	for _, row := range srv.Rows("default", "aws_orgs_cloudtrail") {
		if s, ok := row["useridentity_sessioncontext"].(string); ok && strings.Contains(strings.ToLower(s), strings.ToLower(`"mfaAuthenticated":"false"`)) {
			mfaFalse++
		}
	}
	assert.Positive(t, mfaFalse, "the three MFA panels match rows")
}

// expectedDashboardValues computes, from a record and how it arrived, the value each
// dashboard field should have, independently of the exporter: OpenObserve's flattening of the
// bare record for the plain fields, the special cases for the others.
func expectedDashboardValues(t *testing.T, rec testRecord) map[string]any {
	t.Helper()
	flat, err := openobservetest.Flatten(rec.json, 3)
	require.NoError(t, err)
	want := map[string]any{}
	for _, f := range dashboardFields {
		if v, ok := flat[f]; ok {
			want[f] = v
		}
	}
	var r struct {
		EventTime    string `json:"eventTime"`
		UserIdentity struct {
			SessionContext json.RawMessage `json:"sessionContext"`
		} `json:"userIdentity"`
	}
	require.NoError(t, json.Unmarshal(rec.json, &r))
	if sc := r.UserIdentity.SessionContext; len(sc) > 0 && sc[0] == '{' && !isEmptyObject(sc) {
		want["useridentity_sessioncontext"], err = openobservetest.CompactJSON(sc)
		require.NoError(t, err)
	}
	if ts, ok := parseEventTime(r.EventTime); ok {
		want["_timestamp"] = ts
	} else {
		want["_timestamp"] = testObserved(t, rec)
	}
	if rec.cw != nil {
		want["loggroup"] = rec.cw.LogGroup
		want["logstream"] = rec.cw.LogStream
		filters, err := json.Marshal(rec.cw.SubscriptionFilters)
		require.NoError(t, err)
		want["subscriptionfilters"] = string(filters)
	}
	return want
}

// testObserved is the time a record without a usable eventTime is stored under: the log
// record's Timestamp (RFC 3339 eventTimes only, as the builder sets it) else the receive time.
func testObserved(t *testing.T, rec testRecord) int64 {
	ld := buildLogs(t, []testRecord{rec}, buildOptions{})
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	if lr.Timestamp() != 0 {
		return int64(lr.Timestamp()) / 1000
	}
	return int64(lr.ObservedTimestamp()) / 1000
}

func isEmptyObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && len(m) == 0
}

func TestDashboardTestSeesTheRealEventTimeForms(t *testing.T) {
	// The corpora hold the eventTime oddities the exporter must read: make sure they are there.
	forms := map[string]bool{}
	for _, rec := range allRealRecords(t)["bare"] {
		var r struct {
			EventTime *string `json:"eventTime"`
		}
		require.NoError(t, json.Unmarshal(rec.json, &r))
		switch {
		case r.EventTime == nil:
			forms["missing"] = true
		case strings.Contains(*r.EventTime, "T"):
			forms["rfc3339"] = true
		case strings.HasSuffix(*r.EventTime, "Z"):
			forms["space+Z"] = true
		case strings.Contains(*r.EventTime, " "):
			forms["space, no zone"] = true
		default:
			forms["not a time"] = true
		}
	}
	keys := make([]string, 0, len(forms))
	for k := range forms {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	assert.Subset(t, keys, []string{"missing", "not a time", "rfc3339", "space+Z", "space, no zone"})
}
