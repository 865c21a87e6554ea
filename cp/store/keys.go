package store

// The registry's layout in etcd. One prefix per service, so that a pilot
// watches exactly the services its sidecars use.
const (
	keyRoot      = "/octomesh/v1/"
	instancesDir = keyRoot + "instances/"
	routesDir    = keyRoot + "routes/"
	policiesDir  = keyRoot + "policies/"
	healthDir    = keyRoot + "health/"
	// probeKey is read (never written) to see whether etcd serves.
	probeKey = keyRoot + "probe"
)

// ServicePrefix is the etcd key prefix of every instance of service.
func ServicePrefix(service string) string { return instancesDir + service + "/" }

// InstanceKey is the etcd key of one instance: one per (service, address).
func InstanceKey(service, address string) string { return ServicePrefix(service) + address }

// RoutesKey is the etcd key holding app's route rules.
func RoutesKey(app string) string { return routesDir + app }

// PolicyKey is the etcd key holding service's policy (registry.ServicePolicy).
func PolicyKey(service string) string { return policiesDir + service }

// InstancesPrefix is the etcd key prefix of every instance of every service.
const InstancesPrefix = instancesDir

// HealthPrefix is the etcd key prefix of service's health marks.
func HealthPrefix(service string) string { return healthDir + service + "/" }

// HealthKey is the etcd key of the health mark of one instance, beside its
// InstanceKey: one per (service, address), without a lease.
func HealthKey(service, address string) string { return HealthPrefix(service) + address }

// AllHealthPrefix is the etcd key prefix of every health mark.
const AllHealthPrefix = healthDir
