package server

import (
	"encoding/json"
	"net/http"
)

// code is a gRPC status code: Argo CD's REST API is a gRPC gateway, and
// its error bodies carry the code that scripts check.
type code int

// The codes the API answers with.
const (
	codeInvalidArgument    code = 3
	codeNotFound           code = 5
	codeAlreadyExists      code = 6
	codePermissionDenied   code = 7
	codeResourceExhausted  code = 8
	codeFailedPrecondition code = 9
	codeInternal           code = 13
	codeUnavailable        code = 14
	codeUnauthenticated    code = 16
)

// httpStatus maps a code as the gRPC gateway does.
func (c code) httpStatus() int {
	switch c {
	case codeInvalidArgument, codeFailedPrecondition:
		return http.StatusBadRequest
	case codeNotFound:
		return http.StatusNotFound
	case codeAlreadyExists:
		return http.StatusConflict
	case codePermissionDenied:
		return http.StatusForbidden
	case codeResourceExhausted:
		return http.StatusTooManyRequests
	case codeUnavailable:
		return http.StatusServiceUnavailable
	case codeUnauthenticated:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// errorBody is the gateway's error shape.
type errorBody struct {
	Error   string `json:"error"`
	Code    code   `json:"code"`
	Message string `json:"message"`
}

// writeError answers with c and message. Messages are written for
// callers: they never hold Secret values or a reason to refuse that would
// tell an unauthorised caller what exists.
func writeError(w http.ResponseWriter, c code, message string) {
	writeJSON(w, c.httpStatus(), errorBody{Error: message, Code: c, Message: message})
}

// errPermissionDenied is the answer to anything the caller may not do or
// see, whether or not it exists.
const errPermissionDenied = "permission denied"

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
