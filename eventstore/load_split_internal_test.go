package eventstore

import "testing"

func TestSplitLoad(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		filters []string
		want    bool
	}{
		{[]string{"events.app.a.batch.b.result.*"}, false},
		{[]string{"events.app.a.interface.i", "events.app.a.interface.j"}, false},
		{[]string{"events.app.a.batch.b", "events.app.a.batch.b.result.*"}, true},
		{[]string{"events.app.*.batch.b", "events.app.*.batch.b.>"}, true},
	} {
		if got := splitLoad(c.filters); got != c.want {
			t.Errorf("splitLoad(%v) = %v, want %v", c.filters, got, c.want)
		}
	}
}
