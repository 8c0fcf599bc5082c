package io.iotpipe.runtime;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.sink.Sink;
import io.iotpipe.elasticsearch.ElasticsearchSink;
import io.iotpipe.storage.StorageSink;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;

/** The one place that knows which sink serves which role. */
final class Sinks {

  private Sinks() {}

  /**
   * @param consumer the consumer settings the role really runs with (prefetch fitted to the heap): the storage
   *                 writer sizes its files from that prefetch — sized from the configured one, a file could need more
   *                 rows than the broker ever has unacked, and every partition stalled until rollAge (measured: 2.4k
   *                 instead of 15k+ msg/s at -Xmx256m)
   */
  static Sink create(Role role, IotpipeConfig cfg, io.iotpipe.core.config.ConsumerSettings consumer, String instanceId,
                     MeterRegistry registry) {
    return switch (role) {
      case INDEX -> new ElasticsearchSink(cfg.indexer(), registry);
      case STORE -> {
        Sink files = new StorageSink(cfg.storage().withConsumer(consumer), Clock.systemUTC(), registry);
        yield cfg.storage().privacy().active() ? new io.iotpipe.storage.PrivateSink(files, cfg.storage().privacy()) : files;
      }
    };
  }
}
