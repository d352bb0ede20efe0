package githubsim

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
)

func TestAppEndpoints(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	app := f.appClient(t)

	a, _, err := app.Apps.Get(f.ctx, "")
	must(t, err)
	if a.GetSlug() != "slipway" || a.GetID() != 42 {
		t.Errorf("app = %s/%d, want slipway/42", a.GetSlug(), a.GetID())
	}
	insts, _, err := app.Apps.ListInstallations(f.ctx, nil)
	must(t, err)
	if len(insts) != 1 || insts[0].GetID() != f.inst || insts[0].GetAccount().GetLogin() != "acme" {
		t.Errorf("installations = %v", insts)
	}
	byRepo, _, err := app.Apps.FindRepositoryInstallation(f.ctx, "acme", "deploy")
	must(t, err)
	byOrg, _, err := app.Apps.FindOrganizationInstallation(f.ctx, "acme")
	must(t, err)
	if byRepo.GetID() != f.inst || byOrg.GetID() != f.inst {
		t.Errorf("installation by repo %d, by org %d, want %d", byRepo.GetID(), byOrg.GetID(), f.inst)
	}
	tok, _, err := app.Apps.CreateInstallationToken(f.ctx, f.inst, nil)
	must(t, err)
	if until := time.Until(tok.GetExpiresAt().Time); until < 59*time.Minute || until > 61*time.Minute {
		t.Errorf("token expires in %v, want an hour", until)
	}
}

// TestAuthRejected checks credentials GitHub would refuse, sent raw.
func TestAuthRejected(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	key, err := testKey()
	must(t, err)
	otherKey, err := rsa.GenerateKey(rand.Reader, 1024)
	must(t, err)
	signed := func(k *rsa.PrivateKey, iss any, exp time.Duration) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"iss": iss, "iat": time.Now().Add(-time.Minute).Unix(), "exp": time.Now().Add(exp).Unix(),
		}).SignedString(k)
		must(t, err)
		return "Bearer " + s
	}
	instTok, _, err := f.sim.Token(f.inst)
	must(t, err)
	tests := []struct {
		name, path, auth string
		want             int
	}{
		{"numeric issuer accepted", "app", signed(key, 42, time.Minute), 200},
		{"string issuer accepted", "app", signed(key, "42", time.Minute), 200},
		{"wrong key", "app", signed(otherKey, "42", time.Minute), 401},
		{"wrong issuer", "app", signed(key, "43", time.Minute), 401},
		{"expired", "app", signed(key, "42", -time.Second), 401},
		{"too far in the future", "app", signed(key, "42", time.Hour), 401},
		{"missing", "app", "", 401},
		{"installation token on app endpoint", "app", "token " + instTok, 401},
		{"garbage token", "repos/acme/deploy", "token ghs_nope", 401},
		{"JWT on installation endpoint", "repos/acme/deploy", signed(key, "42", time.Minute), 403},
		{"installation token", "repos/acme/deploy", "token " + instTok, 200},
		{"installation token as bearer", "repos/acme/deploy", "Bearer " + instTok, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", f.sim.V3URL()+tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			must(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.want)
			}
			if tt.want == 401 {
				var doc struct{ Message, DocumentationURL string }
				if json.Unmarshal(body, &doc) != nil || doc.Message == "" {
					t.Errorf("401 body %s is not GitHub's error JSON", body)
				}
			}
		})
	}
}

func TestInstallationIsolation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	other, err := f.sim.CreateInstallation("globex")
	must(t, err)
	_, err = f.sim.CreateRepo(other, "globex/infra", map[string]string{"x": "y"})
	must(t, err)

	_, _, err = f.client.Repositories.Get(f.ctx, "globex", "infra")
	if statusOf(err) != 404 {
		t.Fatalf("acme's token reading globex/infra: %v, want 404", err)
	}
	r, _, err := f.installationClient(t, other).Repositories.Get(f.ctx, "globex", "infra")
	must(t, err)
	if r.GetFullName() != "globex/infra" || r.GetDefaultBranch() != "main" || r.GetOwner().GetType() != "Organization" {
		t.Errorf("repo = %s", r)
	}
	var sawOther bool
	for _, req := range f.sim.Requests() {
		if req.Path == "/api/v3/repos/globex/infra" && req.Status == 200 {
			sawOther = req.InstallationID == other
		}
	}
	if !sawOther {
		t.Errorf("request by installation %d not recorded: %+v", other, f.sim.Requests())
	}
}

func TestTokenRestrictedToRepositories(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, err := f.sim.CreateRepo(f.inst, "acme/other", nil)
	must(t, err)
	tok, _, err := f.appClient(t).Apps.CreateInstallationToken(f.ctx, f.inst, &github.InstallationTokenOptions{Repositories: []string{"deploy"}})
	must(t, err)
	c := github.NewClient(nil).WithAuthToken(tok.GetToken())
	c, err = c.WithEnterpriseURLs(f.sim.V3URL(), f.sim.URL()+"/")
	must(t, err)
	if _, _, err := c.Repositories.Get(f.ctx, "acme", "deploy"); err != nil {
		t.Errorf("allowed repo: %v", err)
	}
	if _, _, err := c.Repositories.Get(f.ctx, "acme", "other"); statusOf(err) != 404 {
		t.Errorf("restricted repo: %v, want 404", err)
	}
}

// TestGoGithubApp talks to the simulator exactly as the product does.
func TestGoGithubApp(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	n := f.openPR(t, "feature", map[string]string{"apps/web/deployment.yaml": "replicas: 2\n"})
	var cfg githubapp.Config
	cfg.V3APIURL, cfg.V4APIURL, cfg.WebURL = f.sim.V3URL(), f.sim.V4URL(), f.sim.URL()+"/"
	cfg.App.IntegrationID = f.sim.AppID()
	cfg.App.PrivateKey = string(f.sim.PrivateKeyPEM())
	cfg.App.WebhookSecret = testSecret
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg)
	must(t, err)

	client, err := cc.NewInstallationClient(f.inst)
	must(t, err)
	pr, _, err := client.PullRequests.Get(f.ctx, "acme", "deploy", n)
	must(t, err)
	if pr.GetHead().GetSHA() != f.sim.Head(testRepo, "feature") || !pr.GetMergeable() {
		t.Errorf("pr head %s mergeable %v", pr.GetHead().GetSHA(), pr.GetMergeable())
	}
	again, err := cc.NewInstallationClient(f.inst)
	must(t, err)
	if _, _, err := again.Issues.CreateComment(f.ctx, "acme", "deploy", n, &github.IssueComment{Body: github.String("plan")}); err != nil {
		t.Fatal(err)
	}
	appClient, err := cc.NewAppClient()
	must(t, err)
	if a, _, err := appClient.Apps.Get(f.ctx, ""); err != nil || a.GetSlug() != "slipway" {
		t.Fatalf("app client: %v %v", a, err)
	}
	tokenRequests := 0
	for _, r := range f.sim.Requests() {
		if r.Path == "/api/v3/app/installations/"+strconv.FormatInt(f.inst, 10)+"/access_tokens" {
			tokenRequests++
		}
	}
	if tokenRequests != 1 {
		t.Errorf("%d token exchanges, want 1 (the cached client reuses its token)", tokenRequests)
	}
}
