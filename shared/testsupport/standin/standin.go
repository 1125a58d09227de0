// Package standin gives tests the local AWS stand-ins they need:
// DynamoDB Local and moto_server. A test that needs one calls DynamoDB(t) or
// Moto(t) and gets an endpoint URL; it never skips. EWS(t, sim) serves the
// EWS simulator, Exchange's stand-in, the same way.
//
// When MAILBRIDGE_DYNAMODB_ENDPOINT or MAILBRIDGE_MOTO_ENDPOINT is set (as
// scripts/standins.sh does for `make test`), that endpoint is used. Otherwise
// the stand-in is started once per test binary on a free 127.0.0.1 port and
// killed when the binary exits: Main(m) stops it explicitly, and the child is
// started with a parent-death signal so even a crashed test binary leaves no
// orphan behind.
//
// DynamoDB Local is AWS's own jar, shipped inside the npm package
// amplify-dynamodb-simulator@2.9.30; it is fetched into the repository's
// .standins/ directory (gitignored) the first time it is needed.
package standin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Environment variables naming already-running stand-ins.
const (
	EnvDynamoDB = "MAILBRIDGE_DYNAMODB_ENDPOINT"
	EnvMoto     = "MAILBRIDGE_MOTO_ENDPOINT"
	// EnvCache overrides where DynamoDB Local is unpacked (default: the
	// repository's .standins/ directory).
	EnvCache = "MAILBRIDGE_STANDINS_DIR"
)

// DynamoDBLocalPackage is the npm package that carries DynamoDB Local.
const DynamoDBLocalPackage = "amplify-dynamodb-simulator@2.9.30"

// startTimeout bounds how long a stand-in may take to answer; DynamoDB Local
// (a JVM) needs about 3 s on this machine.
const startTimeout = 60 * time.Second

type standin struct {
	once     sync.Once
	endpoint string
	err      error
	proc     *proc
}

// proc is a started stand-in: its pid (also its process group) and a
// channel closed when it has exited.
type proc struct {
	pid    int
	exited chan struct{}
}

var (
	dynamo standin
	moto   standin
)

// DynamoDB returns the endpoint of a DynamoDB Local, starting one if needed.
func DynamoDB(t testing.TB) string {
	t.Helper()
	return dynamo.get(t, EnvDynamoDB, startDynamoDB)
}

// Moto returns the endpoint of a moto_server, starting one if needed.
func Moto(t testing.TB) string {
	t.Helper()
	return moto.get(t, EnvMoto, startMoto)
}

// Main runs the tests and stops the stand-ins this binary started. Use it as
//
//	func TestMain(m *testing.M) { standin.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop kills the stand-ins this process started (the parent-death signal
// covers the case where it is never called).
func Stop() {
	for _, s := range []*standin{&dynamo, &moto} {
		if s.proc != nil {
			// The child leads its own process group; kill the group.
			_ = syscall.Kill(-s.proc.pid, syscall.SIGKILL)
			<-s.proc.exited
			s.proc = nil
		}
	}
}

// callTimeout bounds one SDK call to a stand-in: a stuck stand-in fails
// the test instead of hanging go test (the SDK's client has no overall
// timeout, and tests often pass context.Background()).
const callTimeout = 60 * time.Second

// AWSConfig is an SDK configuration for the stand-ins: fixed region,
// static dummy credentials (the stand-ins accept any) and a bound on each
// call.
func AWSConfig() aws.Config {
	return aws.Config{
		Region:     "us-east-1",
		HTTPClient: awshttp.NewBuildableClient().WithTimeout(callTimeout),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "teststandin"}, nil
		}),
	}
}

func (s *standin) get(t testing.TB, env string, start func() (string, *proc, error)) string {
	t.Helper()
	if ep := os.Getenv(env); ep != "" {
		return ep
	}
	s.once.Do(func() { s.endpoint, s.proc, s.err = start() })
	if s.err != nil {
		t.Fatalf("stand-in not available: %v", s.err)
	}
	return s.endpoint
}

