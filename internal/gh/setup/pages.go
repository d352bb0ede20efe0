package setup

import (
	"html/template"
	"net/http"
)

// The pages are html/template: the manifest and any error text are escaped.

const layout = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>slipway setup</title>
<meta name="referrer" content="no-referrer">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42em;margin:3em auto;padding:0 1em}code{background:#f3f3f3;padding:0 .2em}</style>
</head><body>`

var startPage = template.Must(template.New("start").Parse(layout + `
<h1>Register the slipway GitHub App</h1>
<p>Sending slipway's App manifest to {{.GitHub}} to register the App on {{.Target}}.
GitHub asks you to confirm, then sends you back here.</p>
<form id="register" method="post" action="{{.Action}}">
<input type="hidden" name="manifest" value="{{.Manifest}}">
<button type="submit">Register on GitHub</button>
</form>
<script>document.getElementById("register").submit()</script>
</body></html>`))

var donePage = template.Must(template.New("done").Parse(layout + `
<h1>The GitHub App {{.Slug}} is registered</h1>
<p>App ID {{.AppID}}. The server config is in <code>{{.Config}}</code>{{if .Key}} and the private key in <code>{{.Key}}</code>{{end}} (mode 0600).</p>
<p>Next: <a href="{{.InstallURL}}">install the App</a> on the repositories slipway should serve, add your clusters to the config, and start <code>slipway serve</code>.</p>
<p>You can close this tab.</p>
</body></html>`))

type message struct {
	Title, Text string
	Retry       string // the start page, when starting again can help
}

var messagePage = template.Must(template.New("message").Parse(layout + `
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
{{if .Retry}}<p><a href="{{.Retry}}">Start again</a></p>{{end}}
</body></html>`))

func render(w http.ResponseWriter, status int, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = t.Execute(w, data)
}
