// fleetkit ESP32 example: speaks the protocol of docs/esp32-protocol.md over MQTT with
// PubSubClient (https://github.com/knolleary/pubsubclient) and ArduinoJson 7.
//
// A starting point, not production firmware: no TLS, no provisioning, no OTA. The messages it
// builds are the canonical ones, byte for byte the same as test/fixtures/esp32/valid.json (a test
// fills these format strings with the fixtures' values and compares). Outgoing messages use
// snprintf with fixed format strings: no heap, fixed order, exact bytes. Incoming ones are parsed
// with ArduinoJson.
//
// ESP-IDF with esp-mqtt: the same format strings work with esp_mqtt_client_publish(); set
// .buffer.size = 1024 in esp_mqtt_client_config_t.
#include <WiFi.h>
#include <PubSubClient.h>
#include <ArduinoJson.h>
#include <sys/time.h>

// ── settings ───────────────────────────────────────────────────────────────────────────────
static const char *WIFI_SSID = "your-ssid";
static const char *WIFI_PASS = "your-password";
static const char *MQTT_HOST = "192.168.1.10";
static const uint16_t MQTT_PORT = 1883;
static const char *TENANT = "acme";
static const char *DEVICE_ID = "esp32-0001";
static const char *FIRMWARE_VERSION = "1.4.2";

// The protocol needs a 1024-byte MQTT buffer (PubSubClient's default of 256 is too small).
static const uint16_t MQTT_BUFFER_BYTES = 1024;

// ── the protocol's vocabulary (docs/esp32-protocol.md, "Enumerations") ─────────────────────
static const char *const LIFECYCLE_STATES[] = {"UNPROVISIONED", "PROVISIONING", "ACTIVE", "DEGRADED", "MAINTENANCE", "DECOMMISSIONED"};
static const char *const HEALTH_STATUSES[] = {"HEALTH_GOOD", "HEALTH_WARNING", "HEALTH_CRITICAL"};
static const char *const COMMANDS[] = {"diagnostics", "led_blink", "sensor_read", "enter_maintenance", "exit_maintenance", "set_telemetry_interval", "set_heartbeat_interval", "reboot", "ota_update", "decommission"};

// ── outgoing messages: canonical form, fields in canonical order ───────────────────────────
static const char HEARTBEAT_FMT[] = "{\"ts\":%llu,\"seq\":%lu,\"uptimeS\":%lu,\"firmwareVersion\":\"%s\",\"rssiDbm\":%d,\"batteryPct\":%d,\"freeHeapBytes\":%lu,\"state\":\"%s\",\"health\":\"%s\"}";
static const char TELEMETRY_FMT[] = "{\"ts\":%llu,\"seq\":%lu,\"values\":{\"temperatureC\":%.1f,\"humidityPct\":%d,\"batteryPct\":%d}}";
static const char HEALTH_FMT[] = "{\"ts\":%llu,\"values\":{\"health\":\"%s\",\"batteryPct\":%d,\"rssiDbm\":%d,\"freeHeapBytes\":%lu}}";
static const char SHADOW_REPORTED_FMT[] = "{\"state\":{\"reported\":{\"state\":\"%s\",\"health\":\"%s\",\"firmwareVersion\":\"%s\",\"batteryPct\":%d,\"configVersion\":%lu,\"telemetryIntervalMs\":%lu,\"heartbeatIntervalMs\":%lu}},\"clientToken\":\"%s\"}";
static const char ACK_FMT[] = "{\"commandId\":\"%s\",\"status\":\"%s\",\"ts\":%llu}";
static const char ACK_RESULT_FMT[] = "{\"commandId\":\"%s\",\"status\":\"%s\",\"ts\":%llu,\"result\":%s}";
static const char ACK_ERROR_FMT[] = "{\"commandId\":\"%s\",\"status\":\"%s\",\"ts\":%llu,\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}";

// ── state ──────────────────────────────────────────────────────────────────────────────────
WiFiClient net;
PubSubClient mqtt(net);
static char topicHeartbeat[96], topicTelemetry[96], topicCommands[96], topicShadowUpdate[96], topicShadowDelta[112], topicShadowGet[96], topicShadowGetAccepted[112];
static char message[MQTT_BUFFER_BYTES];
static uint32_t seq = 0, configVersion = 0, shadowToken = 0;
static uint32_t telemetryIntervalMs = 30000, heartbeatIntervalMs = 10000, healthCheckIntervalMs = 5000, shadowSyncIntervalMs = 15000, configCheckIntervalMs = 60000;
static uint32_t lastHeartbeat = 0, lastTelemetry = 0, lastHealth = 0, lastShadow = 0, lastConfigCheck = 0;
static int lifecycle = 2; // ACTIVE
static int health = 0;    // HEALTH_GOOD
static bool haveConfig = false;

static unsigned long long nowMs() {
  struct timeval tv;
  gettimeofday(&tv, nullptr); // set by NTP (configTime) in setup()
  return (unsigned long long)tv.tv_sec * 1000ULL + tv.tv_usec / 1000;
}

