// Package config loads and validates slipway's server configuration: a YAML
// file whose every key can be overridden from the environment.
package config

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/slipwayhq/slipway/internal/chartsrc"
	"github.com/slipwayhq/slipway/internal/renderproc"
	"github.com/slipwayhq/slipway/internal/strictyaml"
)

// Defaults, named so the documentation and the code cannot disagree.
const (
	DefaultAddress         = ":8080"
	DefaultMetricsAddress  = ":9090"
	DefaultWorkers         = 4
	DefaultQueueSize       = 100
	DefaultShutdownTimeout = 30 * time.Second
	DefaultResyncInterval  = 5 * time.Minute
	DefaultDriftInterval   = 10 * time.Minute
	DefaultLogLevel        = "info"
	DefaultWebURL          = "https://github.com"
	DefaultV3APIURL        = "https://api.github.com/"
	DefaultV4APIURL        = "https://api.github.com/graphql"
	DefaultMaxRetryWait    = 2 * time.Minute
	DefaultMaxConcurrent   = 8
	DefaultStoreKind       = StoreBolt
	DefaultStorePath       = "/var/lib/slipway/slipway.db"
	DefaultStoreNamespace  = "slipway"
	DefaultLeaseDuration   = 15 * time.Second
	DefaultRenderTimeout   = renderproc.DefaultTimeout
	DefaultRenderMemory    = renderproc.DefaultMaxMemory
	DefaultRenderObjects   = renderproc.DefaultMaxObjects
	DefaultRenderOutput    = renderproc.DefaultMaxOutput
	// MinLeaseDuration keeps renewals (a third of the duration apart) well
	// clear of request latency.
	MinLeaseDuration = 3 * time.Second
	// MinRenderMemory leaves a render process room to start: the Go
	// runtime and the renderers hold some tens of MiB before any template.
	MinRenderMemory = 64 << 20
	// MinRenderOutput is below any useful render.
	MinRenderOutput = 1 << 20
)

// Store kinds.
const (
	StoreBolt       = "bolt"
	StoreKubernetes = "kubernetes"
)

// Config is the whole server configuration.
type Config struct {
	Server   Server    `yaml:"server"`
	GitHub   GitHub    `yaml:"github"`
	Clusters []Cluster `yaml:"clusters"`
	Store    Store     `yaml:"store"`
	Render   Render    `yaml:"render"`
	Helm     Helm      `yaml:"helm"`
	// Unlockers may release another pull request's environment lock
	// (/unlock ENV --force) in every repository, as repository admins may:
	// logins and org/team, the platform team's escape hatch.
	Unlockers []string `yaml:"unlockers"`
	// Notify are the receivers told of applies, deploys, rollbacks and
	// drift. Only the server config names them: no repository can add one.
	Notify []Notify `yaml:"notify"`
}

// Server is the HTTP side and the webhook work queue.
type Server struct {
	Address string `yaml:"address"`
	// MetricsAddress serves /metrics apart from the webhook port, which
	// an ingress exposes to the internet.
	MetricsAddress  string   `yaml:"metrics_address"`
	PublicURL       string   `yaml:"public_url"`
	Workers         int      `yaml:"workers"`
	QueueSize       int      `yaml:"queue_size"`
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	LogLevel        string   `yaml:"log_level"`
	// ResyncInterval is how often the leader re-lists open pull requests
	// and plans any head a lost webhook or a crash left unplanned.
	ResyncInterval Duration `yaml:"resync_interval"`
	// DriftInterval is how often the leader compares each environment with
	// its default branch (environments with drift: off are skipped).
	DriftInterval Duration `yaml:"drift_interval"`
	// MaskKey keys the masks that stand for Secret values in plans and
	// their digests; empty derives it from the webhook secret (see
	// Config.MaskKey). Every replica must use the same one.
	MaskKey string `yaml:"mask_key"`
}

