// Echo is the OctoMesh example service: it returns what it is sent, plus the
// name of the server instance that answered, so tests and demos through the
// mesh can check both the payload and where a request landed.
namespace go echo

struct EchoRequest {
    1: i64 id
    2: binary payload
}

struct EchoResponse {
    1: i64 id
    2: binary payload
    3: string server
}

service Echo {
    EchoResponse Echo(1: EchoRequest req)
}
