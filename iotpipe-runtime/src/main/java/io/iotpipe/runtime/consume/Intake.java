package io.iotpipe.runtime.consume;

import com.rabbitmq.client.AMQP;
import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.envelope.Decoded;
import io.iotpipe.core.envelope.ReadingBatch;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.sink.SinkRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Turns raw deliveries into {@link Delivery} values and gathers them into batches for the sink.
 *
 * <p>Decoding happens on the AMQP client's dispatch thread (cheap, and it keeps the dispatcher free for the sink);
 * batches close by count, by body bytes or when the oldest delivery waited {@code batchWait}.
 *
 * <p>Identity is bound here, before any sink sees a reading: the body's {@code deviceId} must be the device of the
 * routing key the publisher used ({@code telemetry.<deviceId>}). Brokers with topic permissions refuse a device that
 * publishes under another key; this check makes the promise hold on a broker where nobody configured them, and it
 * stops a device from writing readings in another device's name under its own key.
 *
 * <p>Tenants are bound here too: each reading is stamped with its device's tenant from the tenant registry (trusted:
 * written at enrollment, beside the certificate that carries the same tenant), never from the body. A body that
 * claims a tenant ({@code "tenant"}, kept as an attribute) other than its device's is dead-lettered with the reason.
 */
final class Intake {

  /** Routing keys of readings: devices publish {@code telemetry.<deviceId>} (MQTT topic {@code telemetry/<deviceId>}). */
  static final String ROUTING_PREFIX = "telemetry.";
  /**
   * Header the dead-letter path stores the original routing key in. Replays publish straight to the partition queue
   * through the default exchange (only an operator's account may), so for those the routing key is taken from here.
   */
  static final String ROUTING_KEY_HEADER = "x-iotpipe-routing-key";
  /** Header the simulator and devices may set with the publish time in epoch millis (AMQP timestamps are seconds). */
  static final String PUBLISHED_AT_HEADER = "x-published-at";

  /** The body field (an attribute once decoded) in which a reading may claim a tenant; only its device's is accepted. */
  static final String TENANT_FIELD = "tenant";

  private final TelemetryCodec codec;
  private final ConsumerSettings settings;
  /** Device id to its tenant (null: none); a function so the framework needs no registry of its own. */
  private final java.util.function.Function<String, String> tenants;
  /** The only {@code user_id} a batch is trusted from (see {@code IotpipeConfig.batchPublisher}); null: none is. */
  private final String batchPublisher;
  private final BlockingQueue<Delivery> inbox = new LinkedBlockingQueue<>();

  Intake(TelemetryCodec codec, ConsumerSettings settings) {
    this(codec, settings, null, device -> null);
  }

  Intake(TelemetryCodec codec, ConsumerSettings settings, java.util.function.Function<String, String> tenants) {
    this(codec, settings, null, tenants);
  }

  Intake(TelemetryCodec codec, ConsumerSettings settings, String batchPublisher) {
    this(codec, settings, batchPublisher, device -> null);
  }

  Intake(TelemetryCodec codec, ConsumerSettings settings, String batchPublisher,
         java.util.function.Function<String, String> tenants) {
    this.codec = codec;
    this.settings = settings;
    this.batchPublisher = batchPublisher;
    this.tenants = tenants;
  }

  /** Decodes and checks one delivery and queues it for the next batch. */
  Delivery accept(Source source, long tag, String exchange, String routingKey, AMQP.BasicProperties props, byte[] body) {
    Delivery d = reading(source, tag, publisherRoutingKey(exchange, routingKey, props), props, body);
    inbox.add(d);
    return d;
  }

  /**
   * One message as the readings it carries, not yet queued ({@link #enqueue}): itself, or — a batch from the
   * forwarder's account — each of its entries, checked against the routing key the edge verified for it and settled
   * on its own ({@link BatchSource}: the message is acked once every entry is). A batch from anyone else, or one that
   * cannot be read, is one invalid message: dead-lettered whole with the reason.
   */
  List<Delivery> unpack(Source source, long tag, String exchange, String routingKey, AMQP.BasicProperties props, byte[] body) {
    if (!ReadingBatch.CONTENT_TYPE.equals(props.getContentType())) {
      return List.of(reading(source, tag, publisherRoutingKey(exchange, routingKey, props), props, body));
    }
    String untrusted = batchPublisher == null
        ? "a batch (content type " + ReadingBatch.CONTENT_TYPE + ") where topology.wan.mode is not batch: batches are refused"
        : !batchPublisher.equals(props.getUserId())
        ? "a batch whose user_id is " + (props.getUserId() == null ? "missing" : io.iotpipe.core.Reasons.quote(props.getUserId(), 100))
            + ": only the forwarder account " + io.iotpipe.core.Reasons.quote(batchPublisher, 100) + " may publish batches"
        : null;
    if (untrusted != null) {
      return List.of(Delivery.invalid(source, tag, routingKey, props, body, untrusted));
    }
    List<ReadingBatch.Entry> entries;
    try {
      entries = ReadingBatch.decode(body);
    } catch (ReadingBatch.FormatException e) {
      return List.of(Delivery.invalid(source, tag, routingKey, props, body, "invalid " + e.getMessage()));
    }
    BatchSource batch = new BatchSource(source, tag, entries.size());
    List<Delivery> out = new ArrayList<>(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      ReadingBatch.Entry e = entries.get(i);
      out.add(reading(batch, i, e.routingKey(), entryProperties(e), e.body()));
    }
    return out;
  }

