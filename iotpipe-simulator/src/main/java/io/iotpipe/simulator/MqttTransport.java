package io.iotpipe.simulator;

import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.envelope.Telemetry;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * Devices speaking MQTT 3.1.1 to the edge's MQTT plugin, QoS 1: the PUBACK comes once RabbitMQ confirmed the
 * message into its queues. Topic {@code telemetry/<deviceId>} becomes routing key {@code telemetry.<deviceId>} on
 * {@code amq.topic}, which the topology binds to the edge ingress.
 *
 * <p>A real fleet has one connection per device; a simulator of thousands of devices shares a small pool, each
 * device always on the same connection so its readings stay in order.
 */
final class MqttTransport implements Transport {

  private final List<MqttAsyncClient> clients = new ArrayList<>();

  MqttTransport(URI mqtt, BrokerConfig edge, int connections, int maxInFlight) {
    MqttConnectOptions o = new MqttConnectOptions();
    o.setCleanSession(true);
    o.setAutomaticReconnect(true);
    o.setMaxInflight(Math.max(10, maxInFlight / connections));
    o.setUserName(edge.username());
    if (edge.password().reveal() != null) {
      o.setPassword(edge.password().reveal().toCharArray());
    }
    String server = mqtt.getScheme() + "://" + mqtt.getHost() + ":" + (mqtt.getPort() > 0 ? mqtt.getPort() : 1883);
    for (int i = 0; i < connections; i++) {
      try {
        MqttAsyncClient c = new MqttAsyncClient(server, "iotpipe-sim-" + UUID.randomUUID().toString().substring(0, 8) + "-" + i,
            new MemoryPersistence());
        c.connect(o).waitForCompletion(15_000);
        clients.add(c);
      } catch (MqttException e) {
        close();
        throw new IllegalStateException("cannot connect to the edge's MQTT listener at " + server + ": " + e.getMessage()
            + " (is the rabbitmq_mqtt plugin enabled, and are simulator.mqtt and the edge credentials right?)", e);
      }
    }
  }

  @Override
  public CompletableFuture<Void> send(Telemetry t, byte[] body) {
    MqttAsyncClient c = clients.get(Math.floorMod(t.deviceId().hashCode(), clients.size()));
    CompletableFuture<Void> f = new CompletableFuture<>();
    MqttMessage m = new MqttMessage(body);
    m.setQos(1);
    try {
      c.publish("telemetry/" + t.deviceId(), m, null, new IMqttActionListener() {
        @Override
        public void onSuccess(IMqttToken token) {
          f.complete(null);
        }

        @Override
        public void onFailure(IMqttToken token, Throwable e) {
          f.completeExceptionally(e);
        }
      });
    } catch (MqttException e) {
      f.completeExceptionally(e);
    }
    return f;
  }

  @Override
  public void close() {
    for (MqttAsyncClient c : clients) {
      try {
        if (c.isConnected()) {
          c.disconnect().waitForCompletion(5000);
        }
        c.close();
      } catch (MqttException ignored) {
        // shutting down
      }
    }
  }
}
