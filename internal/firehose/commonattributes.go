package firehose

import (
	"errors"
	"fmt"

	"github.com/otelcol-cloudtrail/otelcol-cloudtrail/internal/jsonscan"
)

// ParseCommonAttributes parses the X-Amz-Firehose-Common-Attributes header,
// {"commonAttributes":{"k":"v",...}}, into pairs in header order. An empty header gives none.
func ParseCommonAttributes(header string) ([][2]string, error) {
	if header == "" {
		return nil, nil
	}
	sc := jsonscan.New([]byte(header), true)
	if err := sc.Expect('{'); err != nil {
		return nil, fmt.Errorf("common attributes: %w", err)
	}
	var pairs [][2]string
	for first := true; ; first = false {
		more, err := sc.More('}', first)
		if err != nil {
			return nil, fmt.Errorf("common attributes: %w", err)
		}
		if !more {
			break
		}
		key, err := sc.Key()
		if err != nil {
			return nil, fmt.Errorf("common attributes: %w", err)
		}
		if key != "commonAttributes" {
			if err := sc.Skip(); err != nil {
				return nil, fmt.Errorf("common attributes: %w", err)
			}
			continue
		}
		if sc.Peek() == 'n' {
			if _, err := sc.Literal(); err != nil {
				return nil, fmt.Errorf("common attributes: %w", err)
			}
			continue
		}
		if err := sc.Expect('{'); err != nil {
			return nil, errors.New("common attributes: commonAttributes is not an object")
		}
		for firstAttr := true; ; firstAttr = false {
			more, err := sc.More('}', firstAttr)
			if err != nil {
				return nil, fmt.Errorf("common attributes: %w", err)
			}
			if !more {
				break
			}
			k, err := sc.Key()
			if err != nil {
				return nil, fmt.Errorf("common attributes: %w", err)
			}
			if sc.Peek() != '"' {
				return nil, fmt.Errorf("common attributes: value of %q is not a string", k)
			}
			v, err := sc.String()
			if err != nil {
				return nil, fmt.Errorf("common attributes: %w", err)
			}
			pairs = append(pairs, [2]string{k, v})
		}
	}
	if !sc.AtEnd() {
		return nil, errors.New("common attributes: data after the object")
	}
	return pairs, nil
}
