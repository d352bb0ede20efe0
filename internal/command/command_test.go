package command_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/slipwayhq/slipway/internal/command"
	"github.com/slipwayhq/slipway/internal/report"
)

var testEnvs = []string{"dev", "staging", "Prod"}

func TestParse(t *testing.T) {
	cmd := func(v Verb, envs ...string) *Command { return &Command{Verb: v, Envs: envs} }
	force := func(envs ...string) *Command { return &Command{Verb: Unlock, Envs: envs, Force: true} }
	tests := []struct {
		name  string
		body  string
		slug  string   // "slipway" unless set
		envs  []string // testEnvs unless set
		want  *Command
		reply []string // substrings the reply must contain (case-insensitive); nil means no reply
		ok    bool
	}{
		// The four verbs.
		{name: "plan", body: "/plan", want: cmd(Plan), ok: true},
		{name: "apply", body: "/apply", want: cmd(Apply), ok: true},
		{name: "unlock", body: "/unlock", want: cmd(Unlock), ok: true},
		{name: "help", body: "/help", want: cmd(Help), ok: true},
		{name: "help ignores args", body: "/help me please", want: cmd(Help), ok: true},
		{name: "plan one env", body: "/plan staging", want: cmd(Plan, "staging"), ok: true},
		{name: "apply two envs in order", body: "/apply staging dev", want: cmd(Apply, "staging", "dev"), ok: true},
		{name: "unlock env", body: "/unlock dev", want: cmd(Unlock, "dev"), ok: true},
		{name: "commas separate envs", body: "/plan dev, staging", want: cmd(Plan, "dev", "staging"), ok: true},

		// /rollback ENV [SHA].
		{name: "rollback to the deploy before", body: "/rollback Staging", want: cmd(Rollback, "staging"), ok: true},
		{name: "rollback to a commit", body: "/rollback staging ABCDEF1", want: &Command{Verb: Rollback, Envs: []string{"staging"}, Ref: "abcdef1"}, ok: true},
		{name: "rollback typo", body: "/rolback staging", reply: []string{"did you mean", "/rollback"}, ok: true},
		{name: "rollback needs an environment", body: "/rollback", reply: []string{"takes one environment"}, ok: true},
		{name: "rollback of two environments", body: "/rollback staging dev", reply: []string{"is not a commit"}, ok: true},
		{name: "rollback of three words", body: "/rollback staging abcdef1 dev", reply: []string{"takes one environment"}, ok: true},
		{name: "rollback to a short ref", body: "/rollback staging abc", reply: []string{"is not a commit"}, ok: true},
		{name: "rollback of an unknown environment", body: "/rollback stagin abcdef1", reply: []string{"did you mean", "staging"}, ok: true},
		{name: "rollback takes no options", body: "/rollback staging --force", reply: []string{"takes no options"}, ok: true},

		// Case, whitespace, line endings.
		{name: "verb case-insensitive", body: "/PLAN", want: cmd(Plan), ok: true},
		{name: "env normalised to configured spelling", body: "/apply STAGING prod", want: cmd(Apply, "staging", "Prod"), ok: true},
		{name: "leading and trailing whitespace", body: "  \n\t /plan   dev  \t\n", want: cmd(Plan, "dev"), ok: true},
		{name: "CRLF", body: "/plan dev\r\nthanks!\r\n", want: cmd(Plan, "dev"), ok: true},
		{name: "duplicates dropped keeping order", body: "/plan staging dev Staging dev", want: cmd(Plan, "staging", "dev"), ok: true},
		{name: "later lines ignored", body: "/plan dev\n/apply staging\nnonsense", want: cmd(Plan, "dev"), ok: true},
		{name: "command must be on the first line", body: "LGTM\n/apply", ok: false},

		// The @slug alias.
		{name: "alias", body: "@slipway plan", want: cmd(Plan), ok: true},
		{name: "alias case-insensitive", body: "@SlipWay APPLY Staging", want: cmd(Apply, "staging"), ok: true},
		{name: "alias other slug", body: "@acme-deployer unlock prod", slug: "acme-deployer", want: cmd(Unlock, "Prod"), ok: true},
		{name: "alias with slash verb", body: "@slipway /plan dev", want: cmd(Plan, "dev"), ok: true},
		{name: "alias help", body: "@slipway help", want: cmd(Help), ok: true},
		{name: "alias typo", body: "@slipway aply", reply: []string{"unknown command `@slipway aply`", "did you mean `@slipway apply`?"}, ok: true},
		{name: "alias unknown word gets help", body: "@slipway is this thing on?", reply: []string{"unknown command `@slipway is`", "`/plan [ENV ...]`"}, ok: true},
		{name: "bare mention gets help", body: "@slipway", reply: []string{"`/help`", "`staging`"}, ok: true},
		{name: "other mention ignored", body: "@octocat plan", ok: false},
		{name: "slug prefix is not the slug", body: "@slipwayx plan", ok: false},
		{name: "bot suffix is not the slug", body: "@slipway[bot] plan", ok: false},
		{name: "mention mid-line ignored", body: "thanks @slipway plan looks good", ok: false},

		// Unknown verbs.
		{name: "typo plan", body: "/pln", reply: []string{"did you mean `/plan`?"}, ok: true},
		{name: "typo apply with envs", body: "/aplly staging", reply: []string{"unknown command `/aplly`", "did you mean `/apply`?"}, ok: true},
		{name: "typo unlock", body: "/unlok", reply: []string{"did you mean `/unlock`?"}, ok: true},
		{name: "typo help case", body: "/HALP", reply: []string{"did you mean `/help`?"}, ok: true},
		{name: "near but no suggestion gets help", body: "/pl", reply: []string{"unknown command `/pl`", "`/apply [ENV ...]`", "`Prod`"}, ok: true},
		{name: "far slash word ignored", body: "/shrug", ok: false},
		{name: "cc ignored", body: "/cc @octocat", ok: false},
		{name: "assign ignored", body: "/assign me", ok: false},
		{name: "bare slash ignored", body: "/", ok: false},
		{name: "path ignored", body: "/etc/passwd is world readable", ok: false},

		// Unknown environments.
		{name: "env typo", body: "/plan stagng", reply: []string{"unknown environment `stagng`: did you mean `staging`?", "`dev`, `staging`, `Prod`"}, ok: true},
		{name: "env typo suggests configured spelling", body: "/apply PRDO", reply: []string{"did you mean `Prod`?"}, ok: true},
		{name: "env unknown no suggestion", body: "/unlock qa-east", reply: []string{"unknown environment `qa-east`.", "`dev`, `staging`, `Prod`"}, ok: true},
		{name: "several unknown envs listed once", body: "/plan dev qa stagin QA", reply: []string{"unknown environments:", "- `qa`\n", "- `stagin`: did you mean `staging`?"}, ok: true},
		{name: "no envs configured", body: "/plan dev", envs: []string{}, reply: []string{"unknown environment `dev`", "no environments configured"}, ok: true},
		{name: "no envs configured plan all", body: "/plan", envs: []string{}, want: cmd(Plan), ok: true},
		{name: "backticks cannot escape", body: "/plan `x`", reply: []string{"unknown environment `'x'`"}, ok: true},

		// --force: /unlock only, with environments named.
		{name: "force after envs", body: "/unlock Prod --force", want: force("Prod"), ok: true},
		{name: "force before envs", body: "/unlock --force staging, dev", want: force("staging", "dev"), ok: true},
		{name: "force case-insensitive", body: "/UNLOCK prod --FORCE", want: force("Prod"), ok: true},
		{name: "force through the alias", body: "@slipway unlock prod --force", want: force("Prod"), ok: true},
		{name: "force twice is once", body: "/unlock prod --force --force", want: force("Prod"), ok: true},
		{name: "force needs an env", body: "/unlock --force", reply: []string{"name them", "`/unlock Prod --force`"}, ok: true},
		{name: "force needs an env, alias form", body: "@slipway unlock --force", reply: []string{"`@slipway unlock Prod --force`"}, ok: true},
		{name: "force needs an env, none configured", body: "/unlock --force", envs: []string{}, reply: []string{"`/unlock ENV --force`"}, ok: true},
		{name: "force is not for plan", body: "/plan prod --force", reply: []string{"`--force` is only for `/unlock`", "`/plan` takes no options"}, ok: true},
		{name: "force is not for apply", body: "/apply --force", reply: []string{"`--force` is only for `/unlock`"}, ok: true},
		{name: "unknown option on plan", body: "/plan --dry-run", reply: []string{"unknown option `--dry-run`", "`/plan` takes no options"}, ok: true},
		{name: "force typo", body: "/unlock prod --forse", reply: []string{"unknown option `--forse`: did you mean `--force`", "`/unlock Prod --force`"}, ok: true},
		{name: "short f", body: "/unlock prod -f", reply: []string{"did you mean `--force`"}, ok: true},
		{name: "single-dash force", body: "/unlock prod -force", reply: []string{"did you mean `--force`"}, ok: true},
		{name: "unknown unlock option", body: "/unlock prod --all", reply: []string{"unknown option `--all`", "takes one option, `--force`"}, ok: true},
		{name: "unknown env with force", body: "/unlock prd --force", reply: []string{"did you mean `Prod`?"}, ok: true},
		{name: "option text is bounded", body: "/unlock --" + strings.Repeat("z", 500), reply: []string{"unknown option"}, ok: true},

		// Not commands.
		{name: "empty", body: "", ok: false},
		{name: "whitespace only", body: " \r\n\t\n", ok: false},
		{name: "prose", body: "Looks good to me, please /plan", ok: false},
		{name: "quoted reply", body: "> /apply prod\n\nWhy?", ok: false},
		{name: "code fence", body: "```\n/apply prod\n```", ok: false},
		{name: "code fence with lang", body: "```sh\n/apply prod", ok: false},
		{name: "tilde fence", body: "~~~\n/apply", ok: false},
		{name: "line too long", body: "/plan " + strings.Repeat("dev ", 300), ok: false},
		{name: "line at limit parses", body: "/plan" + strings.Repeat(" ", 990) + "dev", want: cmd(Plan, "dev"), ok: true},
		{name: "empty slug never matches bare @", body: "@ plan", slug: "-", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slug, envs := tt.slug, tt.envs
			if slug == "" {
				slug = "slipway"
			} else if slug == "-" {
				slug = ""
			}
			if envs == nil {
				envs = testEnvs
			}
			got, r, ok := Parse(tt.body, slug, envs)
			reply := ""
			if r != nil {
				reply = report.CommandReply(r)
			}
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (cmd %+v, reply %q)", ok, tt.ok, got, reply)
			}
			if !equalCommand(got, tt.want) {
				t.Errorf("cmd = %+v, want %+v", got, tt.want)
			}
			if tt.reply == nil && reply != "" {
				t.Errorf("unexpected reply %q", reply)
			}
			if tt.reply != nil && reply == "" {
				t.Errorf("no reply, want one containing %q", tt.reply)
			}
			for _, want := range tt.reply {
				if !strings.Contains(strings.ToLower(reply), strings.ToLower(want)) {
					t.Errorf("reply %q does not contain %q", reply, want)
				}
			}
		})
	}
}

