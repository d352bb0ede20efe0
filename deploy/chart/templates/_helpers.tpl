{{/* The chart's name. */}}
{{- define "slipway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: RELEASE-slipway, or RELEASE when it already contains the name. */}}
{{- define "slipway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "slipway.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Selects the release's pods: the full name, so two releases in one namespace
never select each other's pods (and release slipway selects what deploy/ does).
*/}}
{{- define "slipway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "slipway.fullname" . }}
{{- end }}

{{/* On every object: deploy/'s label plus Helm's own bookkeeping. */}}
{{- define "slipway.labels" -}}
app.kubernetes.io/part-of: slipway
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "slipway.serviceAccountName" -}}
{{- default (include "slipway.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{- define "slipway.secretName" -}}
{{- default (include "slipway.fullname" .) .Values.secret.name }}
{{- end }}
