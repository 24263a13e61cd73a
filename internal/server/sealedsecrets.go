package server

import (
	"context"
	"errors"
	"io"
	"net/http"

	ssv1 "github.com/tether-gitops/tether/api/bitnami/v1alpha1"
	"github.com/tether-gitops/tether/internal/sealedsecrets"
)

// SealedSecrets answers Bitnami's Sealed Secrets endpoints with the
// cluster's sealing keys.
type SealedSecrets interface {
	// Certificate is the PEM certificate of the newest sealing key.
	Certificate(ctx context.Context) ([]byte, error)
	// Verify returns nil when every sealed value of ss opens, and an
	// error wrapping sealedsecrets.ErrCannotDecrypt when one does not.
	Verify(ctx context.Context, ss *ssv1.SealedSecret) error
	// Rotate returns ss sealed again with the newest key.
	Rotate(ctx context.Context, ss *ssv1.SealedSecret) (*ssv1.SealedSecret, error)
}

// RBAC resource and action of the Sealed Secrets endpoints; the object is
// "<namespace>/<name>" of the posted SealedSecret.
const (
	resSealedSecrets = "sealedsecrets"
	actRotate        = "rotate"
)

// maxSealingAtOnce bounds the verify and rotate requests that decrypt at
// the same time: each tries RSA-4096 keys on every value.
const maxSealingAtOnce = 2

// sealedSecretRoutes mounts Bitnami's paths: GET /v1/cert.pem for anyone
// (the certificate is public; kubeseal --cert URL reads it), POST
// /v1/verify and /v1/rotate for logged-in callers with the
// sealedsecrets get or rotate right on the SealedSecret's
// "<namespace>/<name>".
func (s *Server) sealedSecretRoutes(mux *http.ServeMux) {
	if s.deps.SealedSecrets == nil {
		mux.HandleFunc("/v1/", func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, codeNotFound, "this process serves no Sealed Secrets keys")
		})
		return
	}
	mux.HandleFunc("GET /v1/cert.pem", s.sealingCertificate)
	mux.HandleFunc("POST /v1/verify", s.authed(s.verifySealedSecret))
	mux.HandleFunc("POST /v1/rotate", s.authed(s.rotateSealedSecret))
}

// sealingCertificate is GET /v1/cert.pem: the newest key's certificate.
func (s *Server) sealingCertificate(w http.ResponseWriter, r *http.Request) {
	pemData, err := s.deps.SealedSecrets.Certificate(r.Context())
	if err != nil {
		s.deps.Logger.Info("cannot serve the sealing certificate", "error", err.Error())
		http.Error(w, "cannot get the sealing certificate: the controller has made no key yet, or cannot read them", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(pemData)
}

// verifySealedSecret is POST /v1/verify: 200 when every value of the
// posted SealedSecret opens, 409 when one does not (as Bitnami's).
func (s *Server) verifySealedSecret(w http.ResponseWriter, r *http.Request) {
	ss, done, ok := s.sealingRequest(w, r, actGet)
	if !ok {
		return
	}
	defer done()
	if err := s.deps.SealedSecrets.Verify(r.Context(), ss); err != nil {
		s.sealingError(w, err, "verify")
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// rotateSealedSecret is POST /v1/rotate: the posted SealedSecret sealed
// again with the newest key, as JSON (as Bitnami's); 409 when a value
// does not open.
func (s *Server) rotateSealedSecret(w http.ResponseWriter, r *http.Request) {
	ss, done, ok := s.sealingRequest(w, r, actRotate)
	if !ok {
		return
	}
	defer done()
	out, err := s.deps.SealedSecrets.Rotate(r.Context(), ss)
	if err != nil {
		s.sealingError(w, err, "rotate")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// sealingRequest reads the posted SealedSecret, checks the caller's right
// to take action on it and waits for a decryption slot; done frees the
// slot. It has answered when ok is false. Nothing of the body is logged
// or echoed.
func (s *Server) sealingRequest(w http.ResponseWriter, r *http.Request, action string) (ss *ssv1.SealedSecret, done func(), ok bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSmallBody))
	if err != nil {
		writeError(w, codeInvalidArgument, "the request body must be one SealedSecret of at most 1 MiB")
		return nil, nil, false
	}
	ss, err = sealedsecrets.ParseSealedSecret(body)
	if err != nil {
		writeError(w, codeInvalidArgument, err.Error())
		return nil, nil, false
	}
	policy, err := s.rbacPolicy(r.Context())
	if err != nil {
		s.internalError(w, err, "rbac")
		return nil, nil, false
	}
	if !allows(policy, r, resSealedSecrets, action, ss.Namespace+"/"+ss.Name) {
		writeError(w, codePermissionDenied, errPermissionDenied)
		return nil, nil, false
	}
	select {
	case s.sealing <- struct{}{}:
		return ss, func() { <-s.sealing }, true
	case <-r.Context().Done():
		writeError(w, codeUnavailable, "the request ended while waiting for other verify or rotate requests")
		return nil, nil, false
	}
}

// sealingError answers a failed verify or rotate: 409 with the key that
// does not open (never a value), 503 while there is no key, else 500.
func (s *Server) sealingError(w http.ResponseWriter, err error, what string) {
	switch {
	case errors.Is(err, sealedsecrets.ErrCannotDecrypt):
		writeJSON(w, http.StatusConflict, errorBody{Error: err.Error(), Code: codeFailedPrecondition, Message: err.Error()})
	case errors.Is(err, sealedsecrets.ErrNoKey):
		writeError(w, codeUnavailable, "no sealing key yet: the controller makes one when it starts")
	default:
		s.internalError(w, err, what)
	}
}
