package githubsim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const docsURL = "https://docs.github.com/rest"

// call is one authenticated API request being served. Handlers run with
// Sim.mu held and queue webhooks in pending, which are sent once the lock is
// released.
type call struct {
	s       *Sim
	w       http.ResponseWriter
	r       *http.Request
	inst    *installation // nil when authenticated as the app itself
	repo    *repo         // set for /repos/{owner}/{repo}/... routes
	pending []outgoing
	// caller is whose quota the call counts against, when counted.
	caller  int64
	counted bool
}

type outgoing struct {
	event   string
	payload any
}

// emit queues a webhook caused by this API call; GitHub sends those
// asynchronously, so they are delivered in the background.
func (c *call) emit(event string, payload any) {
	c.pending = append(c.pending, outgoing{event, payload})
}

func (c *call) json(status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		c.fail(http.StatusInternalServerError, "githubsim: encoding response: "+err.Error())
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if c.r.Method == http.MethodGet && status == http.StatusOK {
		etag := ETag(c.r.Header, body)
		h.Set("ETag", etag)
		h.Set("Cache-Control", c.s.opts.CacheControl)
		h.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
		if etagMatches(c.r.Header.Get("If-None-Match"), etag) {
			c.s.uncount(c)
			c.w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

// ETag is the entity tag GitHub gives an answer: the SHA-256 of the
// values of the request's Accept, Authorization and Cookie headers (those
// present, each followed by a colon) and then the body. It varies with the
// token, so a client's cached ETags stop matching when its token rotates
// unless it computes the tag for the new token itself.
func ETag(request http.Header, body []byte) string {
	h := sha256.New()
	for _, name := range []string{"Accept", "Authorization", "Cookie"} {
		if v := request.Get(name); v != "" {
			h.Write([]byte(v + ":"))
		}
	}
	h.Write(body)
	return `W/"` + hex.EncodeToString(h.Sum(nil)) + `"`
}

func etagMatches(header, etag string) bool {
	for _, cand := range strings.Split(header, ",") {
		cand = strings.TrimSpace(cand)
		if cand == etag || cand == "*" || "W/"+cand == etag {
			return true
		}
	}
	return false
}

func (c *call) noContent() { c.w.WriteHeader(http.StatusNoContent) }

// fail answers with GitHub's error document.
func (c *call) fail(status int, message string) {
	writeError(c.w, status, message, nil)
}

func (c *call) notFound() { c.fail(http.StatusNotFound, "Not Found") }

// invalid answers 422 "Validation Failed" with one error entry, the shape
// go-github turns into ErrorResponse.Errors.
func (c *call) invalid(resource, field, code, message string) {
	writeError(c.w, http.StatusUnprocessableEntity, "Validation Failed", []map[string]string{{
		"resource": resource, "field": field, "code": code, "message": message,
	}})
}

func writeError(w http.ResponseWriter, status int, message string, errs []map[string]string) {
	doc := map[string]any{"message": message, "documentation_url": docsURL, "status": strconv.Itoa(status)}
	if errs != nil {
		doc["errors"] = errs
	}
	body, _ := json.Marshal(doc)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// decode reads the JSON request body; on failure it has already answered
// 400 like GitHub does.
func (c *call) decode(v any) bool {
	if err := json.NewDecoder(c.r.Body).Decode(v); err != nil {
		c.fail(http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

func (c *call) intParam(name string) (int64, bool) {
	n, err := strconv.ParseInt(c.r.PathValue(name), 10, 64)
	if err != nil {
		c.notFound()
		return 0, false
	}
	return n, true
}

func (c *call) query(name string) string { return c.r.URL.Query().Get(name) }

// page slices items per GitHub's per_page/page parameters (default 30,
// maximum 100) and sets the Link header clients follow to the next page.
func page[T any](c *call, items []T) []T {
	q := c.r.URL.Query()
	perPage, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || perPage <= 0 {
		perPage = 30
	}
	perPage = min(perPage, 100)
	n, err := strconv.Atoi(q.Get("page"))
	if err != nil || n <= 0 {
		n = 1
	}
	last := max(1, (len(items)+perPage-1)/perPage)
	var links []string
	link := func(p int, rel string) {
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		u := c.s.url + c.r.URL.Path + "?" + q.Encode()
		links = append(links, fmt.Sprintf("<%s>; rel=%q", u, rel))
	}
	if n < last {
		link(n+1, "next")
		link(last, "last")
	}
	if n > 1 {
		link(1, "first")
		link(min(n-1, last), "prev")
	}
	if len(links) > 0 {
		c.w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo := min((n-1)*perPage, len(items))
	hi := min(lo+perPage, len(items))
	return items[lo:hi]
}

// apiURL builds the API URL of a resource, as in GitHub's "url" fields.
func (s *Sim) apiURL(format string, args ...any) string {
	return s.url + "/api/v3/" + fmt.Sprintf(format, args...)
}

// webURL builds the html_url of a resource.
func (s *Sim) webURL(format string, args ...any) string {
	return s.url + "/" + fmt.Sprintf(format, args...)
}

func pathEscape(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		parts[i] = url.PathEscape(part)
	}
	return strings.Join(parts, "/")
}

// refusal is a request GitHub would turn down; scripted actions return it as
// an error and API handlers answer with it.
type refusal struct {
	status                int
	message               string
	resource, field, code string // set for 422 "Validation Failed" entries
}

func (e *refusal) Error() string {
	return fmt.Sprintf("githubsim: %d %s", e.status, e.message)
}

func refuse(status int, message string) error { return &refusal{status: status, message: message} }

// invalidField is a 422 "Validation Failed" naming the offending field.
func invalidField(resource, field, code, message string) error {
	return &refusal{status: http.StatusUnprocessableEntity, message: message, resource: resource, field: field, code: code}
}

// refuse answers a refusal as GitHub would, and anything else as 500.
func (c *call) refuse(err error) {
	var r *refusal
	switch {
	case !errors.As(err, &r):
		c.fail(http.StatusInternalServerError, err.Error())
	case r.resource != "":
		c.invalid(r.resource, r.field, r.code, r.message)
	default:
		c.fail(r.status, r.message)
	}
}
