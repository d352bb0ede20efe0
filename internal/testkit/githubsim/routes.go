package githubsim

import "net/http"

// routes maps the supported subset of GitHub's REST API; anything else
// falls through to s.unsupported.
func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	app := func(pattern string, h func(*call)) { mux.HandleFunc(pattern, s.serve(authApp, h)) }
	inst := func(pattern string, h func(*call)) { mux.HandleFunc(pattern, s.serve(authInstallation, h)) }
	repo := func(pattern string, h func(*call)) { mux.HandleFunc(pattern, s.serve(authRepo, h)) }
	const r = "/api/v3/repos/{owner}/{repo}"

	mux.HandleFunc("POST /api/v3/app-manifests/{code}/conversions", s.serve(authNone, s.convertManifest))
	app("GET /api/v3/app", s.getApp)
	app("GET /api/v3/app/installations", s.listInstallations)
	app("GET /api/v3/app/installations/{id}", s.getInstallation)
	app("POST /api/v3/app/installations/{id}/access_tokens", s.createAccessToken)
	app("GET "+r+"/installation", s.findRepoInstallation)
	app("GET /api/v3/orgs/{account}/installation", s.findAccountInstallation)
	app("GET /api/v3/users/{account}/installation", s.findAccountInstallation)

	inst("GET /api/v3/installation/repositories", s.listInstallationRepos)
	inst("GET /api/v3/orgs/{org}/teams/{team}/memberships/{user}", s.getTeamMembership)

	repo("GET "+r, s.getRepo)
	repo("GET "+r+"/collaborators/{user}/permission", s.getPermission)
	repo("GET "+r+"/branches/{branch...}", s.getBranch)
	repo("GET "+r+"/git/ref/{ref...}", s.getRef)
	repo("GET "+r+"/git/trees/{sha}", s.getTree)
	repo("GET "+r+"/contents", s.getContents)
	repo("GET "+r+"/contents/{path...}", s.getContents)
	repo("GET "+r+"/tarball", s.archiveLink)
	repo("GET "+r+"/tarball/{ref...}", s.archiveLink)
	repo("GET "+r+"/zipball", s.archiveLink)
	repo("GET "+r+"/zipball/{ref...}", s.archiveLink)
	// download_url of contents; raw.githubusercontent.com takes the API token.
	repo("GET /_raw/{owner}/{repo}/{sha}/{path...}", s.getRaw)
	// A ref may contain slashes, so everything under commits/ is one route
	// that splits off the trailing /check-runs, /statuses or /status.
	repo("GET "+r+"/commits/{rest...}", s.commitsRoute)

	repo("GET "+r+"/compare/{basehead...}", s.compareCommits)

	repo("GET "+r+"/pulls", s.listPulls)
	repo("GET "+r+"/pulls/{number}", s.getPull)
	repo("GET "+r+"/pulls/{number}/files", s.listPullFiles)
	repo("GET "+r+"/pulls/{number}/commits", s.listPullCommits)
	repo("GET "+r+"/pulls/{number}/reviews", s.listReviews)
	repo("GET "+r+"/pulls/{number}/merge", s.isMerged)
	repo("PUT "+r+"/pulls/{number}/merge", s.mergePull)

	// issues/{number}/comments and issues/comments/{id} overlap for GET, so
	// one route tells them apart.
	repo("GET "+r+"/issues/{a}/{b}", s.issuesGetRoute)
	repo("POST "+r+"/issues/{number}/comments", s.createComment)
	repo("PATCH "+r+"/issues/comments/{id}", s.editComment)
	repo("DELETE "+r+"/issues/comments/{id}", s.deleteComment)
	repo("GET "+r+"/issues/comments/{id}/reactions", s.listReactions)
	repo("POST "+r+"/issues/comments/{id}/reactions", s.createReaction)
	repo("DELETE "+r+"/issues/comments/{id}/reactions/{reaction}", s.deleteReaction)

	repo("POST "+r+"/check-runs", s.createCheckRun)
	repo("GET "+r+"/check-runs/{id}", s.getCheckRun)
	repo("PATCH "+r+"/check-runs/{id}", s.updateCheckRun)
	repo("GET "+r+"/check-runs/{id}/annotations", s.listAnnotations)

	repo("POST "+r+"/statuses/{sha}", s.createStatus)

	repo("POST "+r+"/deployments", s.createDeployment)
	repo("GET "+r+"/deployments", s.listDeployments)
	repo("GET "+r+"/deployments/{id}", s.getDeployment)
	repo("POST "+r+"/deployments/{id}/statuses", s.createDeploymentStatus)
	repo("GET "+r+"/deployments/{id}/statuses", s.listDeploymentStatuses)
	repo("GET "+r+"/deployments/{id}/statuses/{status}", s.getDeploymentStatus)

	// Archive downloads and git clones authenticate by their own means, as
	// codeload.github.com and github.com do.
	mux.HandleFunc("GET /_codeload/{token}/{name}", s.downloadArchive)
	// The App registration page a manifest is posted to (browser, no API).
	mux.HandleFunc("POST /settings/apps/new", s.registerFromManifest)
	mux.HandleFunc("POST /organizations/{org}/settings/apps/new", s.registerFromManifest)
	mux.HandleFunc("GET /{owner}/{repo}/info/refs", s.gitHTTP)
	mux.HandleFunc("POST /{owner}/{repo}/git-upload-pack", s.gitHTTP)
	mux.HandleFunc("/", s.unsupported)
	return mux
}
