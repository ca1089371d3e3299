{{/* Names and labels. */}}
{{- define "ioc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ioc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ioc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "ioc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: ioc-pipeline
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector of one process: (dict "root" $ "component" "worker") */}}
{{- define "ioc.selector" -}}
app.kubernetes.io/name: {{ include "ioc.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ioc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ioc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ioc.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The secret fields of ioc/settings.py (SecretStr), without the IOC_ prefix; each is a file
ioc_<name> in IOC_SECRETS_DIR. tests/unit/test_helm_chart.py checks this list against
the settings, so a new secret cannot land in the ConfigMap unnoticed.
*/}}
{{- define "ioc.secretNames" -}}
{{- list "clickhouse_migrator_password" "clickhouse_sink_password" "clickhouse_replay_password" "clickhouse_reader_password" "clickhouse_grafana_password" "postgres_password" "outbox_password" "pii_hmac_key" "pii_previous_keys" "alertmanager_smtp_password" "alertmanager_telegram_bot_token" "alertmanager_web_password" "prometheus_web_password" "grafana_password" "grafana_token" "notify_zalo_access_token" "notify_telegram_bot_token" "notify_smtp_password" "mqtt_password" "mqtt_device_secret" "kafka_password" | toJson -}}
{{- end -}}

{{/* Is there a Secret to mount at /run/secrets? */}}
{{- define "ioc.hasSecrets" -}}
{{- if and .Values.secrets.existingSecret .Values.secrets.values -}}
{{- fail "secrets: set existingSecret or values, not both" -}}
{{- end -}}
{{- if or .Values.secrets.existingSecret .Values.secrets.values -}}true{{- end -}}
{{- end -}}