static int batteryPct() { return 87; }            // replace with the fuel gauge
static float temperatureC() { return 21.5f; }     // replace with the sensor
static int humidityPct() { return 48; }

static void publish(const char *topic) { mqtt.publish(topic, message); }

static void ack(const char *commandId, const char *status) {
  snprintf(message, sizeof message, ACK_FMT, commandId, status, nowMs());
  char topic[160];
  snprintf(topic, sizeof topic, "cmd/%s/%s/res/%s", TENANT, DEVICE_ID, commandId);
  publish(topic);
}

static void ackError(const char *commandId, const char *status, const char *code, const char *why) {
  snprintf(message, sizeof message, ACK_ERROR_FMT, commandId, status, nowMs(), code, why);
  char topic[160];
  snprintf(topic, sizeof topic, "cmd/%s/%s/res/%s", TENANT, DEVICE_ID, commandId);
  publish(topic);
}

static void ackResult(const char *commandId, const char *resultJson) {
  snprintf(message, sizeof message, ACK_RESULT_FMT, commandId, "succeeded", nowMs(), resultJson);
  char topic[160];
  snprintf(topic, sizeof topic, "cmd/%s/%s/res/%s", TENANT, DEVICE_ID, commandId);
  publish(topic);
}

static void sendHeartbeat() {
  snprintf(message, sizeof message, HEARTBEAT_FMT, nowMs(), (unsigned long)seq++, (unsigned long)(millis() / 1000), FIRMWARE_VERSION, (int)WiFi.RSSI(), batteryPct(), (unsigned long)ESP.getFreeHeap(), LIFECYCLE_STATES[lifecycle], HEALTH_STATUSES[health]);
  publish(topicHeartbeat);
}

static void sendTelemetry() {
  snprintf(message, sizeof message, TELEMETRY_FMT, nowMs(), (unsigned long)seq++, temperatureC(), humidityPct(), batteryPct());
  publish(topicTelemetry);
}

static void checkHealth() {
  int battery = batteryPct(), rssi = WiFi.RSSI();
  unsigned long heap = ESP.getFreeHeap();
  // The core's default thresholds: battery 20/10 %, RSSI -80/-90 dBm, heap 32768/16384 bytes.
  health = (battery < 10 || rssi < -90 || heap < 16384) ? 2 : (battery < 20 || rssi < -80 || heap < 32768) ? 1 : 0;
  snprintf(message, sizeof message, HEALTH_FMT, nowMs(), HEALTH_STATUSES[health], battery, rssi, heap);
  publish(topicTelemetry);
}

static void reportShadow() {
  char token[24];
  snprintf(token, sizeof token, "%s-%lu", DEVICE_ID, (unsigned long)++shadowToken);
  snprintf(message, sizeof message, SHADOW_REPORTED_FMT, LIFECYCLE_STATES[lifecycle], HEALTH_STATUSES[health], FIRMWARE_VERSION, batteryPct(), (unsigned long)configVersion, (unsigned long)telemetryIntervalMs, (unsigned long)heartbeatIntervalMs, token);
  publish(topicShadowUpdate);
}

// A configuration: strict on configVersion (an unsigned integer), lenient on interval names.
static void applyConfig(JsonObjectConst doc) {
  JsonObjectConst cfg = doc;
  if (doc["state"]["desired"].is<JsonObjectConst>()) cfg = doc["state"]["desired"].as<JsonObjectConst>();
  else if (doc["state"].is<JsonObjectConst>()) cfg = doc["state"].as<JsonObjectConst>();
  if (!cfg["configVersion"].is<uint32_t>()) return; // INVALID_VERSION: ignore it
  uint32_t version = cfg["configVersion"].as<uint32_t>();
  if (haveConfig && version <= configVersion) return; // duplicate or stale: nothing changes
  uint32_t ms;
  if ((ms = cfg["telemetryIntervalMs"] | (cfg["telemetryInterval"] | 0u) * 1000u) >= 1000 && ms <= 86400000) telemetryIntervalMs = ms;
  if ((ms = cfg["heartbeatIntervalMs"] | (cfg["heartbeatInterval"] | 0u) * 1000u) >= 1000 && ms <= 86400000) heartbeatIntervalMs = ms;
  configVersion = version;
  haveConfig = true;
  reportShadow();
}

