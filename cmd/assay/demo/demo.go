// Package demo is the sample target `assay dev --demo` serves and tests: a small pet shop
// API (list pets, add a pet, adopt a pet), its OpenAPI 3.0 document, and four planted bugs
// of the kinds testers meet. Bugs lists them with how a failing case shows each one.
package demo

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// OpenAPI is the target's OpenAPI 3.0 document (YAML): what it should do.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Bug is a planted bug and how a failed case shows it: a failed result of the interface
// Method Path, whose failed assertions include Check, of a case of class Class (any when
// empty) on the field Field (any when empty: the case's name starts with "Field:").
type Bug struct {
	ID          string
	Description string
	Method      string
	Path        string
	Class       string
	Field       string
	// Check is the failed assertion's target: "status", or a default check such as
	// "check.content_type_conformance".
	Check string
}

// Bugs are the planted bugs.
var Bugs = []Bug{
	{ID: "name-off-by-one", Description: "name is documented as at most 20 characters, but a name of 21 is accepted (the check is > 21)",
		Method: "POST", Path: "/pets", Class: "out_of_range", Field: "body.name", Check: "status"},
	{ID: "exotic-500", Description: `species "exotic" is documented, but adding an exotic pet answers 500`,
		Method: "POST", Path: "/pets", Class: "enum", Field: "body.species", Check: "check.not_a_server_error"},
	{ID: "list-content-type", Description: "the pet list is JSON but is sent as text/plain",
		Method: "GET", Path: "/pets", Check: "check.content_type_conformance"},
	{ID: "age-accepts-string", Description: `age is documented as an integer, but a string is accepted (and read as 0)`,
		Method: "POST", Path: "/pets", Class: "wrong_type", Field: "body.age", Check: "status"},
}

// Pet is a pet of the shop.
type Pet struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Species string `json:"species"`
	Age     *int   `json:"age,omitempty"`
}

type adoption struct {
	ID           int    `json:"id"`
	PetID        int    `json:"pet_id"`
	AdopterName  string `json:"adopter_name"`
	AdopterEmail string `json:"adopter_email"`
}

var species = []string{"dog", "cat", "bird", "exotic"}

// maxPets bounds the shop's memory: past it the oldest pets leave.
const maxPets = 1000

type shop struct {
	mu        sync.Mutex
	pets      []Pet
	nextPet   int
	adoptions int
}

// Handler is the target API. Its state lives in memory, seeded with a few pets.
func Handler() http.Handler {
	s := &shop{}
	for _, p := range []struct{ name, species string }{{"Rex", "dog"}, {"Tom", "cat"}, {"Tweety", "bird"}} {
		s.add(p.name, p.species, nil)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pets", s.list)
	mux.HandleFunc("POST /pets", s.create)
	mux.HandleFunc("POST /adoptions", s.adopt)
	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(OpenAPI)
	})
	return mux
}

func (s *shop) add(name, sp string, age *int) Pet {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextPet++
	p := Pet{ID: s.nextPet, Name: name, Species: sp, Age: age}
	s.pets = append(s.pets, p)
	if len(s.pets) > maxPets {
		s.pets = slices.Delete(s.pets, 0, len(s.pets)-maxPets)
	}
	return p
}

