package testenv

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// serviceAccountKeys holds the paths of the key pair the apiserver signs and
// checks service account tokens with; kube-controller-manager signs with the
// same private key.
type serviceAccountKeys struct {
	privateKeyPath string
	publicKeyPath  string
}

// writeServiceAccountKeys generates a fresh RSA pair into dir. 2048 bits is
// the smallest size the apiserver accepts without complaint and is quick to
// generate.
func writeServiceAccountKeys(dir string) (serviceAccountKeys, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return serviceAccountKeys{}, fmt.Errorf("testenv: generate service account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return serviceAccountKeys{}, fmt.Errorf("testenv: encode service account public key: %w", err)
	}
	keys := serviceAccountKeys{
		privateKeyPath: filepath.Join(dir, "sa.key"),
		publicKeyPath:  filepath.Join(dir, "sa.pub"),
	}
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keys.privateKeyPath, priv, 0o600); err != nil {
		return serviceAccountKeys{}, fmt.Errorf("testenv: write service account key: %w", err)
	}
	if err := os.WriteFile(keys.publicKeyPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		return serviceAccountKeys{}, fmt.Errorf("testenv: write service account public key: %w", err)
	}
	return keys, nil
}

// writeTokenFile writes a static token file that makes a random bearer token
// a member of system:masters, and returns the token. A token (rather than a
// client certificate) keeps the kubeconfig short and readable.
func writeTokenFile(dir string) (token, path string, err error) {
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", "", fmt.Errorf("testenv: generate admin token: %w", err)
	}
	token = hex.EncodeToString(buf)
	path = filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(path, []byte(token+",admin,admin,system:masters\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("testenv: write token file: %w", err)
	}
	return token, path, nil
}

// caFromServingBundle picks the CA certificates out of the serving bundle the
// apiserver writes to its cert dir (its leaf certificate followed by the
// self-signed CA that issued it). Clients trust the CA alone, as with a real
// cluster, and the controller-manager publishes it as kube-root-ca.crt and as
// a ClusterTrustBundle, which rejects a non-CA entry.
func caFromServingBundle(bundle []byte) ([]byte, error) {
	var out []byte
	for rest := bundle; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("testenv: parse apiserver certificate: %w", err)
		}
		if cert.IsCA {
			out = append(out, pem.EncodeToMemory(block)...)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("testenv: apiserver serving bundle holds no CA certificate")
	}
	return out, nil
}