// GitHub mirrors go-githubapp's Config, plus private_key_path and the
// limits slipway keeps to in its calls.
type GitHub struct {
	WebURL   string `yaml:"web_url"`
	V3APIURL string `yaml:"v3_api_url"`
	V4APIURL string `yaml:"v4_api_url"`
	App      App    `yaml:"app"`
	// MaxRetryWait is the longest one API call waits, in all, for GitHub's
	// rate limits to lift before it fails saying when they do.
	MaxRetryWait Duration `yaml:"max_retry_wait"`
	// MaxConcurrentRequests is how many API calls of one installation may be
	// in flight at once (GitHub's secondary limits punish more).
	MaxConcurrentRequests int `yaml:"max_concurrent_requests"`
}

// App identifies the GitHub App and holds its secrets.
type App struct {
	IntegrationID  int64  `yaml:"integration_id"`
	WebhookSecret  string `yaml:"webhook_secret"`
	PrivateKey     string `yaml:"private_key"`
	PrivateKeyPath string `yaml:"private_key_path"`
}

// Cluster is a Kubernetes cluster environments may target.
type Cluster struct {
	Name       string `yaml:"name"`
	Kubeconfig string `yaml:"kubeconfig"`
	Context    string `yaml:"context"`
	InCluster  bool   `yaml:"in_cluster"`
	// Repos are the repositories that may target the cluster, and what
	// each may do there (see RepoEntry).
	Repos []RepoEntry `yaml:"repos"`
}

// Store is where environment locks live.
type Store struct {
	Kind      string `yaml:"kind"`
	Path      string `yaml:"path"`
	Namespace string `yaml:"namespace"`
	// Cluster names the entry of clusters whose API server keeps the
	// Leases (kind kubernetes); empty means the cluster slipway runs in.
	Cluster string `yaml:"cluster"`
	// LeaseDuration is how long a replica's claim (leadership, an apply in
	// progress) outlives the replica if it dies without releasing it.
	LeaseDuration Duration `yaml:"lease_duration"`
}

// Render bounds each render of a pull request's manifests, which runs in a
// child process: untrusted templates must not take a replica down.
type Render struct {
	Timeout    Duration `yaml:"timeout"`
	MaxMemory  ByteSize `yaml:"max_memory"`
	MaxObjects int      `yaml:"max_objects"`
	// MaxOutput caps the rendered objects' size, which the server holds.
	MaxOutput ByteSize `yaml:"max_output"`
}

// Duration is a time.Duration written as "30s" or "5m" in YAML.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	return d.set(n.Value)
}

func (d *Duration) set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("expected a duration like 30s or 5m, got %q", s)
	}
	*d = Duration(v)
	return nil
}

// ByteSize is a number of bytes written as a Kubernetes quantity in YAML:
// 512Mi, 1Gi, 64M or a plain number.
type ByteSize int64

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	return b.set(n.Value)
}

func (b *ByteSize) set(s string) error {
	q, err := resource.ParseQuantity(s)
	if err != nil || q.Sign() < 0 {
		return fmt.Errorf("expected a size like 512Mi or 1Gi, got %q", s)
	}
	*b = ByteSize(q.Value())
	return nil
}

// String writes the size as it would be configured: 512Mi.
func (b ByteSize) String() string {
	return resource.NewQuantity(int64(b), resource.BinarySI).String()
}

// Load reads path, applies defaults and environment overrides, and validates
// the result. Errors name the file, line and key.
func Load(path string, environ []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read server config: %w", err)
	}
	return Parse(path, data, environ)
}

