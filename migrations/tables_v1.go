package migrations

// The tables as migration 0001 creates them. A later migration that changes a table must
// change its definition here too (Current is what rebuilds create), and say so in its file.

func id(n string) Column            { return Column{Name: n, Kind: ID} }
func str(n string, size int) Column { return Column{Name: n, Kind: Str, Size: size} }
func text(n string) Column          { return Column{Name: n, Kind: Text} }
func jsonCol(n string) Column       { return Column{Name: n, Kind: JSON} }
func integer(n string) Column       { return Column{Name: n, Kind: Int} }
func bigint(n string) Column        { return Column{Name: n, Kind: BigInt} }
func seq(n string) Column           { return Column{Name: n, Kind: Seq} }
func boolean(n string) Column       { return Column{Name: n, Kind: Bool} }
func float(n string) Column         { return Column{Name: n, Kind: Float} }
func at(n string) Column            { return Column{Name: n, Kind: Time, Null: true} }

var users = Table{Name: "users", Projected: true, PrimaryKey: []string{"id"}, Columns: []Column{
	id("id"), str("email", 254), str("name", 200), at("created_at"), seq("seq"),
}}

var credentials = Table{Name: "credentials", PrimaryKey: []string{"user_id"}, Columns: []Column{
	id("user_id"), str("email", 254), str("password_hash", 255), at("created_at"),
}, Indexes: []Index{{Name: "email", Columns: []string{"email"}, Unique: true}}}

var apps = Table{Name: "apps", Projected: true, PrimaryKey: []string{"id"}, Columns: []Column{
	id("id"), id("owner_id"), str("name", 200), text("description"), jsonCol("environments"),
	str("default_environment", 100), jsonCol("notify_emails"), jsonCol("disabled_checks"),
	at("archived_at"), at("created_at"), at("updated_at"), seq("created_seq"), seq("seq"),
}, Indexes: []Index{
	// GET /apps: the owner's apps, not archived, in creation order (cursor = created_seq).
	{Name: "owner", Columns: []string{"owner_id", "archived_at", "created_seq"}},
}}

var interfaces = Table{Name: "api_interface", Projected: true, PrimaryKey: []string{"id"}, Columns: []Column{
	id("id"), id("app_id"), id("owner_id"), str("name", 300), str("method", 16), text("path"),
	text("description"), jsonCol("headers"), jsonCol("path_params"), jsonCol("query"), jsonCol("body"),
	str("content_type", 255), jsonCol("responses"), str("source", 16), text("source_key"),
	integer("version"), at("deleted_at"), at("created_at"), at("updated_at"), seq("created_seq"), seq("seq"),
}, Indexes: []Index{
	// GET /apps/{id}/interfaces, in definition order.
	{Name: "app", Columns: []string{"app_id", "deleted_at", "created_seq"}},
	// Re-imports find an operation by its source key.
	{Name: "source_key", Columns: []string{"app_id", "source_key"}, Prefix: map[string]int{"source_key": 191}},
}}

var generations = Table{Name: "api_generation", Projected: true, PrimaryKey: []string{"id"}, Columns: []Column{
	id("id"), id("interface_id"), id("app_id"), id("owner_id"), str("status", 16), str("generator", 16),
	jsonCol("options"), str("model", 255), str("prompt_version", 255), text("fallback_reason"),
	jsonCol("case_ids"), jsonCol("dropped"), integer("tokens_in"), integer("tokens_out"), bigint("duration_ms"),
	text("reason"), integer("interface_version"), at("requested_at"), at("finished_at"),
	seq("created_seq"), seq("seq"),
}, Indexes: []Index{
	{Name: "interface", Columns: []string{"interface_id", "created_seq"}},
}}