static void runCommand(JsonObjectConst cmd) {
  const char *id = cmd["commandId"] | (cmd["id"] | (const char *)nullptr);
  const char *name = cmd["name"] | (cmd["command"] | "");
  if (id == nullptr || strlen(id) == 0 || strlen(id) > 64) return; // no valid id: nothing to answer
  ack(id, "received");
  if (strcmp(name, COMMANDS[0]) == 0) { // diagnostics
    char result[160];
    snprintf(result, sizeof result, "{\"freeHeapBytes\":%lu,\"rssiDbm\":%d,\"uptimeS\":%lu}", (unsigned long)ESP.getFreeHeap(), (int)WiFi.RSSI(), (unsigned long)(millis() / 1000));
    ackResult(id, result);
  } else if (strcmp(name, COMMANDS[1]) == 0) { // led_blink
    for (int i = 0; i < (cmd["params"]["times"] | 3); i++) { digitalWrite(LED_BUILTIN, HIGH); delay(100); digitalWrite(LED_BUILTIN, LOW); delay(100); }
    ack(id, "succeeded");
  } else if (strcmp(name, COMMANDS[5]) == 0 || strcmp(name, COMMANDS[6]) == 0) { // set_*_interval
    uint32_t ms = cmd["params"]["intervalMs"] | (cmd["params"]["interval"] | 0u) * 1000u;
    if (ms < 1000 || ms > 86400000) { ackError(id, "failed", "INVALID_ARGUMENT", "intervalMs must be 1000-86400000"); return; }
    if (name[4] == 't') telemetryIntervalMs = ms; else heartbeatIntervalMs = ms;
    char result[64];
    snprintf(result, sizeof result, name[4] == 't' ? "{\"telemetryIntervalMs\":%lu}" : "{\"heartbeatIntervalMs\":%lu}", (unsigned long)ms);
    ackResult(id, result);
  } else if (strcmp(name, COMMANDS[3]) == 0) { lifecycle = 4; ack(id, "succeeded"); reportShadow(); }
  else if (strcmp(name, COMMANDS[4]) == 0) { lifecycle = 2; ack(id, "succeeded"); reportShadow(); }
  else if (strcmp(name, COMMANDS[7]) == 0) { ack(id, "succeeded"); delay(100); ESP.restart(); }
  else ackError(id, "rejected", "UNKNOWN_COMMAND", "no handler for this command");
}

static void onMessage(char *topic, byte *payload, unsigned int length) {
  JsonDocument doc; // ArduinoJson 7
  if (deserializeJson(doc, payload, length)) return; // malformed: ignore, never crash
  if (strncmp(topic, topicCommands, strlen(topicCommands) - 1) == 0) runCommand(doc.as<JsonObjectConst>());
  else if (strcmp(topic, topicShadowDelta) == 0 || strcmp(topic, topicShadowGetAccepted) == 0) applyConfig(doc.as<JsonObjectConst>());
}

static void connect() {
  while (!mqtt.connected()) {
    if (mqtt.connect(DEVICE_ID)) {
      mqtt.subscribe(topicCommands, 1);
      mqtt.subscribe(topicShadowDelta, 1);
      mqtt.subscribe(topicShadowGetAccepted, 1);
      mqtt.publish(topicShadowGet, "{}"); // fetch the configuration on (re)connect
    } else delay(2000);
  }
}

void setup() {
  pinMode(LED_BUILTIN, OUTPUT);
  WiFi.begin(WIFI_SSID, WIFI_PASS);
  while (WiFi.status() != WL_CONNECTED) delay(250);
  configTime(0, 0, "pool.ntp.org");
  snprintf(topicHeartbeat, sizeof topicHeartbeat, "dt/%s/%s/heartbeat", TENANT, DEVICE_ID);
  snprintf(topicTelemetry, sizeof topicTelemetry, "dt/%s/%s/telemetry", TENANT, DEVICE_ID);
  snprintf(topicCommands, sizeof topicCommands, "cmd/%s/%s/req/+", TENANT, DEVICE_ID);
  snprintf(topicShadowUpdate, sizeof topicShadowUpdate, "$aws/things/%s/shadow/update", DEVICE_ID);
  snprintf(topicShadowDelta, sizeof topicShadowDelta, "$aws/things/%s/shadow/update/delta", DEVICE_ID);
  snprintf(topicShadowGet, sizeof topicShadowGet, "$aws/things/%s/shadow/get", DEVICE_ID);
  snprintf(topicShadowGetAccepted, sizeof topicShadowGetAccepted, "$aws/things/%s/shadow/get/accepted", DEVICE_ID);
  mqtt.setServer(MQTT_HOST, MQTT_PORT);
  mqtt.setBufferSize(MQTT_BUFFER_BYTES);
  mqtt.setCallback(onMessage);
}

void loop() {
  connect();
  mqtt.loop();
  uint32_t now = millis();
  if (now - lastHealth >= healthCheckIntervalMs) { lastHealth = now; checkHealth(); }
  if (now - lastHeartbeat >= heartbeatIntervalMs) { lastHeartbeat = now; sendHeartbeat(); }
  // Degraded mode: battery under 10 % while health is critical → telemetry three times slower.
  uint32_t every = (batteryPct() < 10 && health == 2) ? 3 * telemetryIntervalMs : telemetryIntervalMs;
  if (now - lastTelemetry >= every) { lastTelemetry = now; sendTelemetry(); }
  if (now - lastShadow >= shadowSyncIntervalMs) { lastShadow = now; reportShadow(); }
  if (now - lastConfigCheck >= configCheckIntervalMs) { lastConfigCheck = now; mqtt.publish(topicShadowGet, "{}"); }
}
