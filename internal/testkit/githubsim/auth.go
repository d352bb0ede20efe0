package githubsim

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
)

// authKind is what credential an endpoint accepts.
type authKind int

const (
	authNone         authKind = iota // anyone (the manifest conversion)
	authApp                          // the app's JWT
	authInstallation                 // an installation access token
	authRepo                         // an installation token that can see {owner}/{repo}
)

const rateLimitPerHour = 5000

// serve wraps an endpoint: it authenticates, holds Sim.mu while the handler
// runs, and sends the webhooks the handler queued after the lock is released
// (the receiver may call straight back into the API).
func (s *Sim) serve(kind authKind, h func(*call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &call{s: s, w: w, r: r}
		s.mu.Lock()
		if s.authenticate(c, kind) {
			h(c)
		}
		pending := c.pending
		s.mu.Unlock()
		s.deliverAsync(pending)
	}
}

func (s *Sim) authenticate(c *call, kind authKind) bool {
	if kind == authNone {
		return true
	}
	rec := requestRecord(c.r)
	scheme, cred, _ := strings.Cut(c.r.Header.Get("Authorization"), " ")
	cred = strings.TrimSpace(cred)
	if cred == "" {
		s.rateHeaders(c, -1)
		c.fail(http.StatusUnauthorized, "Requires authentication")
		return false
	}
	scheme = strings.ToLower(scheme)
	isJWT := scheme == "bearer" && strings.Count(cred, ".") == 2
	if kind == authApp {
		if !isJWT {
			c.fail(http.StatusUnauthorized, jwtUndecodable)
			return false
		}
		if problem := s.jwtProblem(cred); problem != "" {
			c.fail(http.StatusUnauthorized, problem)
			return false
		}
		rec.App = true
		s.rateHeaders(c, 0)
		return true
	}
	if isJWT {
		if problem := s.jwtProblem(cred); problem != "" {
			c.fail(http.StatusUnauthorized, problem)
			return false
		}
		rec.App = true
		c.fail(http.StatusForbidden, "Resource not accessible by integration")
		return false
	}
	tok, ok := s.st.tokens[cred]
	if !ok || (scheme != "token" && scheme != "bearer") || time.Now().After(tok.expires) {
		c.fail(http.StatusUnauthorized, "Bad credentials")
		return false
	}
	rec.InstallationID = tok.installationID
	c.inst = s.st.installations[tok.installationID]
	s.rateHeaders(c, tok.installationID)
	if kind != authRepo {
		return true
	}
	full := c.r.PathValue("owner") + "/" + c.r.PathValue("repo")
	c.repo = s.st.repo(full)
	if c.repo == nil || c.repo.installationID != tok.installationID ||
		(tok.repos != nil && !tok.repos[strings.ToLower(full)]) {
		c.notFound() // GitHub hides repositories a token cannot see
		return false
	}
	return true
}

// GitHub's answers to unacceptable app JWTs.
const (
	jwtUndecodable = "A JSON web token could not be decoded"
	jwtExpired     = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	jwtTooLong     = "'Expiration time' claim ('exp') is too far in the future"
	jwtUnknownApp  = "Integration not found"
)

// jwtProblem checks the app's JWT the way GitHub does: RS256 signature by
// the app key, issuer equal to the app ID (ghinstallation sends it as a
// string, other libraries as a number), and an expiry no more than ten
// minutes ahead. It returns GitHub's message for what is wrong, or "".
func (s *Sim) jwtProblem(raw string) string {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		return &s.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}))
	var ve *jwt.ValidationError
	switch {
	case errors.As(err, &ve) && ve.Errors&jwt.ValidationErrorExpired != 0:
		return jwtExpired
	case err != nil:
		return jwtUndecodable
	}
	now := time.Now()
	if !claims.VerifyExpiresAt(now.Unix(), true) {
		return jwtExpired
	}
	if exp, _ := claims["exp"].(float64); time.Unix(int64(exp), 0).After(now.Add(11 * time.Minute)) {
		return jwtTooLong // ten minutes, plus a minute for clock skew
	}
	var iss string
	switch v := claims["iss"].(type) {
	case string:
		iss = v
	case float64:
		iss = strconv.FormatInt(int64(v), 10)
	}
	if iss != strconv.FormatInt(s.opts.AppID, 10) {
		return jwtUnknownApp
	}
	return ""
}

// issueToken mints an installation access token valid for an hour (or
// Options.TokenTTL); repos
// restricts it to some repositories (nil: all of the installation's).
func (s *Sim) issueToken(inst *installation, repos map[string]bool) (string, time.Time) {
	t := "ghs_" + RandomHex(18)
	ttl := s.opts.TokenTTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	exp := now().Add(ttl)
	s.st.tokens[t] = &token{installationID: inst.id, expires: exp, repos: repos}
	return t, exp
}

// rateHeaders counts c against its caller's quota and sends GitHub's
// quota headers; each caller (installation, 0 for the app, -1 for
// anonymous) gets 5000 calls per hour-long window since the sim started.
func (s *Sim) rateHeaders(c *call, caller int64) {
	if time.Now().After(s.st.rateReset) {
		s.st.rateReset = time.Now().Add(time.Hour).Truncate(time.Second)
		s.st.rate = map[int64]int{}
	}
	s.st.rate[caller]++
	c.caller, c.counted = caller, true
	s.writeRate(c.w, caller)
}

// uncount takes c back off its caller's quota: GitHub does not count a
// conditional request answered 304 Not Modified.
func (s *Sim) uncount(c *call) {
	if !c.counted {
		return
	}
	c.counted = false
	s.st.rate[c.caller] = max(s.st.rate[c.caller]-1, 0)
	s.writeRate(c.w, c.caller)
}

// writeRate sets the quota headers of caller as counted so far.
func (s *Sim) writeRate(w http.ResponseWriter, caller int64) {
	limit := rateLimitPerHour
	if s.opts.RateLimit > 0 && caller >= 0 {
		limit = s.opts.RateLimit
	}
	if caller < 0 {
		limit = 60 // GitHub's anonymous quota
	}
	used := s.st.rate[caller]
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(limit-used, 0)))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.st.rateReset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}
