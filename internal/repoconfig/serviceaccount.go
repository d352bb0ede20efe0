package repoconfig

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// ServiceAccount names the Kubernetes service account an environment is
// planned and applied as, or is zero when slipway acts as itself.
type ServiceAccount struct {
	Namespace, Name string
}

// IsZero reports whether no service account is set.
func (sa ServiceAccount) IsZero() bool { return sa.Name == "" }

// String is NAMESPACE/NAME, or "" when none is set.
func (sa ServiceAccount) String() string {
	if sa.IsZero() {
		return ""
	}
	return sa.Namespace + "/" + sa.Name
}

// User is the Kubernetes user name the service account authenticates as,
// which slipway impersonates.
func (sa ServiceAccount) User() string {
	return "system:serviceaccount:" + sa.Namespace + ":" + sa.Name
}

// ServiceAccountRef is the environment's service_account: NAME stands for
// the service account in the environment's namespace, NAMESPACE/NAME for
// one anywhere. Zero when the key is unset.
func (e *Environment) ServiceAccountRef() ServiceAccount {
	if e.ServiceAccount == "" {
		return ServiceAccount{}
	}
	ns, name, ok := strings.Cut(e.ServiceAccount, "/")
	if !ok {
		return ServiceAccount{Namespace: e.Namespace, Name: e.ServiceAccount}
	}
	return ServiceAccount{Namespace: ns, Name: name}
}

// validateServiceAccount says what is wrong with an environment's
// service_account, or "" when it is unset or right.
func validateServiceAccount(e *Environment) string {
	if e.ServiceAccount == "" {
		return ""
	}
	if strings.Count(e.ServiceAccount, "/") > 1 {
		return fmt.Sprintf("%q must be NAME (a service account in the environment's namespace) or NAMESPACE/NAME", e.ServiceAccount)
	}
	sa := e.ServiceAccountRef()
	if !strings.Contains(e.ServiceAccount, "/") && e.Namespace == "" {
		return fmt.Sprintf("%q names no namespace and the environment sets none: write NAMESPACE/%s or set namespace", e.ServiceAccount, e.ServiceAccount)
	}
	if errs := validation.IsDNS1123Label(sa.Namespace); len(errs) > 0 {
		return fmt.Sprintf("namespace %q of %q is not a valid namespace name: %s", sa.Namespace, e.ServiceAccount, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(sa.Name); len(errs) > 0 {
		return fmt.Sprintf("%q is not a valid service account name: %s", sa.Name, strings.Join(errs, "; "))
	}
	return ""
}
