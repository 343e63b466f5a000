package domain

import "reflect"

// reflectNew returns a pointer to a new zero value of v's dynamic type, for json.Unmarshal.
func reflectNew(v Event) any { return reflect.New(reflect.TypeOf(v)).Interface() }

// reflectElem dereferences what reflectNew made.
func reflectElem(p any) Event { return reflect.ValueOf(p).Elem().Interface().(Event) }
