package registration

// RefusedStat is the /stats line of Stats.Refused (WriteStats), and
// RefusedHelp its description: the pilot's and Meta's metrics.go list it
// in their expositions (stats/exposition), as
// octomesh_<server>_registration_refused_total.
const (
	RefusedStat = "registration.refused"
	RefusedHelp = "Registration API requests refused (403) because the caller's certificate names another app than the instance's, the service's owner, the lease's or the rules'."
)