  /** Queues deliveries {@link #unpack} made, in order. */
  void enqueue(List<Delivery> deliveries) {
    inbox.addAll(deliveries);
  }

  /**
   * What a reading of a batch carries as its own properties (a dead letter of it gets these): its publish time, and
   * no {@code user_id} — the sink's dead-letter publish would be refused with the forwarder's.
   */
  private static AMQP.BasicProperties entryProperties(ReadingBatch.Entry e) {
    AMQP.BasicProperties.Builder b = new AMQP.BasicProperties.Builder().deliveryMode(2).contentType("application/json");
    if (e.publishedAt() > 0) {
      b.headers(java.util.Map.of(PUBLISHED_AT_HEADER, e.publishedAt()));
    }
    return b.build();
  }

  /** Decodes one reading and checks it was published under its own device's key. */
  private Delivery reading(Source source, long tag, String publishedKey, AMQP.BasicProperties props, byte[] body) {
    return switch (codec.decode(body)) {
      case Decoded.Valid v -> {
        String mismatch = identityMismatch(v.telemetry().deviceId(), publishedKey);
        String tenant = mismatch == null ? tenants.apply(v.telemetry().deviceId()) : null;
        if (mismatch == null) {
          mismatch = tenantMismatch(v.telemetry().deviceId(), tenant, v.telemetry().attributes().get(TENANT_FIELD));
        }
        yield mismatch != null
            ? Delivery.invalid(source, tag, publishedKey, props, body, mismatch)
            : Delivery.valid(source, tag, publishedKey, props, body,
                new SinkRecord(tenant == null ? v.telemetry() : v.telemetry().withTenant(tenant), body, source.queue(),
                    publishedAt(props, v.telemetry().ts().toEpochMilli())));
      }
      case Decoded.Invalid inv -> Delivery.invalid(source, tag, publishedKey, props, body, "invalid telemetry: " + inv.reason());
    };
  }

  /** Puts a delivery back for another attempt (after its backoff). */
  void requeue(Delivery d) {
    inbox.add(d);
  }

  boolean isEmpty() {
    return inbox.isEmpty();
  }

  /**
   * Waits up to {@code idleMillis} for a first delivery, then gathers more until the batch is full or
   * {@code batchWait} passed. Returns an empty list when nothing arrived.
   */
  List<Delivery> nextBatch(long idleMillis) throws InterruptedException {
    Delivery first = inbox.poll(idleMillis, TimeUnit.MILLISECONDS);
    if (first == null) {
      return List.of();
    }
    List<Delivery> batch = new ArrayList<>();
    batch.add(first);
    long bytes = first.body().length;
    long deadline = System.nanoTime() + settings.batchWait().toNanos();
    while (batch.size() < settings.batchMax() && bytes < settings.batchBytes()) {
      long left = deadline - System.nanoTime();
      Delivery next = left > 0 ? inbox.poll(left, TimeUnit.NANOSECONDS) : inbox.poll();
      if (next == null) {
        break;
      }
      batch.add(next);
      bytes += next.body().length;
    }
    return batch;
  }

  static String publisherRoutingKey(String exchange, String routingKey, AMQP.BasicProperties props) {
    if (exchange == null || exchange.isEmpty()) {
      Object h = props.getHeaders() == null ? null : props.getHeaders().get(ROUTING_KEY_HEADER);
      return h == null ? null : h.toString();
    }
    return routingKey;
  }

  /** Null when the reading's device is the publisher's; otherwise the reason for the dead-letter queue. */
  static String identityMismatch(String deviceId, String routingKey) {
    if (routingKey != null && routingKey.length() == ROUTING_PREFIX.length() + deviceId.length()
        && routingKey.startsWith(ROUTING_PREFIX) && routingKey.endsWith(deviceId)) {
      return null;
    }
    return "deviceId " + io.iotpipe.core.Reasons.sanitize(deviceId, 100) + " does not match the publisher's routing key "
        + (routingKey == null ? "(none)" : io.iotpipe.core.Reasons.sanitize(routingKey, 100));
  }

  /** Null when the body claims no tenant or its device's; otherwise the reason for the dead-letter queue. */
  static String tenantMismatch(String deviceId, String tenant, String claimed) {
    if (claimed == null || claimed.equals(tenant)) {
      return null;
    }
    return "deviceId " + io.iotpipe.core.Reasons.sanitize(deviceId, 100)
        + (tenant == null ? " has no tenant" : " belongs to tenant " + tenant) + "; the reading claims tenant "
        + io.iotpipe.core.Reasons.sanitize(claimed, 40);
  }

  /**
   * When the device published: the {@code x-published-at} header (millis), else the AMQP timestamp (seconds, so
   * coarse), else the reading's own {@code ts} — MQTT 3.1.1 carries no properties at all, and a device's clock is
   * the only publish time there is (its skew is bounded by the contract's {@code maxFutureSkew}).
   */
  static long publishedAt(AMQP.BasicProperties props, long readingTs) {
    Object h = props.getHeaders() == null ? null : props.getHeaders().get(PUBLISHED_AT_HEADER);
    if (h instanceof Number n) {
      return n.longValue();
    }
    if (props.getTimestamp() != null) {
      return props.getTimestamp().getTime();
    }
    return readingTs;
  }
}
