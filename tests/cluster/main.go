// shipit-cluster runs embedded etcd, kube-apiserver, kube-controller-manager and kube-scheduler in one process
// for shipit's tests. Only upstream packages are called; no Kubernetes source is copied here.
//
//	shipit-cluster --dir DIR --port PORT --token-file FILE --admin-token TOKEN
//
// DIR receives etcd data, the generated serving certificate (DIR/certs/apiserver.crt, also the clients' CA bundle),
// the service-account key and admin.kubeconfig. The process stops every component on SIGINT/SIGTERM.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	scheduleroptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"
)

// Controllers the tests rely on; listing them is cheaper than "*" on a small machine.
var controllers = []string{
	"deployment-controller", "replicaset-controller", "job-controller", "cronjob-controller",
	"statefulset-controller", "daemonset-controller", "garbage-collector-controller",
	"ttl-after-finished-controller", "namespace-controller", "serviceaccount-controller",
	"serviceaccount-token-controller", "root-ca-certificate-publisher-controller", "node-lifecycle-controller",
	"taint-eviction-controller", "pod-garbage-collector-controller", "clusterrole-aggregation-controller",
	"endpointslice-controller",
}

func main() {
	dir := flag.String("dir", "", "state directory (created)")
	port := flag.Int("port", 0, "kube-apiserver secure port on 127.0.0.1 (0 = pick a free one)")
	tokenFile := flag.String("token-file", "", "static token CSV for kube-apiserver --token-auth-file")
	adminToken := flag.String("admin-token", "", "a system:masters token from --token-file, used by the controllers")
	verbosity := flag.String("v", "0", "klog verbosity of all components")
	flag.Parse()
	if *dir == "" || *tokenFile == "" || *adminToken == "" {
		fmt.Fprintln(os.Stderr, "usage: shipit-cluster --dir DIR --token-file FILE --admin-token TOKEN [--port N]")
		os.Exit(2)
	}
	// Components re-apply logging options; an unchanged second apply must be accepted.
	logsapi.ReapplyHandling = logsapi.ReapplyHandlingIgnoreUnchanged
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	_ = klogFlags.Set("v", *verbosity)
	defer logs.FlushLogs()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *dir, *port, *tokenFile, *adminToken); err != nil {
		klog.ErrorS(err, "shipit-cluster failed")
		logs.FlushLogs()
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, port int, tokenFile, adminToken string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	certDir := filepath.Join(dir, "certs")
	for _, d := range []string{dir, certDir, filepath.Join(dir, "etcd")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if port == 0 {
		if port, err = freePort(); err != nil {
			return err
		}
	}
	etcd, etcdURL, err := startEtcd(filepath.Join(dir, "etcd"))
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer etcd.Close()
	saKey := filepath.Join(dir, "sa.key")
	if err := writeECKey(saKey); err != nil {
		return err
	}
	host := "https://127.0.0.1:" + strconv.Itoa(port)
	apiArgs := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + certDir,
		"--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--token-auth-file=" + tokenFile,
		"--service-account-issuer=" + host,
		"--service-account-key-file=" + saKey,
		"--service-account-signing-key-file=" + saKey,
		// Node addresses are loopback IPs; the kubelet (node agent) serves logs there.
		"--kubelet-preferred-address-types=InternalIP,Hostname",
	}
	caFile := filepath.Join(certDir, "apiserver.crt")
	kubeconfig := filepath.Join(dir, "admin.kubeconfig")
	// Controller-manager flags first: they change feature-gate defaults, which is refused once any gate flag exists.
	startKCM, err := prepareControllerManager(kubeconfig, saKey, caFile)
	if err != nil {
		return fmt.Errorf("kube-controller-manager: %w", err)
	}
	startScheduler, err := prepareScheduler(kubeconfig)
	if err != nil {
		return fmt.Errorf("kube-scheduler: %w", err)
	}
	errCh := make(chan error, 3)
	if err := startAPIServer(ctx, apiArgs, errCh); err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	if err := writeKubeconfig(kubeconfig, host, caFile, adminToken); err != nil {
		return err
	}
	if err := waitHealthy(ctx, kubeconfig, errCh); err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	klog.InfoS("kube-apiserver ready", "url", host)
	if err := startKCM(ctx, errCh); err != nil {
		return fmt.Errorf("kube-controller-manager: %w", err)
	}
	if err := startScheduler(ctx, errCh); err != nil {
		return fmt.Errorf("kube-scheduler: %w", err)
	}
	fmt.Printf("shipit-cluster ready %s\n", host)
	select {
	case <-ctx.Done():
		klog.InfoS("stopping")
		return nil
	case err := <-errCh:
		return err
	case err := <-etcd.Err():
		return fmt.Errorf("etcd: %w", err)
	}
}