func startDynamoDB() (string, *proc, error) {
	if _, err := exec.LookPath("java"); err != nil {
		return "", nil, errors.New("DynamoDB Local needs java: apt-get install -y openjdk-17-jre-headless")
	}
	dir, err := DynamoDBLocalDir()
	if err != nil {
		return "", nil, err
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command("java", "-Djava.library.path=./DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar",
		"-inMemory", "-sharedDb", "-port", port)
	cmd.Dir = dir
	return launch("DynamoDB Local", cmd, "http://127.0.0.1:"+port)
}

func startMoto() (string, *proc, error) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		return "", nil, errors.New("moto_server not found on PATH: pip install 'moto[server]==5.2.1'")
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command("moto_server", "-H", "127.0.0.1", "-p", port)
	return launch("moto_server", cmd, "http://127.0.0.1:"+port)
}

// launch starts cmd in its own process group with a parent-death signal and
// waits until endpoint answers HTTP.
func launch(name string, cmd *exec.Cmd, endpoint string) (string, *proc, error) {
	logf, err := os.CreateTemp("", "mailbridge-standin-*.log")
	if err != nil {
		return "", nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{pid: cmd.Process.Pid, exited: make(chan struct{})}
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(p.exited) }()
	client := &http.Client{Timeout: time.Second}
	for time.Since(began) < startTimeout {
		select {
		case <-p.exited:
			return "", nil, fmt.Errorf("%s exited during start (%v); its output is in %s", name, waitErr, logf.Name())
		default:
		}
		if resp, err := client.Get(endpoint + "/"); err == nil {
			resp.Body.Close()
			fmt.Fprintf(os.Stderr, "teststandin: %s up on %s in %v (log %s)\n", name, endpoint, time.Since(began).Round(time.Millisecond), logf.Name())
			return endpoint, p, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	<-p.exited
	return "", nil, fmt.Errorf("%s did not answer on %s within %v; its output is in %s", name, endpoint, startTimeout, logf.Name())
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port), nil
}

// DynamoDBLocalDir returns the directory holding DynamoDBLocal.jar, fetching
// and unpacking it with npm when absent.
func DynamoDBLocalDir() (string, error) {
	cache := os.Getenv(EnvCache)
	if cache == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(root, ".standins")
	}
	dir := filepath.Join(cache, "dynamodb-local")
	if _, err := os.Stat(filepath.Join(dir, "DynamoDBLocal.jar")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	// Several test binaries may start at once: one fetches, the others wait.
	lock, err := os.OpenFile(filepath.Join(cache, "fetch.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(filepath.Join(dir, "DynamoDBLocal.jar")); err == nil {
		return dir, nil
	}
	if err := fetchDynamoDBLocal(cache, dir); err != nil {
		return "", fmt.Errorf("DynamoDB Local is missing from %s and could not be fetched: %w\n"+
			"get it by hand: cd %s && npm pack %s && tar xzf amplify-dynamodb-simulator-*.tgz && mv package/emulator dynamodb-local",
			dir, err, cache, DynamoDBLocalPackage)
	}
	return dir, nil
}

func fetchDynamoDBLocal(cache, dir string) error {
	if _, err := exec.LookPath("npm"); err != nil {
		return errors.New("npm not found (apt-get install -y npm)")
	}
	tmp, err := os.MkdirTemp(cache, "fetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(os.Stderr, "teststandin: fetching DynamoDB Local (npm pack %s, about 60 MB) into %s\n", DynamoDBLocalPackage, dir)
	pack := exec.Command("npm", "pack", "--silent", DynamoDBLocalPackage)
	pack.Dir = tmp
	if out, err := pack.CombinedOutput(); err != nil {
		return fmt.Errorf("npm pack: %v: %s", err, strings.TrimSpace(string(out)))
	}
	tgz, _ := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if len(tgz) != 1 {
		return fmt.Errorf("npm pack left %d archives", len(tgz))
	}
	untar := exec.Command("tar", "xzf", tgz[0])
	untar.Dir = tmp
	if out, err := untar.CombinedOutput(); err != nil {
		return fmt.Errorf("tar: %v: %s", err, strings.TrimSpace(string(out)))
	}
	emu := filepath.Join(tmp, "package", "emulator")
	if _, err := os.Stat(filepath.Join(emu, "DynamoDBLocal.jar")); err != nil {
		return fmt.Errorf("the package has no emulator/DynamoDBLocal.jar: %w", err)
	}
	if err := os.Rename(emu, dir); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "teststandin: DynamoDB Local ready in %s\n", dir)
	return nil
}

// repoRoot walks up from the working directory (a package directory under
// go test) to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (no go.mod above the working directory); set " + EnvCache)
		}
		dir = parent
	}
}
