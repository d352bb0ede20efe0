package logging

import (
	"github.com/go-logr/logr"
	"github.com/rs/zerolog"
	"k8s.io/klog/v2"
)

// ComponentClientGo is the component field of what client-go logs.
const ComponentClientGo = "client-go"

// FieldComponent names the library a log line comes from.
const FieldComponent = "component"

// RouteKlog sends everything client-go logs through klog (its global
// logger: reflectors, token refreshes, throttling, warnings) to log as
// JSON with component "client-go", instead of plain text on stderr.
func RouteKlog(log zerolog.Logger) {
	klog.SetLogger(Logr(log.With().Str(FieldComponent, ComponentClientGo).Logger()))
}

// zerologSink lets libraries that log through logr (client-go's klog,
// its leader election) log to slipway's zerolog logger instead of klog's
// unstructured stderr. Its V(1) and above are debug.
type zerologSink struct {
	log  zerolog.Logger
	name string
}

// Logr is log as a logr.Logger.
func Logr(log zerolog.Logger) logr.Logger { return logr.New(&zerologSink{log: log}) }

func (s *zerologSink) Init(logr.RuntimeInfo) {}

func (s *zerologSink) Enabled(level int) bool {
	if level > 0 {
		return s.log.GetLevel() <= zerolog.DebugLevel
	}
	return s.log.GetLevel() <= zerolog.InfoLevel
}

func (s *zerologSink) Info(level int, msg string, kv ...any) {
	e := s.log.Info()
	if level > 0 {
		e = s.log.Debug()
	}
	s.send(e, msg, kv)
}

func (s *zerologSink) Error(err error, msg string, kv ...any) {
	s.send(s.log.Error().Err(err), msg, kv)
}

func (s *zerologSink) send(e *zerolog.Event, msg string, kv []any) {
	if s.name != "" {
		e = e.Str("logger", s.name)
	}
	e.Fields(kv).Msg(msg)
}

func (s *zerologSink) WithValues(kv ...any) logr.LogSink {
	return &zerologSink{log: s.log.With().Fields(kv).Logger(), name: s.name}
}

func (s *zerologSink) WithName(name string) logr.LogSink {
	if s.name != "" {
		name = s.name + "/" + name
	}
	return &zerologSink{log: s.log, name: name}
}