func startEtcd(dataDir string) (*embed.Etcd, string, error) {
	clientPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	cfg := embed.NewConfig()
	cfg.Dir = dataDir
	// Test data is disposable: skip fsync.
	cfg.UnsafeNoFsync = true
	clientURL, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(clientPort))
	peerURL, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(peerPort))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*clientURL}, []url.URL{*clientURL}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peerURL}, []url.URL{*peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	zcfg := zap.NewProductionConfig()
	zcfg.Level = zap.NewAtomicLevelAt(zapcore.ErrorLevel)
	logger, err := zcfg.Build()
	if err != nil {
		return nil, "", err
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(logger)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, clientURL.String(), nil
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, "", fmt.Errorf("not ready after 60s")
	}
}

func startAPIServer(ctx context.Context, args []string, errCh chan<- error) error {
	s := apiserveroptions.NewServerRunOptions()
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, f := range s.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	completed, err := s.Complete(ctx)
	if err != nil {
		return err
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return errors.NewAggregate(errs)
	}
	go func() { errCh <- wrap("kube-apiserver", apiserver.Run(ctx, completed)) }()
	return nil
}

type starter func(ctx context.Context, errCh chan<- error) error

func prepareControllerManager(kubeconfig, saKey, caFile string) (starter, error) {
	s, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, err
	}
	all, disabled, aliases := kcm.KnownControllers(), kcm.ControllersDisabledByDefault(), kcm.ControllerAliases()
	fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
	named := s.Flags(all, disabled, aliases)
	for _, f := range named.FlagSets {
		fs.AddFlagSet(f)
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		// Leader election exits the process when it ends; one process needs none.
		"--leader-elect=false",
		"--secure-port=0",
		"--controllers=" + strings.Join(controllers, ","),
		"--service-account-private-key-file=" + saKey,
		"--root-ca-file=" + caFile,
		"--node-monitor-period=2s",
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return func(ctx context.Context, errCh chan<- error) error {
		c, err := s.Config(ctx, all, disabled, aliases)
		if err != nil {
			return err
		}
		go func() { errCh <- wrap("kube-controller-manager", kcm.Run(ctx, c.Complete())) }()
		return nil
	}, nil
}

func prepareScheduler(kubeconfig string) (starter, error) {
	opts := scheduleroptions.NewOptions()
	fs := pflag.NewFlagSet("kube-scheduler", pflag.ContinueOnError)
	for _, f := range opts.Flags.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse([]string{"--kubeconfig=" + kubeconfig, "--leader-elect=false", "--secure-port=0"}); err != nil {
		return nil, err
	}
	return func(ctx context.Context, errCh chan<- error) error {
		cc, sched, err := scheduler.Setup(ctx, opts)
		if err != nil {
			return err
		}
		go func() { errCh <- wrap("kube-scheduler", scheduler.Run(ctx, cc, sched)) }()
		return nil
	}, nil
}

func waitHealthy(ctx context.Context, kubeconfig string, errCh <-chan error) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-errCh:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		status := 0
		client.CoreV1().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&status)
		if status != 200 {
			continue
		}
		if _, err := client.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err == nil {
			return nil
		}
	}
	return fmt.Errorf("not ready after 2m")
}

func writeKubeconfig(path, server, caFile, token string) error {
	text := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: shipit-cluster
  cluster: {server: %q, certificate-authority: %q}
users:
- name: admin
  user: {token: %q}
contexts:
- name: admin
  context: {cluster: shipit-cluster, user: admin}
current-context: admin
`, server, caFile, token)
	return os.WriteFile(path, []byte(text), 0o600)
}

func writeECKey(path string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func wrap(component string, err error) error {
	if err == nil {
		return fmt.Errorf("%s stopped", component)
	}
	return fmt.Errorf("%s: %w", component, err)
}