var cases = Table{Name: "api_testcase", Projected: true, PrimaryKey: []string{"id"}, Columns: []Column{
	id("id"), id("interface_id"), id("app_id"), id("owner_id"), str("name", 300), str("class", 32),
	str("priority", 8), jsonCol("request"), jsonCol("assertions"), jsonCol("extract"), boolean("enabled"),
	str("source", 16), str("generation_id", 64), text("reason"), seq("created_seq"), integer("position"),
	at("deleted_at"), at("created_at"), at("updated_at"), seq("seq"),
}, Indexes: []Index{
	// GET /interfaces/{id}/cases, in the order cases were added.
	{Name: "interface", Columns: []string{"interface_id", "deleted_at", "created_seq", "position"}},
}}

var batches = Table{Name: "api_testbatch", Projected: true, PrimaryKey: []string{"id"}, Columns: []Column{
	id("id"), id("app_id"), id("owner_id"), str("environment", 100), text("base_url"), jsonCol("settings"),
	str("status", 16), integer("total"), integer("passed"), integer("failed"), integer("errored"),
	integer("canceled"), boolean("cancel_requested"), boolean("was_canceled"), at("started_at"),
	at("completed_at"), bigint("duration_ms"), float("p50"), float("p95"), float("p99"),
	integer("analyses"), integer("reports"), seq("created_seq"), seq("seq"),
}, Indexes: []Index{
	// GET /apps/{id}/batches, newest first.
	{Name: "app", Columns: []string{"app_id", "created_seq"}},
}}

var results = Table{Name: "api_result", Projected: true, PrimaryKey: []string{"batch_id", "case_id"}, Columns: []Column{
	id("batch_id"), id("case_id"), id("app_id"), id("owner_id"), id("interface_id"), str("outcome", 16),
	integer("status_code"), float("duration_ms"), jsonCol("assertions"), text("error"), jsonCol("request"),
	jsonCol("response"), jsonCol("extracted"), str("runner", 255), at("executed_at"), seq("seq"),
}, Indexes: []Index{
	// GET /batches/{id}/results in execution order (cursor = seq), with or without ?outcome=.
	{Name: "batch", Columns: []string{"batch_id", "seq"}},
	{Name: "outcome", Columns: []string{"batch_id", "outcome", "seq"}},
}}

var reports = Table{Name: "api_report", Projected: true, PrimaryKey: []string{"batch_id"}, Columns: []Column{
	id("batch_id"), id("app_id"), id("owner_id"), integer("analysis_revision"), jsonCol("analysis"),
	str("narrator", 16), str("analysis_model", 255), text("analysis_fallback"), at("analyzed_at"),
	integer("report_revision"), jsonCol("formats"), jsonCol("digests"), seq("as_of_seq"), at("reported_at"),
	str("notify_status", 16), jsonCol("notify_recipients"), integer("notify_attempts"), text("notify_reason"),
	at("notified_at"), seq("seq"),
}}

var idempotencyKeys = Table{Name: "idempotency_keys", PrimaryKey: []string{"user_id", "key"}, Columns: []Column{
	id("user_id"), str("key", 255), str("request_hash", 64), integer("status"),
	jsonCol("response_headers"), text("response_body"), at("created_at"),
}, Indexes: []Index{{Name: "created", Columns: []string{"created_at"}}}}

var checkpoints = Table{Name: "projection_checkpoints", PrimaryKey: []string{"name"}, Columns: []Column{
	str("name", 100), seq("seq"), bigint("epoch"), at("updated_at"),
}}

var failures = Table{Name: "projection_failures", PrimaryKey: []string{"projection", "seq"}, Columns: []Column{
	str("projection", 100), seq("seq"), str("event_type", 100), text("reason"), at("created_at"), at("resolved_at"),
}}

var v1 = []Table{users, credentials, apps, interfaces, generations, cases, batches, results, reports,
	idempotencyKeys, checkpoints, failures}

// Current is every table as the latest migration leaves it.
func Current() []Table { return v1 }

// Projected is the tables the "tables" projection maintains, in the order they are written.
func Projected() []Table {
	var out []Table
	for _, t := range Current() {
		if t.Projected {
			out = append(out, t)
		}
	}
	return out
}

// Lookup finds a current table by name.
func Lookup(name string) (Table, bool) {
	for _, t := range Current() {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}
