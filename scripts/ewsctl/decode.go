package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mailbridge/mailbridge/shared/exchange/ews"
)

// maxDecodeBytes bounds the file decode reads, as the client bounds a
// response (ews.DefaultMaxResponseBytes).
const maxDecodeBytes = ews.DefaultMaxResponseBytes

func runDecode(args []string, e env) error {
	fs := newFlagSet("decode", "FILE", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("need exactly one FILE (a saved EWS SOAP response, e.g. a trace's *.response.xml)")
	}
	path := fs.Arg(0)
	body, err := readBounded(path)
	if err != nil {
		return err
	}
	d, err := ews.DecodeResponse(body)
	if err != nil {
		// The client's error names an HTTP status that a file does not
		// have; its cause says what is wrong with the body.
		var ee *ews.Error
		if errors.As(err, &ee) && ee.Err != nil {
			err = ee.Err
		}
		return fmt.Errorf("%s: cannot decode: %v", path, err)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, maxDecodeBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(body) > maxDecodeBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes, the most the EWS client reads", path, maxDecodeBytes)
	}
	return body, nil
}
