{{/* The chart name, or nameOverride. */}}
{{- define "apexalias.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the release's objects: fullnameOverride, else <release>-<chart> (just <release> when it contains the chart name). */}}
{{- define "apexalias.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "apexalias.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "apexalias.selectorLabels" -}}
app.kubernetes.io/name: {{ include "apexalias.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The labels of every object: the standard ones, then commonLabels. */}}
{{- define "apexalias.labels" -}}
helm.sh/chart: {{ include "apexalias.chart" . }}
{{ include "apexalias.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: apexalias
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "apexalias.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "apexalias.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "apexalias.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Where a backend's existingSecret is mounted. */}}
{{- define "apexalias.secretDir" -}}
{{- printf "/etc/apexalias/secrets/%s" . }}
{{- end }}

{{/*
The controller configuration as the controller reads it: the values' `config` block with the
chart-only `existingSecret` key removed from each backend, each relative TSIG file path (and
Route 53 credentialsFile, PowerDNS apiKeyFile) turned into the path of that key in the mounted
Secret, and each relative zone-file directory placed on
the data volume (/var/lib/apexalias). Fails on a credential file without a Secret.
*/}}
{{- define "apexalias.config" -}}
{{- $c := .Values.config }}
{{- $backends := list }}
{{- range $i, $b := $c.backends }}
{{- $out := omit $b "existingSecret" }}
{{- if $b.tsig }}
{{- $tsig := deepCopy $b.tsig }}
{{- range $field := list "secretFile" "keyFile" }}
{{- $file := get $tsig $field }}
{{- if and $file (not (isAbs $file)) }}
{{- if not $b.existingSecret }}
{{- fail (printf "config.backends[%d] (%s): tsig.%s %q names a key of a Secret, so set existingSecret (credentials are never part of values)" $i $b.name $field $file) }}
{{- end }}
{{- $_ := set $tsig $field (printf "%s/%s" (include "apexalias.secretDir" $b.name) $file) }}
{{- end }}
{{- end }}
{{- $_ := set $out "tsig" $tsig }}
{{- end }}
{{- if and (eq $b.type "route53") $b.credentialsFile (not (isAbs $b.credentialsFile)) }}
{{- if not $b.existingSecret }}
{{- fail (printf "config.backends[%d] (%s): credentialsFile %q names a key of a Secret, so set existingSecret (credentials are never part of values), or leave it out to use IRSA" $i $b.name $b.credentialsFile) }}
{{- end }}
{{- $_ := set $out "credentialsFile" (printf "%s/%s" (include "apexalias.secretDir" $b.name) $b.credentialsFile) }}
{{- end }}
{{- if and (eq $b.type "powerdns") $b.apiKeyFile (not (isAbs $b.apiKeyFile)) }}
{{- if not $b.existingSecret }}
{{- fail (printf "config.backends[%d] (%s): apiKeyFile %q names a key of a Secret, so set existingSecret (credentials are never part of values)" $i $b.name $b.apiKeyFile) }}
{{- end }}
{{- $_ := set $out "apiKeyFile" (printf "%s/%s" (include "apexalias.secretDir" $b.name) $b.apiKeyFile) }}
{{- end }}
{{- if eq $b.type "zonefile" }}
{{- /* Relative zone directories (and the controller's default ./zones) go on the writable data volume. */}}
{{- $dir := default "zones" $b.directory }}
{{- if not (isAbs $dir) }}
{{- $_ := set $out "directory" (printf "/var/lib/apexalias/%s" (trimPrefix "./" $dir)) }}
{{- end }}
{{- end }}
{{- $backends = append $backends $out }}
{{- end }}
{{- $rendered := dict "ownerId" $c.ownerId "resolver" $c.resolver "refresh" $c.refresh "backends" $backends }}
{{- if kindIs "slice" $c.allow }}
{{- $_ := set $rendered "allow" $c.allow }}
{{- end }}
{{- toYaml $rendered }}
{{- end }}

{{/* True ("true") when some backend keeps zone files, which then need a writable volume. */}}
{{- define "apexalias.needsDataVolume" -}}
{{- range .Values.config.backends }}{{ if eq .type "zonefile" }}true{{ end }}{{ end }}
{{- end }}

{{/* The TCP ports of the HTTP APIs that powerdns backends talk to, from their URLs (80/443 when none is given). */}}
{{- define "apexalias.backendApiPorts" -}}
{{- $ports := list }}
{{- range .Values.config.backends }}
{{- if eq .type "powerdns" }}
{{- $u := urlParse .url }}
{{- $hostport := splitList ":" (regexReplaceAll "^\\[.*\\]" $u.host "h") }}
{{- $port := ternary (last $hostport) (ternary "443" "80" (eq $u.scheme "https")) (gt (len $hostport) 1) }}
{{- $ports = append $ports $port }}
{{- end }}
{{- end }}
{{- $ports | uniq | join "," }}
{{- end }}
