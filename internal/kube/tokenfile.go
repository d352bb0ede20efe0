package kube

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// rotateTokenFile makes rc authenticate with the bearer token in its token
// file as the file is now, not as it was up to a minute ago: client-go
// re-reads a kubeconfig's tokenFile (and the in-cluster projected token)
// only once a minute and does not retry a request that a revoked token got
// 401 for, so an old token revoked the moment a new one is written breaks
// every plan and apply for that minute. Each request stats the file (a
// kubelet or a sidecar rotates it by writing or swapping a symlink) and
// reads it again when it changed; a 401 re-reads it and, if the token
// changed, retries the request once with the new one.
func rotateTokenFile(rc *rest.Config) {
	// An exec or auth-provider plugin supplies its own credentials.
	if rc.BearerTokenFile == "" || rc.ExecProvider != nil || rc.AuthProvider != nil {
		return
	}
	src := &tokenFile{path: rc.BearerTokenFile}
	rc.BearerToken, rc.BearerTokenFile = "", ""
	wrap := rc.WrapTransport
	rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if wrap != nil {
			rt = wrap(rt)
		}
		return &tokenFileTransport{src: src, next: rt}
	}
}

// tokenFile is a bearer token kept in a file that changes under us.
type tokenFile struct {
	path string

	mu    sync.Mutex
	token string
	stamp fileStamp
}

// fileStamp tells a rewritten or swapped file from the one last read.
type fileStamp struct {
	mod  time.Time
	size int64
}

// get returns the file's token, reading the file again when it changed
// since the last read, or always when force is set. A file that cannot be
// read or is empty (caught mid-rotation) leaves the last good token in use.
func (f *tokenFile) get(force bool) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err == nil && !force && f.token != "" && (fileStamp{fi.ModTime(), fi.Size()}) == f.stamp {
		return f.token, nil
	}
	var data []byte
	if err == nil {
		data, err = os.ReadFile(f.path)
	}
	token := strings.TrimSpace(string(data))
	if err == nil && token == "" {
		err = fmt.Errorf("token file %s is empty", f.path)
	}
	if err != nil {
		if f.token != "" {
			return f.token, nil
		}
		return "", fmt.Errorf("read the cluster's bearer token: %w", err)
	}
	f.token, f.stamp = token, fileStamp{fi.ModTime(), fi.Size()}
	return token, nil
}

type tokenFileTransport struct {
	src  *tokenFile
	next http.RoundTripper
}

func (t *tokenFileTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" {
		return t.next.RoundTrip(req)
	}
	token, err := t.src.get(false)
	if err != nil {
		return nil, err
	}
	res, err := t.next.RoundTrip(withBearer(req, token))
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		return res, err
	}
	fresh, ferr := t.src.get(true)
	if ferr != nil || fresh == token {
		return res, nil
	}
	// The API server authenticates before it reads a body, so the refused
	// request did nothing; send it again if its body can be sent again.
	retry := withBearer(req, fresh)
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return res, nil
		}
		body, berr := req.GetBody()
		if berr != nil {
			return res, nil
		}
		retry.Body = body
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	return t.next.RoundTrip(retry)
}

func withBearer(req *http.Request, token string) *http.Request {
	out := req.Clone(req.Context())
	out.Header.Set("Authorization", "Bearer "+token)
	return out
}

// WrappedRoundTripper lets client-go's transport helpers see through.
func (t *tokenFileTransport) WrappedRoundTripper() http.RoundTripper { return t.next }
