package rules

// The rule store's HTTP API, served by the dispatcher (cp/rules is the
// server side; Client the one client). Writes need the operator token as
// "Authorization: Bearer <token>"; reads and dry runs do not.
//
//	POST   /v1/rules/apply?file=NAME[&dry_run=true]   YAML documents -> ApplyResponse
//	POST   /v1/rules/delete?file=NAME[&dry_run=true]  YAML documents (their kind and name) -> ApplyResponse
//	GET    /v1/rules                                 -> ListResponse (every document)
//	GET    /v1/rules/{kind}                          -> ListResponse
//	GET    /v1/rules/{kind}/{name}                   -> Document
//	GET    /v1/rules/{kind}/{name}?history=true      -> HistoryResponse
//	DELETE /v1/rules/{kind}/{name}[?revision=N]      -> ApplyResponse
//
// An apply (or delete) is one etcd transaction: all of its documents are
// written, or none. With dry_run nothing is written, and the answer says
// what would change (the diff). Errors are ErrorBody with 400 (invalid),
// 401 (no or wrong token), 404 (no such document), 409 (a revision
// conflict) or 503 (etcd unavailable).

// What an apply or a delete did to a document.
const (
	ActionCreated    = "created"
	ActionConfigured = "configured"
	ActionUnchanged  = "unchanged"
	ActionDeleted    = "deleted"
)

// Result is what happened (or, in a dry run, would happen) to one
// document.
type Result struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Action string `json:"action"`
	// Revision is the document's revision after the write (its old one
	// when unchanged, deleted or in a dry run).
	Revision int64 `json:"revision,omitempty"`
	// Diff shows the change as lines of the documents' YAML, "-" for the
	// stored one and "+" for the new one; empty when unchanged.
	Diff string `json:"diff,omitempty"`
}

// Ref is "Kind/name".
func (r Result) Ref() string { return r.Kind + "/" + r.Name }

// ApplyResponse answers an apply or a delete.
type ApplyResponse struct {
	Results []Result `json:"results"`
	// Revision is the etcd revision of the write; 0 when nothing was
	// written (a dry run, or nothing changed).
	Revision int64 `json:"revision,omitempty"`
	DryRun   bool  `json:"dry_run,omitempty"`
}

// Changed reports whether any document was (or would be) created,
// configured or deleted.
func (r *ApplyResponse) Changed() bool {
	for _, res := range r.Results {
		if res.Action != ActionUnchanged {
			return true
		}
	}
	return false
}

// ListResponse lists documents, sorted by kind and name.
type ListResponse struct {
	Documents []Document `json:"documents"`
}

// HistoryResponse is a document and its previous versions, newest first
// (at most HistoryDepth). Document is nil when it was deleted.
type HistoryResponse struct {
	Document *Document  `json:"document"`
	History  []Document `json:"history"`
}

// HistoryDepth is how many previous versions of a document are kept.
const HistoryDepth = 10

// ErrorBody is the body of every error answer: {"error": "..."}.
type ErrorBody struct {
	Error string `json:"error"`
}

// TokenHelp says how to give ctl the operator token: the message of a 401.
const TokenHelp = "writing rules needs an operator token: ctl --token-file or OCTOMESH_TOKEN"
