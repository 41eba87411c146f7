package openobservetest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ColumnType is the type a stream's column was inferred with.
type ColumnType string

// Column types, named as OpenObserve names them.
const (
	TypeUtf8    ColumnType = "Utf8"
	TypeInt64   ColumnType = "Int64"
	TypeFloat64 ColumnType = "Float64"
	TypeBoolean ColumnType = "Boolean"
)

func inferType(v any) ColumnType {
	switch t := v.(type) {
	case bool:
		return TypeBoolean
	case json.Number:
		if strings.ContainsAny(string(t), ".eE") {
			return TypeFloat64
		}
		if _, err := t.Int64(); err != nil {
			return TypeFloat64
		}
		return TypeInt64
	default:
		return TypeUtf8
	}
}

// widens reports whether a column of type from may change to type to.
func widens(from, to ColumnType) bool {
	switch from {
	case TypeBoolean:
		return to == TypeUtf8
	case TypeInt64:
		return to == TypeUtf8 || to == TypeFloat64
	case TypeFloat64:
		return to == TypeUtf8
	default:
		return false
	}
}

// castable reports whether v can be stored in a column of type t.
func castable(v any, t ColumnType) bool {
	switch t {
	case TypeUtf8:
		return true
	case TypeInt64, TypeFloat64:
		_, isNumber := v.(json.Number)
		return isNumber
	case TypeBoolean:
		switch x := v.(type) {
		case bool, json.Number:
			return true
		case string:
			return x == "true" || x == "false"
		}
	}
	return false
}

// schema is a stream's column types.
type schema map[string]ColumnType

// admit checks a record against the schema and, when it fits, records the record's columns.
func (s schema) admit(row Row) error {
	var changes map[string]ColumnType
	for k, v := range row {
		if k == "_timestamp" {
			continue
		}
		t := inferType(v)
		existing, ok := s[k]
		switch {
		case !ok || existing == t:
			if !ok {
				if changes == nil {
					changes = map[string]ColumnType{}
				}
				changes[k] = t
			}
		case widens(existing, t):
			if changes == nil {
				changes = map[string]ColumnType{}
			}
			changes[k] = t
		case !castable(v, existing):
			return fmt.Errorf("failed to cast %s to type %s", k, existing)
		}
	}
	for k, t := range changes {
		s[k] = t
	}
	return nil
}