func equalCommand(a, b *Command) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Verb == b.Verb && slices.Equal(a.Envs, b.Envs) && a.Force == b.Force
}

func TestParseReplyEchoIsBounded(t *testing.T) {
	_, r, ok := Parse("/plan "+strings.Repeat("x", 900), "slipway", testEnvs)
	reply := report.CommandReply(r)
	if !ok || len(reply) > 300 {
		t.Fatalf("ok=%v, reply of %d bytes: %q", ok, len(reply), reply)
	}
}

func TestParseHugeCommentIsCheap(t *testing.T) {
	huge := strings.Repeat("a", 16<<20)
	before, oneLine := "/plan dev\n"+huge, "/plan "+huge
	start := time.Now()
	if _, _, ok := Parse(before, "slipway", testEnvs); !ok {
		t.Error("command before a huge body not parsed")
	}
	if _, _, ok := Parse(oneLine, "slipway", testEnvs); ok {
		t.Error("huge first line not ignored")
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("parsing a 16 MiB comment took %v", d)
	}
}

func TestHelpText(t *testing.T) {
	help := report.Help("slipway", testEnvs)
	for _, want := range []string{"`/plan [ENV ...]`", "`/apply [ENV ...]`", "`/unlock [ENV ...]`", "`/unlock ENV ... --force`", "`unlockers`", "`/help`", "`@slipway plan …`", "`dev`, `staging`, `Prod`"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	if help := report.Help("", nil); strings.Contains(help, "@") || !strings.Contains(help, "no environments configured") {
		t.Errorf("help without slug or envs:\n%s", help)
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"/plan", "/apply staging dev", "/unlock PROD", "/help x", "@slipway plan dev",
		"@slipway", "/pln", "/pl", "/shrug", "> /apply", "```\n/plan", "/plan stagng qa",
		"  \r\n/plan dev\r\n", "/plan ,,, dev", "@slipway /", "/\u00e9", "/plan `",
		"/unlock prod --force", "/unlock --force", "/plan --force", "/unlock -f dev", "/unlock - --",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmd, reply, ok := Parse(body, "slipway", testEnvs)
		if !ok && (cmd != nil || reply != nil) {
			t.Fatalf("ignored comment %q returned cmd %+v, reply %q", body, cmd, reply)
		}
		if cmd != nil && reply != nil {
			t.Fatalf("command %+v came with reply %q", cmd, reply)
		}
		if ok && cmd == nil && reply == nil {
			t.Fatalf("addressed comment %q got neither command nor reply", body)
		}
		if reply != nil && (report.CommandReply(reply) == "" || len(report.CommandReply(reply)) > 2000) {
			t.Fatalf("reply to %q is %d bytes, want some words and no flood", body, len(report.CommandReply(reply)))
		}
		if cmd != nil && cmd.Force && (cmd.Verb != Unlock || len(cmd.Envs) == 0) {
			t.Fatalf("--force on %+v: only /unlock with environments takes it", cmd)
		}
		if cmd != nil {
			for _, e := range cmd.Envs {
				if !slices.Contains(testEnvs, e) {
					t.Fatalf("env %q is not configured", e)
				}
			}
		}
	})
}
