package ctxtrail

import (
	"context"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxtrail/ctxtrail/internal/remotesampling"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// fakeRemote stands in for jaegerremote.Enable's sampler: it records the settings Install hands
// it, samples at the initial rate, reports pollErr (if any) from a goroutine as soon as it
// starts, as the real sampler's first poll would, and counts the calls of its stop.
type fakeRemote struct {
	pollErr error

	mu       sync.Mutex
	settings []remotesampling.Settings
	stops    int
}

func (f *fakeRemote) start(s remotesampling.Settings) (sdktrace.Sampler, func()) {
	f.mu.Lock()
	f.settings = append(f.settings, s)
	f.mu.Unlock()
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		if f.pollErr != nil {
			s.Warn(f.pollErr)
		}
	}()
	return sdktrace.TraceIDRatioBased(s.InitialSamplingRate), func() {
		<-polled
		f.mu.Lock()
		defer f.mu.Unlock()
		f.stops++
	}
}

func (f *fakeRemote) started() ([]remotesampling.Settings, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]remotesampling.Settings(nil), f.settings...), f.stops
}

// The root package never links the remote sampler's client: that is what keeps a service that
// does not ask for it (jaegerremote.Enable) 0.9 MB smaller (issue 28). Test files do not count;
// package jaegerremote's own tests cover the sampler.
func TestRootDoesNotLinkRemoteSampler(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps .: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"gogo", "jaeger-idl", "jaegerremote"} {
			if strings.Contains(pkg, banned) {
				t.Errorf("package ctxtrail depends on %s: import it from package jaegerremote only", pkg)
			}
		}
	}
}

// Without jaegerremote.Enable, OTEL_TRACES_SAMPLER=jaeger_remote or parentbased_jaeger_remote
// fails Install with ErrConfig naming the variable and the fix, whatever the argument; WithSampler
// makes the variable irrelevant, and the error with it.
func TestRemoteSamplerNotCompiledIn(t *testing.T) {
	for _, name := range []string{"jaeger_remote", "parentbased_jaeger_remote", "Parentbased_Jaeger_Remote"} {
		for _, arg := range []string{"", "endpoint=http://jaeger:5778/sampling", "not key=value"} {
			t.Run(name+"/"+arg, func(t *testing.T) {
				clearEnv(t)
				t.Setenv("OTEL_TRACES_SAMPLER", name)
				t.Setenv("OTEL_TRACES_SAMPLER_ARG", arg)
				p, err := Install(context.Background(), WithoutGlobal(), WithoutExporter())
				if err == nil {
					_ = p.Shutdown(context.Background())
					t.Fatal("Install accepted a remote sampler it cannot build")
				}
				if !errors.Is(err, ErrConfig) {
					t.Errorf("error %v does not wrap ErrConfig", err)
				}
				for _, w := range []string{
					`OTEL_TRACES_SAMPLER="` + strings.ToLower(name) + `"`,
					"add jaegerremote.Enable() to Install's options",
					"import github.com/ctxtrail/ctxtrail/jaegerremote",
				} {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				install(t, WithoutExporter(), WithSampler(sdktrace.AlwaysSample())) // no error
			})
		}
	}
}

// Install hands the remote sampler what it parsed, the service name and its error route, and
// Provider.Shutdown stops it once. Without the variable, the sampler is never started.
func TestRemoteSamplerSettings(t *testing.T) {
	tests := []struct {
		name, arg string
		want      remotesampling.Settings
	}{
		{"jaeger_remote", "", remotesampling.Settings{
			Endpoint: "http://localhost:5778/sampling", PollingInterval: time.Minute, InitialSamplingRate: 0.001,
		}},
		{"parentbased_jaeger_remote", " endpoint = http://jaeger:5778 , pollingIntervalMs=250,initialSamplingRate=0.5", remotesampling.Settings{
			ParentBased: true, Endpoint: "http://jaeger:5778/sampling", PollingInterval: 250 * time.Millisecond, InitialSamplingRate: 0.5,
		}},
		{"JAEGER_REMOTE", "endpoint=https://jaeger.example/api/sampling", remotesampling.Settings{
			Endpoint: "https://jaeger.example/api/sampling", PollingInterval: time.Minute, InitialSamplingRate: 0.001,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("OTEL_TRACES_SAMPLER", tt.name)
			t.Setenv("OTEL_TRACES_SAMPLER_ARG", tt.arg)
			fake := new(fakeRemote)
			p, err := Install(context.Background(), WithRemoteSampler(fake.start), WithoutGlobal(), WithoutExporter(),
				WithServiceName("checkout"))
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, stops := fake.started()
			if len(got) != 1 {
				t.Fatalf("the remote sampler started %d times, want once", len(got))
			}
			if got[0].Warn == nil {
				t.Error("no error route given to the remote sampler")
			}
			tt.want.ServiceName = "checkout"
			got[0].Warn = nil
			if !reflect.DeepEqual(got[0], tt.want) { // both Warn nil
				t.Errorf("settings %+v, want %+v", got[0], tt.want)
			}
			if stops != 1 {
				t.Errorf("Shutdown stopped the remote sampler %d times, want once", stops)
			}
		})
	}
	t.Run("another sampler", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on")
		fake := new(fakeRemote)
		install(t, WithRemoteSampler(fake.start), WithoutExporter())
		if got, _ := fake.started(); len(got) != 0 {
			t.Errorf("the remote sampler started under parentbased_always_on: %+v", got)
		}
	})
	t.Run("WithRemoteSampler(nil)", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("OTEL_TRACES_SAMPLER", "jaeger_remote")
		fake := new(fakeRemote)
		install(t, WithRemoteSampler(fake.start), WithRemoteSampler(nil), WithoutExporter()) // fails if nil undid fake
		if got, _ := fake.started(); len(got) != 1 {
			t.Errorf("the remote sampler started %d times, want once", len(got))
		}
	})
}

