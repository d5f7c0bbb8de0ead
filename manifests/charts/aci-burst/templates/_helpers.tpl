{{/* Labels of every object: (dict "name" "aci-burst-connector" "root" $). */}}
{{- define "aci-burst.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/part-of: aci-burst
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end }}

{{/* Labels of a pod template: the same as the kubectl manifests', so selectors match either install. */}}
{{- define "aci-burst.podLabels" -}}
app.kubernetes.io/name: {{ . }}
app.kubernetes.io/part-of: aci-burst
{{- end }}

{{- define "aci-burst.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* Every aci-burst process runs as an unprivileged user with nothing to escalate to. */}}
{{- define "aci-burst.podSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
{{- end }}

{{- define "aci-burst.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]
{{- end }}

{{/* The non-empty entries of a component's `config` map as env entries, skipping the names in `except`. */}}
{{- define "aci-burst.configEnv" -}}
{{- $except := .except | default list }}
{{- range $name, $value := .config }}
{{- if and (toString $value) (not (has $name $except)) }}
- name: {{ $name }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end }}

{{- define "aci-burst.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The virtual nodes' names as a JSON list: connector.nodes' names, else connector.config.NODE_NAME. */}}
{{- define "aci-burst.virtualNodes" -}}
{{- $c := .Values.connector }}
{{- $names := list }}
{{- range $c.nodes }}
{{- $names = append $names (required "every entry of connector.nodes needs a name" .name) }}
{{- end }}
{{- if not $names }}
{{- $names = list ($c.config.NODE_NAME | default "aci-connector") }}
{{- end }}
{{- $names | toJson }}
{{- end }}