// Parse is Load for bytes already read; file names the source in errors.
func Parse(file string, data []byte, environ []string) (*Config, error) {
	cfg := Defaults()
	pos, err := strictyaml.Decode(file, data, cfg)
	if err != nil {
		return nil, err
	}
	if err := applyEnv(cfg, environ); err != nil {
		return nil, err
	}
	errs := cfg.validate(file, pos)
	_, notifyErrs := cfg.notifyReceivers(getenvFrom(environ))
	for _, e := range notifyErrs {
		e.File, e.Line = file, pos.Line(e.Key)
		errs = append(errs, e)
	}
	errs = append(errs, cfg.Helm.resolve(file, pos, environ)...)
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// Defaults is the configuration an empty file yields.
func Defaults() *Config {
	return &Config{
		Server: Server{
			Address:         DefaultAddress,
			MetricsAddress:  DefaultMetricsAddress,
			Workers:         DefaultWorkers,
			QueueSize:       DefaultQueueSize,
			ShutdownTimeout: Duration(DefaultShutdownTimeout),
			LogLevel:        DefaultLogLevel,
			ResyncInterval:  Duration(DefaultResyncInterval),
			DriftInterval:   Duration(DefaultDriftInterval),
		},
		GitHub: GitHub{
			WebURL:   DefaultWebURL,
			V3APIURL: DefaultV3APIURL,
			V4APIURL: DefaultV4APIURL,

			MaxRetryWait:          Duration(DefaultMaxRetryWait),
			MaxConcurrentRequests: DefaultMaxConcurrent,
		},
		Store: Store{
			Kind:          DefaultStoreKind,
			Path:          DefaultStorePath,
			Namespace:     DefaultStoreNamespace,
			LeaseDuration: Duration(DefaultLeaseDuration),
		},
		Render: Render{
			Timeout:    Duration(DefaultRenderTimeout),
			MaxMemory:  DefaultRenderMemory,
			MaxObjects: DefaultRenderObjects,
			MaxOutput:  DefaultRenderOutput,
		},
		Helm: Helm{
			CacheMaxSize: chartsrc.DefaultMaxCacheSize,
			MaxDownload:  chartsrc.DefaultMaxDownload,
		},
	}
}

// MinMaskKeyLength is the shortest server.mask_key accepted: a guessable key
// would let anyone who reads a plan test guesses of a Secret's value.
const MinMaskKeyLength = 32

// maskKeyLabel separates the key derived from the webhook secret from any
// other use of that secret.
const maskKeyLabel = "slipway/v1/secret-mask-key"

// MaskKey is the key of the Secret masks in plans: server.mask_key, or when
// that is empty HMAC-SHA256(webhook secret, a fixed label), never the
// webhook secret itself. It is the same on every replica and after a
// restart, so any of them recomputes a reviewed plan's digest.
func (c *Config) MaskKey() []byte {
	if c.Server.MaskKey != "" {
		return []byte(c.Server.MaskKey)
	}
	h := hmac.New(sha256.New, []byte(c.GitHub.App.WebhookSecret))
	h.Write([]byte(maskKeyLabel))
	return h.Sum(nil)
}

// RenderLimits bound each render of a pull request's manifests.
func (c *Config) RenderLimits() renderproc.Limits {
	return renderproc.Limits{
		Timeout:    time.Duration(c.Render.Timeout),
		MaxMemory:  int64(c.Render.MaxMemory),
		MaxObjects: c.Render.MaxObjects,
		MaxOutput:  int64(c.Render.MaxOutput),
	}
}

// PrivateKey is the App's private key, read from private_key_path when
// that is how it was given.
func (c *Config) PrivateKey() ([]byte, error) {
	if c.GitHub.App.PrivateKeyPath == "" {
		return []byte(c.GitHub.App.PrivateKey), nil
	}
	key, err := os.ReadFile(c.GitHub.App.PrivateKeyPath)
	if err != nil {
		return nil, fmt.Errorf("github.app.private_key_path: %w", err)
	}
	return key, nil
}

// EnvironmentSource names the environment in errors about a config that
// no file holds.
const EnvironmentSource = "environment"

// FromEnvironment builds the config from the environment alone, as a
// container configured by variables and Secrets runs `slipway serve`
// without --config. Errors name the variable to set next to the key.
func FromEnvironment(environ []string) (*Config, error) {
	cfg, err := Parse(EnvironmentSource, nil, environ)
	var errs strictyaml.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			if e.Key != "" && e.File == EnvironmentSource {
				e.Key = EnvName(e.Key) + " (" + e.Key + ")"
			}
		}
	}
	return cfg, err
}
