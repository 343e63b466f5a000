package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// bind decodes a JSON body strictly: malformed JSON is 400; a wrong type or an unknown
// field is 422 naming the field, so a typo in a field name is not silently ignored.
func bind(c echo.Context, dst any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problemf(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", mbe.Limit))
		}
		return problemf(http.StatusBadRequest, "the body could not be read: "+err.Error())
	}
	// Put the body back: an Idempotency-Key's request hash is taken over it afterwards.
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	if len(bytes.TrimSpace(body)) == 0 {
		return problemf(http.StatusBadRequest, "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON value")
	}
	if err := decodeError(err); err != nil {
		return err
	}
	return noNUL(reflect.ValueOf(dst), "")
}

// noNUL refuses a NUL character in the string fields of a decoded body (and its nested
// structs and lists; not in maps, raw JSON or any, which are stored as JSON): the read
// side cannot store one in a text column and would halt at the event, for every user.
func noNUL(v reflect.Value, field string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() && (v.Kind() == reflect.Pointer || v.Elem().Kind() == reflect.Struct) {
			return noNUL(v.Elem(), field)
		}
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			return invalidField(field, "must not contain a NUL character (\\u0000)")
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 { // json.RawMessage: stored as JSON
			return nil
		}
		for i := range v.Len() {
			if err := noNUL(v.Index(i), field+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if field != "" {
				name = field + "." + name
			}
			if err := noNUL(v.Field(i), name); err != nil {
				return err
			}
		}
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return invalidField(field, "must be "+jsonKind(typ.Type.String())+", not "+typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalidField(name, "is not a field of this request")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), strings.Contains(err.Error(), "trailing data"):
		return problemf(http.StatusBadRequest, "the body is not valid JSON: "+err.Error())
	}
	return problemf(http.StatusBadRequest, "the body is not valid JSON: "+err.Error())
}

func jsonKind(goType string) string {
	switch {
	case strings.Contains(goType, "string"):
		return "a string"
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "a number"
	case strings.Contains(goType, "bool"):
		return "true or false"
	case strings.HasPrefix(goType, "[]"), strings.HasPrefix(goType, "*[]"):
		return "a list"
	case strings.HasPrefix(goType, "map"), strings.Contains(goType, "struct"), strings.Contains(goType, "."):
		return "an object"
	}
	return goType
}
