// Package jsontest holds helpers for tests that check the project's JSON handling against
// encoding/json.
package jsontest

import (
	"bytes"
	"encoding/json"
)

// HasRepeatedKeys reports whether an object in data has two keys of the same name, or a key
// reject refuses. name maps a key to the name compared (nil: the key itself); reject gets the
// depth of the key's object (0 for the top level) and the mapped name (nil: none refused).
// encoding/json keeps the last of repeated keys silently, so tests comparing with it leave such
// documents out. Invalid JSON reports false.
func HasRepeatedKeys(data []byte, name func(string) string, reject func(depth int, name string) bool) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type level struct {
		names  map[string]bool
		object bool
		key    bool // an object's next string token is a key
	}
	var stack []level
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].object && stack[top].key {
			if k, ok := tok.(string); ok {
				if name != nil {
					k = name(k)
				}
				if stack[top].names[k] || (reject != nil && reject(top, k)) {
					return true
				}
				stack[top].names[k], stack[top].key = true, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{names: map[string]bool{}, object: true, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			if stack = stack[:top]; len(stack) == 0 {
				return false
			}
		}
		if n := len(stack) - 1; n >= 0 && stack[n].object {
			stack[n].key = true // a value ended: a key comes next
		}
	}
}