// Every bad OTEL_TRACES_SAMPLER_ARG for the jaeger_remote samplers fails Install with ErrConfig,
// naming the setting and the key: Install reads the argument itself, whichever sampler polls.
func TestRemoteSamplerBadArgs(t *testing.T) {
	tests := []struct {
		arg  string
		want []string
	}{
		{"endpoint", []string{"OTEL_TRACES_SAMPLER_ARG", `"endpoint" is not key=value`}},
		{"=http://x", []string{"OTEL_TRACES_SAMPLER_ARG", "is not key=value"}},
		{"endpoint=jaeger:5778", []string{"OTEL_TRACES_SAMPLER_ARG endpoint=", "http or https URL"}},
		{"endpoint=grpc://jaeger:14250", []string{"endpoint=", "speaks HTTP"}},
		{"endpoint=http://jaeger:99999/sampling", []string{"endpoint=", `port "99999"`}},
		{"endpoint=http://jaeger:5778/sampling?service=x", []string{"endpoint="}},
		{"pollingIntervalMs=5s", []string{"pollingIntervalMs=", "the unit is milliseconds", "pollingIntervalMs=5000"}},
		{"pollingIntervalMs=0", []string{"pollingIntervalMs=", "positive whole number of milliseconds"}},
		{"pollingIntervalMs=-10", []string{"pollingIntervalMs="}},
		{"initialSamplingRate=2", []string{"initialSamplingRate=", "ratio from 0 to 1"}},
		{"initialSamplingRate=NaN", []string{"initialSamplingRate=", "ratio from 0 to 1"}},
		{"initialSamplingRate=half", []string{"initialSamplingRate="}},
		{"initialsamplingrate=0.5", []string{"not \"initialsamplingrate\"", "case-sensitive"}},
		{"endpoint=http://a:5778,endpoint=http://b:5778", []string{"endpoint is given twice"}},
	}
	for _, name := range []string{"jaeger_remote", "parentbased_jaeger_remote"} {
		for _, tt := range tests {
			t.Run(name+"/"+tt.arg, func(t *testing.T) {
				clearEnv(t)
				t.Setenv("OTEL_TRACES_SAMPLER", name)
				t.Setenv("OTEL_TRACES_SAMPLER_ARG", tt.arg)
				p, err := Install(context.Background(), WithRemoteSampler(new(fakeRemote).start), WithoutGlobal(), WithoutExporter())
				if err == nil {
					_ = p.Shutdown(context.Background())
					t.Fatalf("Install accepted OTEL_TRACES_SAMPLER_ARG=%q", tt.arg)
				}
				if !errors.Is(err, ErrConfig) {
					t.Errorf("error %v does not wrap ErrConfig", err)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
			})
		}
	}
}
