package io.iotpipe.simulator;

import io.iotpipe.core.envelope.Telemetry;
import java.util.concurrent.CompletableFuture;

/** How devices reach the edge. The future completes when the broker took responsibility for the reading. */
interface Transport extends AutoCloseable {

  CompletableFuture<Void> send(Telemetry t, byte[] body);

  @Override
  void close();
}
