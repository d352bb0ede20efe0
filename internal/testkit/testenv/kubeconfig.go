package testenv

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// contextName names the cluster, user and context in the kubeconfig.
const contextName = "testenv"

// Client-side rate limits for the admin config. client-go's defaults (5 QPS,
// burst 10) throttle tests that create many objects; the apiserver here
// serves nobody else.
const (
	clientQPS   = 100
	clientBurst = 200
)

// restConfig returns the admin config for an apiserver at host whose serving
// certificate was issued by caPEM.
func restConfig(host, token string, caPEM []byte) *rest.Config {
	return &rest.Config{
		Host:            host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
		QPS:             clientQPS,
		Burst:           clientBurst,
	}
}

// kubeconfigBytes renders cfg as a kubeconfig with one cluster, user and
// context, all named "testenv", with the CA and token embedded so the file
// stands alone (kubectl, clientcmd, and the control plane components).
func kubeconfigBytes(cfg *rest.Config) ([]byte, error) {
	kc := clientcmdapi.NewConfig()
	kc.Clusters[contextName] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos[contextName] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: contextName}
	kc.CurrentContext = contextName
	data, err := clientcmd.Write(*kc)
	if err != nil {
		return nil, fmt.Errorf("testenv: render kubeconfig: %w", err)
	}
	return data, nil
}
