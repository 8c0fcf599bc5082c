package io.iotpipe.rabbitmq;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmListener;
import com.rabbitmq.client.ReturnListener;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Publishes with publisher confirms and {@code mandatory}, and tells each caller the fate of its message through a
 * future: completed normally when the broker confirmed it (it is then in a queue, persisted), exceptionally when it was
 * nacked, returned as unroutable, or the channel died first. The number of unconfirmed messages is bounded, so a slow
 * broker slows the publisher down instead of growing memory.
 *
 * <p>Channels must not be used for publishing from several threads at once; {@link #publish} serialises on this
 * object.
 */
public final class ConfirmingPublisher implements AutoCloseable {

  /** Header used to correlate a basic.return with its publish (returns carry no delivery tag). */
  private static final String PUBLISH_ID = "x-iotpipe-publish-id";

  private final Channel channel;
  private final Semaphore inFlight;
  private final ConcurrentNavigableMap<Long, CompletableFuture<Void>> pending = new ConcurrentSkipListMap<>();
  private final Map<Long, String> returned = new java.util.concurrent.ConcurrentHashMap<>();

  public ConfirmingPublisher(Channel channel, int maxInFlight) throws IOException {
    this.channel = channel;
    this.inFlight = new Semaphore(maxInFlight);
    channel.confirmSelect();
    channel.addConfirmListener(new ConfirmListener() {
      @Override
      public void handleAck(long tag, boolean multiple) {
        settle(tag, multiple, null);
      }

      @Override
      public void handleNack(long tag, boolean multiple) {
        settle(tag, multiple, "nacked by the broker (queue full or broker error)");
      }
    });
    channel.addReturnListener((ReturnListener) (code, text, exchange, key, props, body) -> {
      Object id = props.getHeaders() == null ? null : props.getHeaders().get(PUBLISH_ID);
      if (id instanceof Number n) {
        returned.put(n.longValue(), "unroutable: returned by the broker (" + code + " " + text + ") for exchange "
            + exchange + " and routing key " + key + ": is the topology applied?");
      }
    });
    channel.addShutdownListener(cause -> failAll("channel closed before confirm: " + cause.getMessage()));
  }

  /**
   * Publishes one message; blocks while the in-flight bound is reached (back-pressure) and returns a future of its
   * confirm. Never throws for broker trouble: the future fails instead.
   */
  public CompletableFuture<Void> publish(String exchange, String routingKey, AMQP.BasicProperties props, byte[] body)
      throws InterruptedException {
    if (!inFlight.tryAcquire(30, TimeUnit.SECONDS)) {
      return CompletableFuture.failedFuture(new IOException("no publisher confirm for 30 s (broker blocked or unreachable)"));
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    synchronized (this) {
      long seq = channel.getNextPublishSeqNo();
      Map<String, Object> headers = props.getHeaders() == null ? new HashMap<>() : new HashMap<>(props.getHeaders());
      headers.put(PUBLISH_ID, seq);
      pending.put(seq, f);
      try {
        channel.basicPublish(exchange, routingKey, true, props.builder().headers(headers).build(), body);
      } catch (IOException | RuntimeException e) {
        pending.remove(seq);
        inFlight.release();
        f.completeExceptionally(e);
      }
    }
    return f;
  }

  private void settle(long tag, boolean multiple, String nackReason) {
    var settled = multiple ? pending.headMap(tag, true) : pending.subMap(tag, true, tag, true);
    for (var it = settled.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      it.remove();
      inFlight.release();
      String ret = returned.remove(e.getKey());
      if (nackReason != null) {
        e.getValue().completeExceptionally(new IOException(nackReason));
      } else if (ret != null) {
        e.getValue().completeExceptionally(new IOException(ret));
      } else {
        e.getValue().complete(null);
      }
    }
  }

  private void failAll(String reason) {
    for (var it = pending.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      it.remove();
      inFlight.release();
      e.getValue().completeExceptionally(new IOException(reason));
    }
  }

  public int inFlight() {
    return pending.size();
  }

  @Override
  public void close() {
    try {
      if (channel.isOpen()) {
        channel.close();
      }
    } catch (IOException | java.util.concurrent.TimeoutException | com.rabbitmq.client.AlreadyClosedException e) {
      // closing a dead channel: nothing left to release
    }
    failAll("publisher closed");
  }
}
