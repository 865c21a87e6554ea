package rules

// The dispatcher's message bus (NATS): where notices are published, where
// the dispatcher forwards them, and how it asks a pilot what it holds.
// Subjects are NATS subjects; a pilot id is a token of them.
const (
	// Stream is the JetStream stream that keeps published notices until
	// the dispatcher has forwarded them (a durable consumer).
	Stream = "OCTOMESH_NOTICES"
	// NoticeSubjects is the stream's subjects: NoticeSubject(kind) each.
	NoticeSubjects = "octomesh.notices.>"
	// AllPilots is the core NATS subject of pilots that are not shards
	// (they serve every app): every notice is forwarded there too.
	AllPilots = "octomesh.pilots.all"
	// BackCheckSubject is where a pilot asks the dispatcher for a
	// back-check (a request; body BackCheckRequest), after it
	// (re)connects to NATS.
	BackCheckSubject = "octomesh.dispatcher.backcheck"
	// StoredHeader is a NATS header the dispatcher sets on the notices it
	// forwards: when the stream stored the notice (Unix ns, decimal). A
	// pilot times its delivery with it (notices.delivery_delay); it is
	// information only, and a notice without it is handled the same.
	StoredHeader = "Octomesh-Stored"
)

// NoticeSubject is the JetStream subject a notice of kind is published on.
func NoticeSubject(kind string) string { return "octomesh.notices." + kind }

// PilotSubject is the core NATS subject on which pilot id (a shard)
// receives the notices of its apps.
func PilotSubject(id string) string { return "octomesh.pilot." + id }

// RevisionsSubject is the request subject where a pilot listening on
// subject (PilotSubject(id) or AllPilots) answers with its Held.
func RevisionsSubject(subject string) string { return subject + ".revisions" }

// Held is a pilot's answer to a revisions request: for each kind (KindRoutes,
// KindPolicy) and key it holds, the etcd mod revision of the value it holds
// (0: the key did not exist when it read it).
type Held struct {
	// Pilot is the pilot's shard id; empty for a pilot that is not a shard.
	Pilot     string                      `json:"pilot"`
	Revisions map[string]map[string]int64 `json:"revisions"`
}

// BackCheckRequest asks the dispatcher to back-check one pilot (its shard
// id) or, with Pilot empty, the pilots that are not shards.
type BackCheckRequest struct {
	Pilot string `json:"pilot"`
}