func (s *shop) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sp := q.Get("species")
	if q.Has("species") && !slices.Contains(species, sp) {
		problem(w, http.StatusUnprocessableEntity, "species must be one of dog, cat, bird, exotic")
		return
	}
	limit := 20
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > 100 {
			problem(w, http.StatusUnprocessableEntity, "limit must be an integer from 1 to 100")
			return
		}
		limit = n
	}
	s.mu.Lock()
	out := make([]Pet, 0, limit)
	for i := len(s.pets) - 1; i >= 0 && len(out) < limit; i-- {
		if sp == "" || s.pets[i].Species == sp {
			out = append(out, s.pets[i])
		}
	}
	s.mu.Unlock()
	// BUG list-content-type: the body is JSON, but the Content-Type says text/plain (the
	// document says application/json). Every 200 of GET /pets fails the
	// content_type_conformance check.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *shop) create(w http.ResponseWriter, r *http.Request) {
	body, ok := object(w, r)
	if !ok {
		return
	}
	name, err := str(body, "name")
	if err == nil {
		// BUG name-off-by-one: the document says maxLength 20; the check lets 21 through.
		// The out_of_range case "1 character over maxLength 20" expects 4xx and gets 201.
		if n := utf8.RuneCountInString(name); n < 1 || n > 21 {
			err = fmt.Errorf("name must be 1 to 20 characters")
		}
	}
	if err != nil {
		problem(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	sp, err := str(body, "species")
	if err == nil && !slices.Contains(species, sp) {
		err = fmt.Errorf("species must be one of dog, cat, bird, exotic")
	}
	if err != nil {
		problem(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	var age *int
	if raw, has := body["age"]; has {
		a, err := lenientAge(raw)
		if err != nil {
			problem(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		age = &a
	}
	if sp == "exotic" {
		// BUG exotic-500: exotic pets need a permit record the shop never loads; the
		// handler fails instead of adding the pet. The enum case "enum value exotic"
		// expects 201 and gets an undocumented 500 (not_a_server_error fails).
		http.Error(w, "internal error: no permit table for exotic pets", http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusCreated, s.add(name, sp, age))
}

// lenientAge reads age.
//
// BUG age-accepts-string: a string is read with Atoi and its error ignored, so "not-a-number"
// is accepted as 0 where the document says integer. The wrong_type case expects 4xx and
// gets 201.
func lenientAge(raw json.RawMessage) (int, error) {
	var v any
	_ = json.Unmarshal(raw, &v)
	switch x := v.(type) {
	case string:
		n, _ := strconv.Atoi(x)
		return n, nil
	case float64:
		if x != math.Trunc(x) {
			return 0, fmt.Errorf("age must be an integer")
		}
		if x < 0 || x > 30 {
			return 0, fmt.Errorf("age must be from 0 to 30")
		}
		return int(x), nil
	}
	return 0, fmt.Errorf("age must be an integer")
}

func (s *shop) adopt(w http.ResponseWriter, r *http.Request) {
	body, ok := object(w, r)
	if !ok {
		return
	}
	petID, err := integer(body, "pet_id", 1)
	if err != nil {
		problem(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	name, err := str(body, "adopter_name")
	if err == nil {
		if n := utf8.RuneCountInString(name); n < 2 || n > 40 {
			err = fmt.Errorf("adopter_name must be 2 to 40 characters")
		}
	}
	if err != nil {
		problem(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	email, err := str(body, "adopter_email")
	if err == nil {
		if a, perr := mail.ParseAddress(email); perr != nil || a.Address != email {
			err = fmt.Errorf("adopter_email must be an email address")
		}
	}
	if err != nil {
		problem(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	s.mu.Lock()
	s.adoptions++
	a := adoption{ID: s.adoptions, PetID: petID, AdopterName: name, AdopterEmail: email}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, a)
}

// object reads a JSON object body; it answers 400 itself when there is none.
func object(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil || body == nil {
		problem(w, http.StatusBadRequest, "the body must be a JSON object")
		return nil, false
	}
	return body, true
}

func str(body map[string]json.RawMessage, field string) (string, error) {
	raw, has := body[field]
	if !has {
		return "", fmt.Errorf("%s is required", field)
	}
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil || s == nil {
		return "", fmt.Errorf("%s must be a string", field)
	}
	return *s, nil
}

func integer(body map[string]json.RawMessage, field string, minimum int) (int, error) {
	raw, has := body[field]
	if !has {
		return 0, fmt.Errorf("%s is required", field)
	}
	var f *float64
	if err := json.Unmarshal(raw, &f); err != nil || f == nil || *f != math.Trunc(*f) {
		return 0, fmt.Errorf("%s must be an integer", field)
	}
	if *f < float64(minimum) || *f > math.MaxInt32 {
		return 0, fmt.Errorf("%s must be at least %d", field, minimum)
	}
	return int(*f), nil
}

func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