{{- define "ioc.secretName" -}}
{{- default (printf "%s-secrets" (include "ioc.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The chart-owned Secret's data: ioc_<name> -> base64, names checked. */}}
{{- define "ioc.secretData" -}}
{{- $known := include "ioc.secretNames" . | fromJsonArray -}}
{{- range $name, $value := .Values.secrets.values }}
{{- if not (has $name $known) }}
{{- fail (printf "secrets.values.%s is not a secret of ioc/settings.py (one of %s)" $name (join ", " $known)) }}
{{- end }}
{{ printf "ioc_%s" $name }}: {{ $value | toString | b64enc | quote }}
{{- end }}
{{- end -}}

{{/* gateway.apiKeys.json as text: given as a JSON string, or as the same in YAML. */}}
{{- define "ioc.apiKeysJson" -}}
{{- $keys := .Values.gateway.apiKeys.json -}}
{{- if kindIs "string" $keys }}{{ $keys }}{{ else }}{{ toJson $keys }}{{ end -}}
{{- end -}}

{{- define "ioc.hasApiKeys" -}}
{{- if and .Values.gateway.apiKeys.existingSecret .Values.gateway.apiKeys.json -}}
{{- fail "gateway.apiKeys: set existingSecret or json, not both" -}}
{{- end -}}
{{- if and .Values.gateway.enabled (or .Values.gateway.apiKeys.existingSecret .Values.gateway.apiKeys.json) -}}true{{- end -}}
{{- end -}}

{{/*
The settings every process gets (the ConfigMap's data): what the chart wires from its
values, then `settings`. A `settings` key that the chart wires, or that is a secret, is
refused rather than silently overridden.
*/}}
{{- define "ioc.settings" -}}
{{- $v := .Values -}}
{{- if not $v.kafka.bootstrapServers -}}
{{- fail "kafka.bootstrapServers: at least one host:port" -}}
{{- end -}}
{{- $wired := dict
  "IOC_ENVIRONMENT" $v.environment
  "IOC_PROVINCE_PROFILE" $v.provinceProfile
  "IOC_DATA_DIR" "/data"
  "IOC_METRICS_HOST" "0.0.0.0"
  "IOC_HTTP_HOST" "0.0.0.0"
  "IOC_KAFKA_BOOTSTRAP_SERVERS" (join "," $v.kafka.bootstrapServers)
  "IOC_REPLICATION_FACTOR" $v.kafka.replicationFactor
  "IOC_KAFKA_SECURITY_PROTOCOL" $v.kafka.securityProtocol
  "IOC_KAFKA_SASL_MECHANISM" $v.kafka.saslMechanism
  "IOC_CLICKHOUSE_HOST" (required "clickhouse.host: the ClickHouse server (native protocol)" $v.clickhouse.host)
  "IOC_CLICKHOUSE_PORT" $v.clickhouse.port
  "IOC_CLICKHOUSE_HTTP_PORT" $v.clickhouse.httpPort
  "IOC_CLICKHOUSE_DATABASE" $v.clickhouse.database
  "IOC_CLICKHOUSE_TLS" $v.clickhouse.tls
  "IOC_CLICKHOUSE_TLS_PORT" $v.clickhouse.tlsPort
  "IOC_CLICKHOUSE_CLUSTER" ($v.clickhouse.cluster | default "")
  "IOC_CLICKHOUSE_ALT_HOSTS" (join "," ($v.clickhouse.altHosts | default list))
  "IOC_CLICKHOUSE_MIGRATOR_USER" $v.clickhouse.users.migrator
  "IOC_CLICKHOUSE_SINK_USER" $v.clickhouse.users.sink
  "IOC_CLICKHOUSE_REPLAY_USER" $v.clickhouse.users.replay
  "IOC_CLICKHOUSE_READER_USER" $v.clickhouse.users.reader
  "IOC_CLICKHOUSE_GRAFANA_USER" $v.clickhouse.users.grafana
  "IOC_ALERTMANAGER_HOST" $v.alertmanager.host
  "IOC_ALERTMANAGER_PORT" $v.alertmanager.port
  "IOC_ALERTMANAGER_WEB_USER" $v.alertmanager.webUser
  "IOC_MONITORING_TLS" $v.alertmanager.tls
  "IOC_MONITORING_CA_FILE" $v.alertmanager.caFile
  "IOC_MOSQUITTO_HOST" $v.mqtt.host
  "IOC_MOSQUITTO_PORT" $v.mqtt.port
  "IOC_MQTT_USERNAME" $v.mqtt.username
  "IOC_MQTT_TLS_CA_FILE" $v.mqtt.tlsCaFile
  "IOC_POSTGRES_HOST" $v.postgres.host
  "IOC_POSTGRES_PORT" $v.postgres.port
  "IOC_POSTGRES_USER" $v.postgres.user
  "IOC_POSTGRES_DATABASE" $v.postgres.database
  "IOC_POSTGRES_SSLMODE" $v.postgres.sslmode
  "IOC_OUTBOX_USER" $v.postgres.outboxUser
  "IOC_HTTP_PORT" $v.gateway.port
  "IOC_STREAM_METRICS_PORT" $v.worker.metricsPort
  "IOC_SINK_METRICS_PORT" $v.sink.metricsPort
  "IOC_MQTT_METRICS_PORT" $v.bridge.metricsPort
  "IOC_OUTBOX_METRICS_PORT" $v.outbox.metricsPort
  "IOC_ALERTER_METRICS_PORT" $v.alerter.metricsPort
  "IOC_NOTIFY_HOST" "0.0.0.0"
  "IOC_NOTIFY_PORT" $v.notify.port
-}}
{{- if $v.grafana.url -}}
{{- $_ := set $wired "IOC_GRAFANA_URL" $v.grafana.url -}}
{{- end -}}
{{- if include "ioc.hasSecrets" . -}}
{{- $_ := set $wired "IOC_SECRETS_DIR" "/run/secrets" -}}
{{- end -}}
{{- if include "ioc.hasApiKeys" . -}}
{{- $_ := set $wired "IOC_HTTP_API_KEYS_FILE" "/etc/ioc/http/http-api-keys.json" -}}
{{- end -}}
{{- $secrets := include "ioc.secretNames" . | fromJsonArray -}}
{{- $all := deepCopy $wired -}}
{{- range $name, $value := $v.settings -}}
{{- $key := printf "IOC_%s" (upper $name) -}}
{{- if has (lower $name) $secrets -}}
{{- fail (printf "settings.%s is a secret: put it in secrets.values or the existing Secret" $name) -}}
{{- end -}}
{{- if hasKey $wired $key -}}
{{- fail (printf "settings.%s is wired by the chart: set it through its own value (values.yaml)" $name) -}}
{{- end -}}
{{- $_ := set $all $key $value -}}
{{- end -}}
{{- range $key := keys $all | sortAlpha }}
{{ $key }}: {{ get $all $key | toString | quote }}
{{- end }}
{{- end -}}

{{/* Pod annotations: roll the pods when their settings or chart-owned secrets change. */}}
{{- define "ioc.podAnnotations" -}}
checksum/settings: {{ include "ioc.settings" . | sha256sum }}
checksum/secrets: {{ printf "%s%s%s" (include "ioc.secretData" .) .Values.secrets.existingSecret (include "ioc.apiKeysJson" .) | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
One pipeline process as a Deployment:
(dict "root" $ "component" "worker" "spec" .Values.worker "replicas" 3 "job" "ioc-worker"
      "command" (list ...) "port" 9483 "portName" "metrics"
      "readiness" "/health" "liveness" "/health" "strategy" (dict ...))
*/}}
{{- define "ioc.deployment" -}}
{{- $root := .root -}}
{{- $spec := .spec -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "ioc.fullname" $root }}-{{ .component }}
  labels:
    {{- include "ioc.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  replicas: {{ .replicas }}
  revisionHistoryLimit: 5
  strategy:
    {{- toYaml .strategy | nindent 4 }}
  selector:
    matchLabels:
      {{- include "ioc.selector" (dict "root" $root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "ioc.labels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ .component }}
        {{- with $root.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        {{- include "ioc.podAnnotations" $root | nindent 8 }}
        # The scrape job deploy/prometheus/rules/pipeline.yml expects (docs/kubernetes.md).
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ .port | quote }}
        prometheus.io/path: /metrics
        prometheus.io/job: {{ .job }}
    spec:
      serviceAccountName: {{ include "ioc.serviceAccountName" $root }}
      automountServiceAccountToken: false
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $spec.terminationGracePeriodSeconds }}
      containers:
        - name: {{ .component }}
          image: {{ include "ioc.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command:
            {{- toYaml .command | nindent 12 }}
          {{- include "ioc.containerCommon" (dict "root" $root "kafkaUser" (include "ioc.kafkaUser" .component)) | nindent 10 }}
          ports:
            - name: {{ .portName }}
              containerPort: {{ .port }}
              protocol: TCP
          readinessProbe:
            httpGet:
              path: {{ .readiness }}
              port: {{ .portName }}
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 3
          livenessProbe:
            httpGet:
              path: {{ .liveness }}
              port: {{ .portName }}
            initialDelaySeconds: 10
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 6
          resources:
            {{- toYaml $spec.resources | nindent 12 }}
          {{- if and (eq .component "http-gateway") (include "ioc.hasApiKeys" $root) }}
          volumeMounts:
            {{- include "ioc.volumeMounts" $root | nindent 12 }}
            - name: http-api-keys
              mountPath: /etc/ioc/http
              readOnly: true
          {{- else }}
          volumeMounts:
            {{- include "ioc.volumeMounts" $root | nindent 12 }}
          {{- end }}
      volumes:
        {{- include "ioc.volumes" $root | nindent 8 }}
        {{- if and (eq .component "http-gateway") (include "ioc.hasApiKeys" $root) }}
        - name: http-api-keys
          secret:
            secretName: {{ default (printf "%s-http-api-keys" (include "ioc.fullname" $root)) $root.Values.gateway.apiKeys.existingSecret }}
            defaultMode: 0440
        {{- end }}
      {{- with $root.Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/* The Kafka user of a component (decision 0039); "" for one that does not use Kafka. */}}
{{- define "ioc.kafkaUser" -}}
{{- get (dict "http-gateway" "ioc-gateway" "mqtt-bridge" "ioc-bridge" "outbox-poller" "ioc-outbox"
  "worker" "ioc-worker" "sink" "ioc-sink" "alerter" "ioc-alerter" "setup" "ioc-admin") . -}}
{{- end -}}

{{/*
What every pipeline container has: settings, secrets, security, HOME; and its own Kafka
user, whose password is in a Secret of that user's own (Strimzi's KafkaUser makes one
named after the user, key "password"), so one pod cannot log in as another component.
Called with (dict "root" $ "kafkaUser" "ioc-…").
*/}}
{{- define "ioc.containerCommon" -}}
{{- $root := .root -}}
envFrom:
  - configMapRef:
      name: {{ include "ioc.fullname" $root }}-settings
env:
  - name: HOME # the pod's UID has no passwd entry; HOME must be writable
    value: /tmp
  {{- if and .kafkaUser (hasPrefix "SASL_" $root.Values.kafka.securityProtocol) }}
  - name: IOC_KAFKA_USERNAME
    value: {{ .kafkaUser }}
  - name: IOC_KAFKA_PASSWORD
    valueFrom:
      secretKeyRef:
        name: {{ printf $root.Values.kafka.userSecret .kafkaUser }}
        key: {{ $root.Values.kafka.userSecretKey }}
  {{- end }}
securityContext:
  {{- toYaml $root.Values.securityContext | nindent 2 }}
{{- end -}}

{{- define "ioc.volumeMounts" -}}
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
{{- if include "ioc.hasSecrets" . }}
- name: secrets
  mountPath: /run/secrets
  readOnly: true
{{- end }}
{{- end -}}

{{/* (the setup Job passes its own Secret name as .secretName) */}}
{{- define "ioc.volumes" -}}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- if include "ioc.hasSecrets" . }}
- name: secrets
  secret:
    secretName: {{ include "ioc.secretName" . }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{/* A PodDisruptionBudget: (dict "root" $ "component" "worker" "spec" .Values.worker) */}}
{{- define "ioc.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "ioc.fullname" .root }}-{{ .component }}
  labels:
    {{- include "ioc.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  maxUnavailable: {{ .spec.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "ioc.selector" (dict "root" .root "component" .component) | nindent 6 }}
{{- end -}}
