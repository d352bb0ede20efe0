package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
)

// CrashLoopLabel is a pod label for CrashLoopStage: put
// CrashLoopStage(CrashLoopLabel, "true") into Options.ExtraStages and label a
// pod template CrashLoopLabel: "true" to make its pods crash.
const CrashLoopLabel = "testenv.slipway.test/crash-loop"

// CrashLoopStage returns a kwok Stage (for Options.ExtraStages) that makes
// every pod labelled labelKey=labelValue fail instead of becoming Ready, for
// tests of rollouts that never become healthy.
//
// A pod whose restartPolicy is Always (every Deployment pod) goes to what a
// kubelet reports for a container that keeps crashing: phase Running, Ready
// False, the container waiting in CrashLoopBackOff after an exit code 1. The
// pod stays, so its ReplicaSet neither replaces it nor counts it available.
// Other pods go to phase Failed with the container terminated with exit
// code 1, as a Job's pod would.
//
// The stage matches the same Pending pods as kwok's fast pod-ready stage.
// kwok picks among matching stages by weight, skipping weight 0 whenever some
// stage has a positive weight; the fast stages have weight 0 and this one
// weight 1, so a labelled pod always takes this stage, deterministically, and
// unlabelled pods are untouched. Once applied, the pod is no longer Pending,
// so no other stage of the fast set moves it on (pod-complete only takes Job
// pods that are Running, and this stage makes those Failed); deleting the pod
// still goes through the fast pod-delete stage.
func CrashLoopStage(labelKey, labelValue string) string {
	h := fnv.New32a()
	h.Write([]byte(labelKey + "=" + labelValue))
	name := fmt.Sprintf("testenv-crash-loop-%08x", h.Sum32())
	return fmt.Sprintf(crashLoopStageTemplate, name,
		jsonString(fmt.Sprintf(".metadata.labels[%s]", jsonString(labelKey))),
		jsonString(labelValue))
}

// crashLoopStageTemplate takes the stage name, the label's jq key and the
// label value. The status templates follow kwok's own pod-ready and
// pod-container-running-failed stages.
const crashLoopStageTemplate = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: %s
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: %s
      operator: In
      values:
      - %s
    - key: '.metadata.deletionTimestamp'
      operator: DoesNotExist
    - key: '.status.phase'
      operator: In
      values:
      - Pending
  weight: 1
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $crashLoop := eq ( or .spec.restartPolicy "Always" ) "Always" }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        started: false
        {{ if $crashLoop }}
        restartCount: 1
        lastState:
          terminated:
            exitCode: 1
            reason: Error
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
        state:
          waiting:
            reason: CrashLoopBackOff
            message: back-off 10s restarting failed container
        {{ else }}
        restartCount: 0
        state:
          terminated:
            exitCode: 1
            reason: Error
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
        {{ end }}
      {{ end }}
      {{ $hostIPs := NodeIPsWith .spec.nodeName }}
      {{ with $hostIPs }}
      hostIP: {{ index . 0 | Quote }}
      hostIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      {{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      {{ with $podIPs }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      {{ if $crashLoop }}
      phase: Running
      {{ else }}
      phase: Failed
      {{ end }}
      startTime: {{ $now | Quote }}
`

// jsonString quotes s as a JSON string, which is also a valid YAML scalar
// and a valid jq string literal, whatever characters s holds.
func jsonString(s string) string {
	b, _ := json.Marshal(s) // marshalling a string cannot fail
	return string(b)
}

// writeStages writes kwok's fast stages from binDir followed by extra into
// one multi-document file in dir and returns its path.
func writeStages(dir, binDir string, extra []string) (string, error) {
	base, err := os.ReadFile(filepath.Join(binDir, fileKwokStages))
	if err != nil {
		return "", fmt.Errorf("testenv: read kwok stages (%s): %w", buildHint, err)
	}
	var b bytes.Buffer
	b.Write(base)
	for _, s := range extra {
		if !strings.HasPrefix(s, "---") {
			b.WriteString("\n---\n")
		} else {
			b.WriteString("\n")
		}
		b.WriteString(s)
	}
	path := filepath.Join(dir, "kwok-stages.yaml")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return "", fmt.Errorf("testenv: write kwok stages: %w", err)
	}
	return path, nil
}
