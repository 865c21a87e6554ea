package ca

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	api "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/config"
)

// Handler serves the CA's API (api/ca): POST /v1/certificates, GET
// /v1/bundle, GET /stats. Serve it over HTTPS with ServingCertificate: the
// bootstrap tokens travel in it.
func (c *CA) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+api.PathCertificates, c.serveSign)
	mux.HandleFunc("GET "+api.PathBundle, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(api.EncodeCertificates(c.bundle...))
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		m := map[string]uint64{"ca.signed": c.Stats.Signed.Load()}
		for r := Refusal(0); r < numRefusals; r++ {
			m["ca.refused."+r.String()] = c.Stats.Refused[r].Load()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(m)
	})
	return mux
}

func (c *CA) serveSign(w http.ResponseWriter, r *http.Request) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	der, err := ParseSignRequest(http.MaxBytesReader(w, r.Body, api.MaxRequestSize))
	if err != nil {
		c.Stats.Refused[RefusedBadRequest].Add(1)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp, err := c.Sign(der, token)
	if err != nil {
		status := http.StatusInternalServerError
		var e *Error
		if errors.As(err, &e) {
			switch e.Reason {
			case RefusedBadToken:
				status = http.StatusUnauthorized
			case RefusedNotAllowed:
				status = http.StatusForbidden
			default:
				status = http.StatusBadRequest
			}
		}
		writeError(w, status, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// ParseSignRequest reads a SignRequest's JSON body (unknown fields are
// errors) and returns the DER of its one PEM CERTIFICATE REQUEST.
func ParseSignRequest(body io.Reader) ([]byte, error) {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var req api.SignRequest
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("ca: the request body is not a sign request: %v", err)
	}
	if dec.More() {
		return nil, errors.New("ca: the request body holds more than one JSON value")
	}
	b, rest := pem.Decode([]byte(req.CSR))
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New(`ca: csr: want one PEM "CERTIFICATE REQUEST" block`)
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, errors.New("ca: csr: something follows the PEM block")
	}
	return b.Bytes, nil
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.ErrorResponse{Error: msg})
}

// tokensFile is the bootstrap tokens file's form.
type tokensFile struct {
	Tokens []tokenEntry `yaml:"tokens"`
}

type tokenEntry struct {
	Node  string   `yaml:"node"`
	Token string   `yaml:"token"`
	Apps  []string `yaml:"apps"`
}

// LoadTokens reads the bootstrap tokens file (YAML):
//
//	tokens:
//	  - node: node-1
//	    token: "a long random secret"
//	    apps: [echo-client, echo-server]
//
// Every error names the file, line and field.
func LoadTokens(file string, data []byte) ([]Grant, error) {
	var tf tokensFile
	if err := config.DecodeYAML(file, data, &tf); err != nil {
		return nil, err
	}
	seen := map[string]string{}
	out := make([]Grant, 0, len(tf.Tokens))
	for i, e := range tf.Tokens {
		p := fmt.Sprintf("%s: tokens[%d]", file, i)
		switch {
		case e.Node == "":
			return nil, fmt.Errorf("%s.node: missing", p)
		case len(e.Token) < 16:
			return nil, fmt.Errorf("%s.token: missing or shorter than 16 bytes", p)
		case len(e.Apps) == 0:
			return nil, fmt.Errorf("%s.apps: at least one app is needed", p)
		}
		if other, dup := seen[e.Token]; dup {
			return nil, fmt.Errorf("%s.token: the same token as node %q", p, other)
		}
		seen[e.Token] = e.Node
		for j, a := range e.Apps {
			if err := api.CheckName(a); err != nil {
				return nil, fmt.Errorf("%s.apps[%d]: %v", p, j, err)
			}
		}
		out = append(out, Grant(e))
	}
	return out, nil
}
