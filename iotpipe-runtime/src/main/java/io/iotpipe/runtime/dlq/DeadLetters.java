package io.iotpipe.runtime.dlq;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.rabbitmq.ConfirmingPublisher;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Reads and replays a sink's dead-letter queue.
 *
 * <p>Inspection takes messages with {@code basic.get} without acking and closes the channel afterwards, which puts
 * every one of them back: looking never removes anything. Replay republishes a message to the partition queue it was
 * rejected from (the {@code x-iotpipe-source} header) with a confirm, and only then acks it on the dead-letter queue:
 * a crash mid-replay at worst replays a message twice, and the sinks' idempotency makes that harmless.
 */
public final class DeadLetters implements AutoCloseable {

  /** One dead-lettered message as shown to an operator. */
  public record Letter(String reason, String source, String deadLetteredAt, String messageId, String body) {}

  private final Connection connection;
  private final Names names;

  public DeadLetters(BrokerConfig broker, Names names) {
    this.connection = Amqp.connect(broker, "iotpipe-dlq");
    this.names = names;
  }

  /** Up to {@code max} messages of the dead-letter queue of {@code sink}, left in place. */
  public List<Letter> peek(String sink, int max) throws IOException {
    List<Letter> out = new ArrayList<>();
    try (Channel ch = connection.createChannel()) {
      ch.basicQos(0);
      while (out.size() < max) {
        GetResponse r = ch.basicGet(names.deadLetterQueue(sink), false);
        if (r == null) {
          break;
        }
        out.add(letter(r.getProps(), r.getBody()));
      }
      // Closing without ack returns every message to the queue, in order.
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IOException(e);
    }
    return out;
  }

  /** Count of messages by reason (the reason text up to its first ':' detail is kept whole; it is short). */
  public Map<String, Integer> countByReason(String sink, int max) throws IOException {
    Map<String, Integer> counts = new TreeMap<>();
    for (Letter l : peek(sink, max)) {
      counts.merge(l.reason(), 1, Integer::sum);
    }
    return counts;
  }

  /**
   * Replays up to {@code max} messages matching {@code filter} to the queues they came from; non-matching ones stay.
   * Returns how many were replayed.
   */
  public int replay(String sink, int max, Predicate<Letter> filter) throws IOException, InterruptedException {
    int replayed = 0;
    try (Channel get = connection.createChannel();
         ConfirmingPublisher pub = new ConfirmingPublisher(connection.createChannel(), 500)) {
      List<Long> skipped = new ArrayList<>();
      while (replayed < max) {
        GetResponse r = get.basicGet(names.deadLetterQueue(sink), false);
        if (r == null) {
          break;
        }
        Letter l = letter(r.getProps(), r.getBody());
        if (l.source() == null || !filter.test(l)) {
          skipped.add(r.getEnvelope().getDeliveryTag());
          continue;
        }
        Map<String, Object> headers = new java.util.HashMap<>(r.getProps().getHeaders());
        headers.remove(Names.REASON_HEADER);
        headers.remove("x-iotpipe-dead-lettered-at");
        headers.put("x-iotpipe-replayed-from", names.deadLetterQueue(sink));
        AMQP.BasicProperties props = r.getProps().builder().headers(headers).build();
        CompletableFuture<Void> confirmed = pub.publish("", l.source(), props, r.getBody());
        try {
          confirmed.get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
          throw new IOException("replay of " + l.messageId() + " to " + l.source() + " not confirmed ("
              + e.getMessage() + "); it stays in the dead-letter queue", e);
        }
        get.basicAck(r.getEnvelope().getDeliveryTag(), false);
        replayed++;
      }
      for (long tag : skipped) {
        get.basicNack(tag, false, true);
      }
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IOException(e);
    }
    return replayed;
  }

  private static Letter letter(AMQP.BasicProperties p, byte[] body) {
    Map<String, Object> h = p.getHeaders() == null ? Map.of() : p.getHeaders();
    String text = new String(body, StandardCharsets.UTF_8);
    return new Letter(str(h.get(Names.REASON_HEADER), "(no reason: dead-lettered by the broker, e.g. delivery limit)"),
        str(h.get(Names.SOURCE_HEADER), null), str(h.get("x-iotpipe-dead-lettered-at"), null), p.getMessageId(),
        io.iotpipe.core.Reasons.sanitize(text, 300));
  }

  private static String str(Object o, String fallback) {
    return o == null ? fallback : o.toString();
  }

  @Override
  public void close() {
    try {
      connection.close();
    } catch (IOException | RuntimeException ignored) {
      // already closed
    }
  }
}
