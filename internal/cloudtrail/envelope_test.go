package cloudtrail

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNullEnvelopeFieldsAreNoAttributes(t *testing.T) {
	const detail = `"detail":{"eventVersion":"1.08","eventType":"AwsApiCall","eventName":"GetObject","eventTime":"2024-01-01T00:00:00Z"}`
	const envelope = `"version":"0","id":"e","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","account":"111122223333","region":"us-east-1","resources":null,"extra":null,"source2":"x","source2":null`
	for name, event := range map[string]string{
		"envelope first (the fast path)": `{` + envelope + `,` + detail + `}`,
		"detail first":                   `{` + detail + `,` + envelope + `}`,
	} {
		for format, opts := range bodyFormats() {
			t.Run(name+"/"+format, func(t *testing.T) {
				logs, _ := decodeAll(t, opts, []byte(event))
				require.Equal(t, 1, logs.LogRecordCount())
				attrs := allRecords(logs)[0].Attributes().AsRaw()
				assert.Equal(t, "aws.s3", attrs[KeyEventBridgeSource])
				for _, k := range []string{KeyEventBridgeResources, KeyEventBridgePrefix + "extra", KeyEventBridgePrefix + "source2"} {
					assert.NotContains(t, attrs, k, "null: no attribute")
				}
			})
		}
	}
}

func TestANonCloudTrailEventKeepsItsResourcesAsAnAttribute(t *testing.T) {
	const event = `{"version":"0","id":"g","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"111122223333","time":"2024-02-02T00:00:00Z","region":"us-east-1","resources":["arn:aws:ec2:us-east-1:111122223333:instance/i-1"],"detail":{"severity":5}}`
	for format, opts := range bodyFormats() {
		t.Run(format, func(t *testing.T) {
			logs, _ := decodeAll(t, opts, []byte(event))
			require.Equal(t, 1, logs.LogRecordCount())
			lr := allRecords(logs)[0]
			assert.Equal(t, EventNameEventBridge, lr.EventName())
			res, ok := lr.Attributes().Get(KeyEventBridgeResources)
			require.True(t, ok)
			assert.Equal(t, []any{"arn:aws:ec2:us-east-1:111122223333:instance/i-1"}, res.AsRaw())
		})
	}
}

func TestANullEnvelopeMemberAfterOneOfTheSameNameMapsAlikeInBothFormats(t *testing.T) {
	const rest = `"detail-type":"AWS API Call via CloudTrail","source":"aws.s3","account":"111122223333","region":"us-east-1",` +
		`"detail":{"eventVersion":"1.08","eventType":"AwsApiCall","eventName":"GetObject","eventTime":"2024-01-01T00:00:00Z"}`
	for event, want := range map[string]any{
		`{"version":"0","id":"A","event_id":null,` + rest + `}`: "A", // event_id is another field's (field.event_id)
		`{"version":"0","event_id":null,"id":"A",` + rest + `}`: "A",
		`{"version":"0","id":"A","id":null,` + rest + `}`:       nil, // a repeated key: the last, null, wins
		`{"version":"0","id":null,"id":"A",` + rest + `}`:       "A",
	} {
		for format, opts := range bodyFormats() {
			logs, _ := decodeAll(t, opts, []byte(event))
			require.Equal(t, 1, logs.LogRecordCount())
			got, ok := allRecords(logs)[0].Attributes().Get(KeyEventBridgeID)
			if want == nil {
				assert.False(t, ok, "%s: %s", format, event)
				continue
			}
			if assert.True(t, ok, "%s: %s", format, event) {
				assert.Equal(t, want, got.AsRaw(), "%s: %s", format, event)
			}
		}
	}
}

func TestEveryEnvelopeFieldHasAnAttributeOfItsOwn(t *testing.T) {
	const detail = `"detail":{"eventVersion":"1.08","eventType":"AwsApiCall","eventName":"GetObject","eventTime":"2024-01-01T00:00:00Z"}`
	for _, tc := range []struct {
		event string
		want  map[string]any // attributes; nil: absent
		name  string         // the EventName
	}{
		{
			event: `{"version":"0","id":"X","event_id":"B","id":"A","zz":1,"zz":null,"detail-type":"AWS API Call via CloudTrail",` + detail + `}`,
			want:  map[string]any{KeyEventBridgeID: "A", KeyEventBridgePrefix + "field.event_id": "B", KeyEventBridgePrefix + "zz": nil},
			name:  "aws.cloudtrail.api_call",
		},
		{
			event: `{"detail-type":"AWS API Call via CloudTrail","id":"X","event_id":"B","id":"A",` + detail + `}`,
			want:  map[string]any{KeyEventBridgeID: "A", KeyEventBridgePrefix + "field.event_id": "B"},
			name:  "aws.cloudtrail.api_call",
		},
		{
			event: `{"version":"0","detail-type":"Scheduled Event","detail_type":"AWS API Call via CloudTrail",` + detail + `}`,
			want:  map[string]any{KeyEventBridgeDetail: "Scheduled Event"},
			name:  EventNameEventBridge,
		},
		{
			event: `{"version":"0","detail-type":"AWS API Call via CloudTrail","field.x":"1","x":"2",` + detail + `}`,
			want:  map[string]any{KeyEventBridgePrefix + "field.field.x": "1", KeyEventBridgePrefix + "x": "2"},
			name:  "aws.cloudtrail.api_call",
		},
	} {
		var got [2]map[string]any
		for i, opts := range []Options{{}, {RawBody: true}} {
			logs, _ := decodeAll(t, opts, []byte(tc.event))
			require.Equal(t, 1, logs.LogRecordCount())
			lr := allRecords(logs)[0]
			assert.Equal(t, tc.name, lr.EventName(), "%v: %s", opts, tc.event)
			got[i] = lr.Attributes().AsRaw()
			for k, v := range tc.want {
				if v == nil {
					assert.NotContains(t, got[i], k, "%v: %s", opts, tc.event)
				} else {
					assert.Equal(t, v, got[i][k], "%s, %v: %s", k, opts, tc.event)
				}
			}
		}
		delete(got[0], KeyNumberLiterals)
		assert.Equal(t, got[0], got[1], "map and raw: %s", tc.event)
	}
}
