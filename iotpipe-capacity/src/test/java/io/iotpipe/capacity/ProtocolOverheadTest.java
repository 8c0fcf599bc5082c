package io.iotpipe.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.impl.AMQContentHeader;
import com.rabbitmq.client.impl.AMQImpl;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttPubAck;
import org.eclipse.paho.client.mqttv3.internal.wire.MqttPublish;
import org.junit.jupiter.api.Test;

/**
 * The reference profile's framing bytes are what the real client libraries put on the wire for our publishes
 * (the simulator's properties and headers, a 9-character device id, seq up to 7 digits, a 250-byte body).
 */
class ProtocolOverheadTest {

  private final CapacityProfile ref = CapacityProfile.reference();

  @Test
  void amqpPublishAndConfirmFramesMatchTheProfile() throws Exception {
    long now = System.currentTimeMillis();
    Map<String, Object> headers = new LinkedHashMap<>();
    headers.put("x-published-at", now);              // AmqpTransport
    headers.put("x-iotpipe-publish-id", 123_456_789L); // ConfirmingPublisher
    AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
        .contentType("application/json").deliveryMode(2).messageId("ch-000042:1000000").timestamp(new Date(now))
        .appId("iotpipe-simulator").headers(headers).build();
    int method = new AMQImpl.Basic.Publish(0, "iotpipe.edge.ingress", "telemetry.ch-000042", true, false).toFrame(1).size();
    int header = ((AMQContentHeader) props).toFrame(1, 250).size();
    int bodyFrameOverhead = 8; // frame type 1 + channel 2 + size 4 + frame-end 1 (AMQP 0-9-1 section 4.2.3)
    assertThat(ref.get("amqpPublishOverheadBytes")).isEqualTo(method + header + bodyFrameOverhead);
    assertThat(ref.get("amqpConfirmBytes")).isEqualTo(new AMQImpl.Basic.Ack(1_000_000L, false).toFrame(1).size());
  }

  @Test
  void mqttPublishAndPubackMatchTheProfile() throws Exception {
    MqttMessage m = new MqttMessage(new byte[250]);
    m.setQos(1);
    MqttPublish publish = new MqttPublish("telemetry/ch-000042", m);
    publish.setMessageId(1);
    assertThat(ref.get("mqttPublishOverheadBytes")).isEqualTo(publish.getHeader().length);
    MqttPubAck ack = new MqttPubAck(1);
    assertThat(ref.get("mqttPubackBytes")).isEqualTo(ack.getHeader().length + ack.getPayload().length);
  }
}
